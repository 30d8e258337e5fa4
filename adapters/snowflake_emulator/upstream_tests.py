"""Run Snowflake's own integration tests (snowflake-ml-python's ``tests/integ``) on the emulator.

A pytest plugin: ``python -m pytest -p mlops_kit.adapters.snowflake_emulator.upstream_tests
<checkout>/tests/integ/...``. It changes nothing in the tests. It only points the login they build
at an emulated account made for the run:

- the tests build their session with ``Session.builder.configs(SnowflakeLoginOptions()).create()``;
  ``SnowflakeLoginOptions`` reads ``~/.snowsql/config`` or, without one, the ``SNOWFLAKE_*``
  environment variables. The plugin sets those variables to the emulator's server and runs with a
  ``HOME`` of its own, so no user's config file is read.
- ``snowflake.ml.utils.connection_params`` was removed from the library in 2.0.0 and the 1.48.0
  tests still import it: the plugin provides that module as the library's own
  ``snowflake.ml._internal.utils.connection_params``.
- tests that need what the emulator does not emulate (the README's "The Snowflake emulator": privileges between
  roles, warehouse compute, online feature stores, SPCS, scheduled refresh) are listed with their
  reason in ``OUT_OF_SCOPE_FILE`` and skipped as such; nothing else is skipped.

At the end it prints ``Snowflake's own tests on the emulator: P passed of C collected`` and, with
``MLOPS_KIT_UPSTREAM_REPORT=<path>``, writes the counts and each test's outcome there as JSON.

``python -m mlops_kit.adapters.snowflake_emulator.upstream_tests PATH`` runs the named selection
(``NAMED_SELECTION``) of a snowflake-ml-python checkout (or of the tests' tarball) this way
(``scripts/run-snowflake-tests`` calls it).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

#: Test ids (``path/relative/to/tests/integ/snowflake/ml::Class::test``) declared out of scope, one per
#: line with its reason after `` # ``.
OUT_OF_SCOPE_FILE = Path(__file__).with_name("upstream_out_of_scope.txt")

#: The login database of the run (fakesnow creates it at the first login).
LOGIN_DATABASE = "SNOWML_TEST_LOGIN_DB"

#: The named selection (``shared/snowflake-ml-upstream/README.md``): feature store and registry.
NAMED_SELECTION = (
    "feature_store/feature_store_test.py",
    "feature_store/feature_store_object_test.py",
    "feature_store/feature_store_case_sensitivity_test.py",
    "feature_store/feature_store_example_helper_test.py",
    "feature_store/feature_store_rollback_test.py",
    "feature_store/feature_store_compatibility_test.py",
    "feature_store/feature_sharing_test.py",
    "registry/model/registry_initialization_test.py",
    "registry/model/fully_qualified_name_test.py",
    "registry/model/multiple_model_test.py",
    "registry/model/random_version_name_test.py",
    "registry/model/registry_sklearn_model_test.py",
    "registry/model/registry_xgboost_model_test.py",
)


def out_of_scope() -> dict[str, str]:
    """The declared out-of-scope test ids and their reasons."""
    declared: dict[str, str] = {}
    for line in OUT_OF_SCOPE_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition(" # ")
        declared[test_id.strip()] = reason.strip()
    return declared


class _Run:
    def __init__(self) -> None:
        self.home = tempfile.mkdtemp(prefix="mlops_kit_upstream_")
        self.emulator: Any = None
        self.outcomes: dict[str, str] = {}
        self.reasons: dict[str, str] = {}
        self.collected = 0
        self.out_of_scope: dict[str, str] = {}


_run: _Run | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _run
    from mlops_kit.adapters.snowflake_emulator import start_emulator

    _run = _Run()
    os.environ["HOME"] = _run.home  # no ~/.snowsql/config of the user's is read
    _run.emulator = start_emulator(Path(_run.home) / "snowflake-emulator")
    params = _run.emulator.server.connection_parameters()
    os.environ.update(
        {
            "SNOWFLAKE_ACCOUNT": params["account"],
            "SNOWFLAKE_USER": params["user"],
            "SNOWFLAKE_PASSWORD": params["password"],
            "SNOWFLAKE_HOST": params["host"],
            "SNOWFLAKE_PORT": str(params["port"]),
            "SNOWFLAKE_PROTOCOL": params["protocol"],
            "SNOWFLAKE_SSL": "off",
            "SNOWFLAKE_WAREHOUSE": params["warehouse"],
            "SNOWFLAKE_DATABASE": LOGIN_DATABASE,
        }
    )
    _provide_removed_connection_params()
    statement_log = os.environ.get("MLOPS_KIT_UPSTREAM_STATEMENT_LOG")
    if statement_log:  # every statement the emulator answered or refused, for finding its gaps
        import logging

        handler = logging.FileHandler(statement_log)
        handler.setFormatter(logging.Formatter("%(message)s"))
        emulator_logger = logging.getLogger("mlops_kit.snowflake_emulator")
        emulator_logger.addHandler(handler)
        emulator_logger.setLevel(logging.DEBUG)


def _provide_removed_connection_params() -> None:
    import snowflake.ml.utils
    from snowflake.ml._internal.utils import connection_params

    module = types.ModuleType("snowflake.ml.utils.connection_params")
    module.SnowflakeLoginOptions = connection_params.SnowflakeLoginOptions  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    snowflake.ml.utils.connection_params = module  # type: ignore[attr-defined]


def _short_id(nodeid: str) -> str:
    """A test's id relative to ``tests/integ/snowflake/ml/`` (``feature_store/…_test.py::Class::test``)."""
    marker = "integ/snowflake/ml/"
    return nodeid[nodeid.index(marker) + len(marker) :] if marker in nodeid else nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    assert _run is not None
    declared = out_of_scope()
    _run.collected = len(items)
    for item in items:
        reason = declared.get(_short_id(item.nodeid))
        if reason is not None:
            _run.out_of_scope[_short_id(item.nodeid)] = reason
            item.add_marker(pytest.mark.skip(reason=f"out of the emulator's scope: {reason}"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    assert _run is not None
    test_id = _short_id(report.nodeid)
    if report.when == "call" or report.outcome != "passed":
        if report.outcome == "passed":
            _run.outcomes.setdefault(test_id, "passed")
        else:
            _run.outcomes[test_id] = "failed" if report.outcome == "failed" else report.outcome
            crash = getattr(report.longrepr, "reprcrash", None)
            if crash is not None and test_id not in _run.reasons:
                _run.reasons[test_id] = " ".join(str(crash.message).split())[:400]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    assert _run is not None
    passed = sum(outcome == "passed" for outcome in _run.outcomes.values())
    line = (
        f"Snowflake's own tests on the emulator: {passed} passed of {_run.collected} collected "
        f"({len(_run.out_of_scope)} declared out of scope)"
    )
    terminalreporter.write_line(line)
    report = os.environ.get("MLOPS_KIT_UPSTREAM_REPORT")
    if report:
        Path(report).write_text(
            json.dumps(
                {
                    "passed": passed,
                    "collected": _run.collected,
                    "out_of_scope": _run.out_of_scope,
                    "outcomes": _run.outcomes,
                    "reasons": _run.reasons,
                },
                indent=1,
                sort_keys=True,
            )
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    from mlops_kit.adapters.snowflake_emulator import stop_emulator

    if _run is not None and _run.emulator is not None:
        _close_open_sessions()
        stop_emulator(_run.emulator)
        shutil.rmtree(_run.home, ignore_errors=True)


def test_root(source: Path, workdir: Path) -> Path:
    """The folder holding ``tests/integ`` of ``source``: a checkout (or its ``tests`` folder), or a
    ``.tar.gz`` of the tests, unpacked into ``workdir``."""
    import tarfile

    source = source.expanduser().resolve()
    if source.is_file():
        with tarfile.open(source) as archive:
            archive.extractall(workdir, filter="data")
        source = workdir
    if (source / "integ").is_dir() and source.name == "tests":
        source = source.parent
    if not (source / "tests" / "integ" / "snowflake" / "ml").is_dir():
        raise SystemExit(
            f"{source} holds no tests/integ/snowflake/ml: give a snowflake-ml-python checkout or the tests' tarball"
        )
    return source


_PLUGIN = "mlops_kit.adapters.snowflake_emulator.upstream_tests"


def run(
    source: Path,
    *,
    report: Path,
    pytest_args: Sequence[str] = (),
    timeout: float | None = None,
    log: Path | None = None,
) -> int:
    """Run the named selection of ``source`` on an emulated account; the pytest exit code.

    Each test may take 60 s (pytest-timeout); the whole run ``timeout`` seconds (None: no limit).
    With ``log``, pytest's output goes to that file instead of this process's output."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="mlops_kit_upstream_src_") as workdir:
        root = test_root(source, Path(workdir))
        integ = root / "tests" / "integ" / "snowflake" / "ml"
        files = [str(integ / name) for name in NAMED_SELECTION if (integ / name).is_file()]
        env = {**os.environ, "MLOPS_KIT_UPSTREAM_REPORT": str(report)}
        # The plugin by its module name: run as ``python -m`` (scripts/run-snowflake-tests), __name__ is __main__.
        command = [sys.executable, "-m", "pytest", "-p", _PLUGIN, "-p", "no:cacheprovider", "-q",
                   "--timeout=60", f"--rootdir={root / 'tests'}", *pytest_args, *files]  # fmt: skip
        if log is None:
            return subprocess.run(command, cwd=root, env=env, timeout=timeout, check=False).returncode
        with log.open("w") as output:
            return subprocess.run(
                command, cwd=root, env=env, timeout=timeout, check=False, stdout=output, stderr=subprocess.STDOUT
            ).returncode


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a snowflake-ml-python checkout, or the tests' .tar.gz")
    parser.add_argument("--report", type=Path, help="write the outcomes here as JSON")
    args, pytest_args = parser.parse_known_args(argv)  # the rest (after --, or any -k/-x …) goes to pytest
    pytest_args = [a for a in pytest_args if a != "--"]
    with tempfile.TemporaryDirectory() as scratch:
        report = args.report or Path(scratch) / "report.json"
        run(args.source, report=report, pytest_args=pytest_args)
        figures = json.loads(report.read_text())
    print(f"{figures['passed']} passed of {figures['collected']} collected")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _close_open_sessions() -> None:
    """Close the Snowpark sessions tests left open while the server still answers: Snowpark closes
    them at exit otherwise, and its connector retries a stopped server for minutes."""
    from snowflake.snowpark import session as snowpark_session

    for open_session in list(getattr(snowpark_session, "_active_sessions", ())):
        try:
            open_session.close()
        except Exception:  # a session that cannot close is ended with the server
            pass
