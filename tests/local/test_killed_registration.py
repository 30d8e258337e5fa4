"""A re-registration killed (SIGKILL) at each step leaves a registry that the next registration repairs.

What a kill may leave: the old V1 (killed before it was deleted) or no V1 (killed after, before the
new one was committed), never a half-written V1; the pending new one is deleted by the next write.

A child process re-registers V1 of a model that has V1 (the default) and V2, and is killed at one
step of it: the MlflowClient call of that step (or the kit's purge) kills the process instead. Then
the registration is run again, as a lab rerun does, and the registry must hold V1 and V2 once each,
V1 the new model and still the default, every alias in place, and one logged model per version.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lab_processes import child_env
from sklearn.linear_model import LogisticRegression

import mlops_kit

FEATURES = pd.DataFrame({"A": np.linspace(0, 1, 40), "B": np.arange(40)})
OLD = LogisticRegression().fit(FEATURES, (FEATURES.A > 0.5).astype(int))
NEW = LogisticRegression().fit(FEATURES, (FEATURES.B > 10).astype(int))

# What the MLflow worker process does for a registration, run in a process that kills itself at
# ``point`` (the kit's writes happen in the worker; killing it is what a kill of the lab does to them).
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    from mlflow import MlflowClient
    from mlops_kit.adapters.local import mlflow_store, registry
    from mlops_kit.adapters.local.home import LocalPaths, resolve_home
    from mlops_kit.adapters.local.mlflow_worker import Session
    from mlops_kit.connect import DEFAULT_DATABASE

    features = pd.DataFrame({"A": np.linspace(0, 1, 40), "B": np.arange(40)})
    paths = LocalPaths(resolve_home(), DEFAULT_DATABASE)
    session = Session(mlflow_store.open_client(paths), paths)
    experiment = session.client.get_experiment_by_name("CRASH").experiment_id

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    point = sys.argv[1]
    if point == "purge":
        registry.purge = die
    else:
        setattr(MlflowClient, point, die)
    if len(sys.argv) > 2:  # the model V1 already is: an unchanged re-registration
        model = LogisticRegression().fit(features, (features.A > 0.5).astype(int))
    else:  # a model V1 is not (the repair between two kills registers ``new``)
        model = LogisticRegression(C=0.5).fit(features, (features.B > 10).astype(int))
    number, model_id, refresh = registry.register(
        session, "CRASHY", "V1", model, features.head(), {"f1": 0.9}, "again", None, ([], None), True, experiment
    )
    registry.commit(session, "CRASHY", number, "V1", True, model_id, refresh)
    print("not killed")
    """
)


#: Where the worker is killed: the MlflowClient call of a step (or the kit's purge) kills it instead.
POINTS = [
    "create_model_version",  # files uploaded, no version yet: an orphan logged model
    "delete_model_version",  # the new V1 exists (pending) beside the old one
    "purge",  # the old V1 is deleted, its logged model not yet
    "set_registered_model_alias",  # committing: only the pending new V1 is left, with no alias, not the default
]


def test_a_killed_re_registration_is_repaired_by_the_next_one(tmp_path: Path) -> None:
    backend = mlops_kit.connect("local", home=tmp_path)
    registry = backend.registry
    backend.tracker.set_experiment("CRASH")
    registry.log_model("CRASHY", "v1", OLD, sample_input=FEATURES.head(), metrics={"f1": 0.5})
    registry.log_model("CRASHY", "v2", OLD, sample_input=FEATURES.head())
    client = backend.raw["mlflow"].client
    for point in POINTS:  # one home, killed at each step in turn, repaired in between
        child = subprocess.run(
            [sys.executable, "-c", CHILD, point], env=child_env(tmp_path), capture_output=True, text=True, timeout=300
        )
        assert child.returncode == -9, (point, child.stdout + child.stderr[-3000:])
        # Whatever the kill left, a reader never sees two V1s.
        assert sorted(v.version for v in registry.list_versions("CRASHY")) in (["V1", "V2"], ["V2"]), point

        registry.log_model("CRASHY", "v1", NEW, sample_input=FEATURES.head(), overwrite=True, metrics={"f1": 0.9})

        versions = {v.version: v for v in registry.list_versions("CRASHY")}
        assert sorted(versions) == ["V1", "V2"], point
        assert versions["V1"].is_default and versions["V1"].metrics == {"f1": 0.9}, point
        predicted = registry.predict("CRASHY", FEATURES)["output_feature_0"]
        np.testing.assert_array_equal(predicted, NEW.predict(FEATURES))
        mlflow_versions = client.search_model_versions("name = 'CRASHY'")
        assert len(mlflow_versions) == 2 and not any("mlops_kit.pending" in v.tags for v in mlflow_versions), point
        aliases = client.get_registered_model("CRASHY").aliases
        assert sorted(aliases) == ["default", "kit-V1", "kit-V2"], point
        assert client.get_model_version_by_alias("CRASHY", "kit-V1").version == aliases["default"], point
        experiments = [e.experiment_id for e in client.search_experiments()]
        logged = client.search_logged_models(experiments)
        used = sorted(v.source.removeprefix("models:/") for v in mlflow_versions)
        assert sorted(m.model_id for m in logged) == used, point  # no orphan logged model
        folders = sorted(p.name for p in (tmp_path / "mlartifacts" / "CRASH" / "models").iterdir())
        assert folders == used, point  # no files of a deleted or orphaned model left behind


