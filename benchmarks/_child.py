"""``python -m benchmarks._child MODULE:FUNCTION ARGS_JSON OUT_JSON``: one measured thing in a fresh
interpreter. ``ARGS["t0"]`` is the clock at interpreter start (before any heavy import), so a
function can time itself from there; what it returns goes to OUT_JSON."""

import time

T0 = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    target, args, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    module, function = target.split(":")
    args["t0"] = T0
    value = getattr(importlib.import_module(f"benchmarks.{module}"), function)(args)
    with open(out, "w") as f:
        json.dump(value if value is not None else {}, f)


if __name__ == "__main__":
    main()
