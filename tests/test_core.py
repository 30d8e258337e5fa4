"""The core on its own: interfaces that cannot be half-implemented, names, connect(), light imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mlops_kit
from mlops_kit import names
from mlops_kit.errors import BackendUnavailableError, InvalidInputError


@pytest.mark.parametrize(
    "interface", [mlops_kit.Warehouse, mlops_kit.FeatureStore, mlops_kit.Tracker, mlops_kit.Registry]
)
def test_an_adapter_missing_a_method_cannot_be_instantiated(interface: type) -> None:
    class Partial(interface):  # type: ignore[misc, valid-type]
        pass

    with pytest.raises(TypeError, match="abstract"):
        Partial()


def test_local_adapters_implement_every_method() -> None:
    from mlops_kit.adapters.local import LocalFeatureStore, LocalRegistry, LocalTracker, LocalWarehouse

    for cls in (LocalWarehouse, LocalFeatureStore, LocalTracker, LocalRegistry):
        assert not cls.__abstractmethods__, f"{cls.__name__} misses {sorted(cls.__abstractmethods__)}"


def test_importing_the_core_imports_no_heavy_library() -> None:
    code = (
        "import sys, mlops_kit, mlops_kit.cli; "  # snowflake itself is a namespace a .pth file preloads
        "heavy = [m for m in ('mlflow', 'duckdb', 'pandas', 'snowflake.snowpark', 'snowflake.ml', 'xgboost', 'sklearn') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_cli_help_answers_without_mlflow() -> None:
    code = (
        "import sys; sys.argv = ['mlops-kit', '--help']\n"
        "import mlops_kit.cli\n"
        "try:\n    mlops_kit.cli.main()\nexcept SystemExit:\n    pass\n"
        "assert 'mlflow' not in sys.modules, 'mlflow was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "lab" in result.stdout and "models" in result.stdout


def test_unknown_backend_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError, match="local, snowflake"):
        mlops_kit.connect("bigquery")


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(mlops_kit.BACKENDS, "local", ("mlops_kit_no_such_module", "x", "lab"))
    with pytest.raises(
        BackendUnavailableError, match=r"pip install --require-hashes --no-deps -r requirements/lab.txt"
    ):
        mlops_kit.connect("local")


@pytest.mark.parametrize(("raw", "canonical"), [("customer", "CUSTOMER"), ("Churn_2", "CHURN_2"), ("_x$y", "_X$Y")])
def test_identifiers_are_upper_cased(raw: str, canonical: str) -> None:
    assert names.identifier(raw) == canonical


@pytest.mark.parametrize("bad", ["", "2x", "a-b", "a b", '"a"', "a;drop table x", "a.b"])
def test_non_identifiers_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="not a plain identifier"):
        names.identifier(bad, "entity")


@pytest.mark.parametrize("keyword", ["MINUS", "regexp", "Order", "SAMPLE"])
def test_reserved_keywords_name_no_object_on_any_backend(keyword: str, tmp_path: Path) -> None:
    """Schema, experiment (… model) names reach Snowflake's DDL unquoted, where a reserved keyword would
    not parse: refused up front on every backend (a table or column, which the kit quotes, may be one)."""
    with pytest.raises(InvalidInputError, match=f"experiment '{keyword}' is a reserved keyword"):
        names.identifier(keyword, "experiment")
    assert names.identifier(keyword, "column", keyword_ok=True) == keyword.upper()
    kit = mlops_kit.connect("local", home=tmp_path)
    try:
        with pytest.raises(InvalidInputError, match="reserved keyword"):
            kit.warehouse.create_schemas([keyword])
        with pytest.raises(InvalidInputError, match="reserved keyword"):
            kit.tracker.set_experiment(keyword)
    finally:
        kit.close()


def test_versions_follow_snowflake() -> None:
    assert names.model_version("v1") == "V1"
    with pytest.raises(InvalidInputError):
        names.model_version("1.0")
    assert names.feature_view_version("v1") == "v1"
    assert names.feature_view_version("1.0") == "1.0"
    assert names.feature_view_object("customer_features", "v1") == "CUSTOMER_FEATURES$v1"


def test_table_names() -> None:
    assert names.table_name("prep_data.orders").qualified() == "PREP_DATA.ORDERS"
    assert names.table_name("db.s.t").qualified() == "DB.S.T"
    assert names.table_name("t", default_schema="fs").qualified() == "FS.T"
    with pytest.raises(InvalidInputError, match="needs a schema"):
        names.table_name("orders")


def test_the_emulator_backend_without_its_extra_names_the_locked_install() -> None:
    """Never an unpinned ``pip install 'mlops-kit[emulator]'``, which installs past the hash lock."""
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['fakesnow'] = None\n"
        "import mlops_kit\n"
        "try:\n    mlops_kit.connect('snowflake-emulator')\n"
        "except mlops_kit.BackendUnavailableError as exc:\n    print(exc)\n"
    )
    said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120).stdout
    assert f"{sys.executable} -m pip install --require-hashes --no-deps -r requirements/emulator.txt" in said
    assert "scripts/run-lab --backend snowflake-emulator installs them itself" in said
    assert sys.prefix in said  # which environment
    assert "mlops-kit[" not in said