#: Where a re-registration of an unchanged model is killed: it keeps its MLflow version and is
#: updated in place at the commit (tags, then the comment).
UNCHANGED_POINTS = ["set_model_version_tag", "update_model_version"]


def test_a_killed_re_registration_of_an_unchanged_model_is_finished_by_the_next_one(tmp_path: Path) -> None:
    backend = mlops_kit.connect("local", home=tmp_path)
    registry = backend.registry
    backend.tracker.set_experiment("CRASH")
    registry.log_model("CRASHY", "v1", OLD, sample_input=FEATURES.head(), metrics={"f1": 0.5}, comment="first")
    client = backend.raw["mlflow"].client
    number = client.get_model_version_by_alias("CRASHY", "kit-V1").version
    for point in UNCHANGED_POINTS:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, point, "unchanged"],
            env=child_env(tmp_path), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert child.returncode == -9, (point, child.stdout + child.stderr[-3000:])
        assert [v.version for v in registry.list_versions("CRASHY")] == ["V1"], point  # still there, readable
        registry.log_model("CRASHY", "v1", OLD, sample_input=FEATURES.head(), overwrite=True, metrics={"f1": 0.9},
                           comment="again")  # fmt: skip
        kept = registry.get_version("CRASHY", "V1")
        assert (kept.metrics, kept.comment, kept.is_default) == ({"f1": 0.9}, "again", True), point
        assert [v.version for v in client.search_model_versions("name = 'CRASHY'")] == [number], point


# The user's process killed between the registration in MLflow and its commit: before the lineage
# record is written, or after it and before the version is made visible.
USER_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    import mlops_kit
    from mlops_kit.adapters.local.registry import LocalRegistry
    from mlops_kit.records.model_versions import ModelVersionRecords

    features = pd.DataFrame({"A": np.linspace(0, 1, 40), "B": np.arange(40)})
    model = LogisticRegression().fit(features, (features.B > 10).astype(int))

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if sys.argv[1] == "record":
        ModelVersionRecords.put = die
    else:
        LocalRegistry._commit = die
    backend = mlops_kit.connect("local")
    backend.tracker.set_experiment("CRASH")
    backend.registry.log_model("HALF", "v1", model, sample_input=features.head())
    print("not killed")
    """
)


def _wait_until_pending_owners_are_gone(client, name: str) -> None:  # noqa: ANN001
    from mlops_kit.processes import ProcessOwner

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        marks = [
            v.tags["mlops_kit.pending"]
            for v in client.search_model_versions(f"name = '{name}'")
            if "mlops_kit.pending" in v.tags
        ]
        if all(ProcessOwner.from_text(json.loads(mark)["owner"]).is_gone() for mark in marks):
            return
        time.sleep(0.2)
    raise AssertionError("the killed process's MLflow worker did not exit")


@pytest.mark.parametrize("point", ["record", "commit"])
def test_a_registration_killed_before_its_commit_is_invisible_and_redone(tmp_path: Path, point: str) -> None:
    backend = mlops_kit.connect("local", home=tmp_path)
    registry = backend.registry
    backend.tracker.set_experiment("CRASH")
    registry.log_model("HALF", "v2", OLD, sample_input=FEATURES.head())
    child = subprocess.run(
        [sys.executable, "-c", USER_CHILD, point], env=child_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert child.returncode == -9, child.stdout + child.stderr[-3000:]
    assert [v.version for v in registry.list_versions("HALF")] == ["V2"]  # the pending V1 is not visible
    with pytest.raises(mlops_kit.NotFoundError):
        registry.get_lineage("HALF", "v1")
    client = backend.raw["mlflow"].client
    _wait_until_pending_owners_are_gone(client, "HALF")

    registry.log_model("HALF", "v1", NEW, sample_input=FEATURES.head())  # the rerun: no AlreadyExistsError

    assert [v.version for v in registry.list_versions("HALF")] == ["V2", "V1"]
    assert registry.get_lineage("HALF", "v1").feature_views == () and registry.get_version(
        "HALF", "v1"
    ).feature_names == ("A", "B")
    mlflow_versions = client.search_model_versions("name = 'HALF'")
    assert len(mlflow_versions) == 2 and not any("mlops_kit.pending" in v.tags for v in mlflow_versions)
    np.testing.assert_array_equal(
        registry.predict("HALF", FEATURES, version="v1")["output_feature_0"], NEW.predict(FEATURES)
    )
