"""``python -m mlops_kit.cli``: the same as ``mlops-kit``."""

from mlops_kit.cli import main

raise SystemExit(main())
