"""Models a user defines in their own script or notebook register locally, as they do on Snowflake.

The local registry saves models in MLflow's worker process (``adapters/local/mlflow_worker.py``).
A class defined in ``__main__`` (a script, a notebook) or a lambda inside a pipeline cannot be
pickled by reference into another process; snowflake-ml pickles them by value (cloudpickle), and
so must the kit, or the same script fails only on the laptop.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys

    import numpy as np
    import pandas as pd
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    import mlops_kit


    class ThresholdModel(BaseEstimator, ClassifierMixin):
        '''A model class that exists only in this script's __main__.'''

        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            self.threshold_ = float(X["SPEND"].median())
            return self

        def predict(self, X):
            return (X["SPEND"] > self.threshold_).astype(int).to_numpy()


    frame = pd.DataFrame({"SPEND": [1.0, 5.0, 7.0, 9.0, 2.0, 8.0], "VISITS": [1.0, 2.0, 3.0, 4.0, 1.0, 5.0]})
    labels = np.array([0, 0, 1, 1, 0, 1])
    custom = ThresholdModel().fit(frame, labels)
    with_lambda = make_pipeline(FunctionTransformer(lambda x: x * 2), LogisticRegression()).fit(frame, labels)

    kit = mlops_kit.connect("local", home=sys.argv[1])
    for name, model in [("CUSTOM_MODEL", custom), ("LAMBDA_PIPELINE", with_lambda)]:
        kit.registry.log_model(name, "v1", model, sample_input=frame)
        stored = kit.registry.predict(name, frame)["output_feature_0"].to_numpy()
        assert (stored == model.predict(frame)).all(), (name, stored)
        loaded = kit.registry.load_model(name)
        assert (loaded.predict(frame) == model.predict(frame)).all(), name
    kit.close()
    print("registered", [m.name for m in mlops_kit.connect("local", home=sys.argv[1]).registry.list_models()])
    """
)


def test_models_defined_in_the_users_script_register_and_predict(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "home")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "registered ['CUSTOM_MODEL', 'LAMBDA_PIPELINE']" in done.stdout


def test_a_model_the_mlflow_process_cannot_rebuild_is_refused_and_the_process_serves_on(tmp_path: Path) -> None:
    """A class from a module only this process has (made at run time) cannot be rebuilt in MLflow's
    process: a clear error naming the fix, nothing registered, and the next call still served."""
    import types

    import numpy as np
    import pandas as pd
    import pytest

    import mlops_kit
    from mlops_kit.errors import InvalidInputError

    ghost = types.ModuleType("mlops_kit_test_ghost_models")
    exec(
        "import numpy as np\n"
        "class Constant:\n"
        "    def fit(self, X, y):\n"
        "        return self\n"
        "    def predict(self, X):\n"
        "        return np.zeros(len(X), dtype=int)\n",
        ghost.__dict__,
    )
    sys.modules[ghost.__name__] = ghost
    try:
        kit = mlops_kit.connect("local", home=tmp_path / "home")
        frame = pd.DataFrame({"SPEND": [1.0, 2.0]})
        model = ghost.Constant().fit(frame, np.array([0, 1]))
        with pytest.raises(InvalidInputError, match="cannot rebuild an argument.*mlops_kit_test_ghost_models"):
            kit.registry.log_model("GHOST", "v1", model, sample_input=frame)
        assert kit.registry.list_models() == []
        kit.close()
    finally:
        del sys.modules[ghost.__name__]
