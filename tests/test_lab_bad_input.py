"""The lab refuses bad CSV files with a message a person can act on, and loads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlops_kit
from mlops_kit.examples import churn_data, churn_workflow
from mlops_kit.examples.churn_workflow import Options

GOOD_CUSTOMERS = "CUSTOMER_ID,SEGMENT,REGISTRATION_DATE,REGION\nCUST_00001,Basic,2023-01-05,North\nCUST_00002,Premium,2022-07-01,East\n"
GOOD_ORDERS = (
    "ORDER_ID,CUSTOMER_ID,ORDER_DATE,ORDER_AMOUNT,STATUS\n"
    "ORD_000001,CUST_00001,2024-02-01,120.50,FULFILLED\n"
    "ORD_000002,CUST_00002,2024-03-10,80.00,RETURNED\n"
)


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> mlops_kit.Backend:
    return mlops_kit.connect("local", home=tmp_path_factory.mktemp("bad_input_home"))


def _orders_with(line: str) -> str:
    return GOOD_ORDERS + line + "\n"


CASES = {
    "unknown-customer": (GOOD_CUSTOMERS, _orders_with("ORD_000003,CUST_09999,2024-04-01,10.00,FULFILLED"),
                         r"ORDERS\.csv: column CUSTOMER_ID .*row 4: 'CUST_09999'"),
    "unknown-status": (GOOD_CUSTOMERS, _orders_with("ORD_000003,CUST_00001,2024-04-01,10.00,LOST"),
                       r"ORDERS\.csv: column STATUS .*row 4: 'LOST'"),
    "negative-amount": (GOOD_CUSTOMERS, _orders_with("ORD_000003,CUST_00001,2024-04-01,-5.00,FULFILLED"),
                        r"ORDERS\.csv: column ORDER_AMOUNT .*row 4"),
    "duplicate-order": (GOOD_CUSTOMERS, _orders_with("ORD_000001,CUST_00001,2024-04-01,10.00,FULFILLED"),
                        r"ORDERS\.csv: column ORDER_ID .*row 4: 'ORD_000001'"),
    "bad-date": (GOOD_CUSTOMERS, _orders_with("ORD_000003,CUST_00001,2024-02-30,10.00,FULFILLED"),
                 r"ORDERS\.csv: column ORDER_DATE expects a date YYYY-MM-DD.*row 4: '2024-02-30'"),
    "unknown-segment": (GOOD_CUSTOMERS.replace("Premium", "Gold"), GOOD_ORDERS,
                        r"CUSTOMERS\.csv: column SEGMENT .*row 3: 'Gold'"),
    "missing-column": (GOOD_CUSTOMERS.replace(",REGION", "").replace(",North", "").replace(",East", ""), GOOD_ORDERS,
                       r"CUSTOMERS\.csv: missing column\(s\) REGION"),
    "extra-column": (GOOD_CUSTOMERS, GOOD_ORDERS.replace("STATUS\n", "STATUS,NOTE\n", 1),
                     r"ORDERS\.csv: unexpected column\(s\) NOTE"),
    "empty-file": (GOOD_CUSTOMERS, "", r"ORDERS\.csv: the file is empty"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_files_are_refused_and_nothing_is_loaded(backend: mlops_kit.Backend, tmp_path: Path, case: str) -> None:
    customers, orders, message = CASES[case]
    (tmp_path / "CUSTOMERS.csv").write_text(customers)
    (tmp_path / "ORDERS.csv").write_text(orders)
    with pytest.raises(mlops_kit.InvalidInputError, match=message):
        churn_workflow.run(backend, Options(data_dir=tmp_path, to_step=0, out_dir=tmp_path / "out"))
    assert not backend.warehouse.table_exists("PREP_DATA.CUSTOMERS")
    assert not backend.warehouse.table_exists("PREP_DATA.ORDERS")


def test_good_files_load(backend: mlops_kit.Backend, tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text(GOOD_CUSTOMERS)  # the lab's own files are lower case
    (tmp_path / "orders.csv").write_text(GOOD_ORDERS)
    churn_workflow.run(backend, Options(data_dir=tmp_path, to_step=1, out_dir=tmp_path / "out"))
    assert backend.warehouse.read_table("PREP_DATA.CHURN_LABELS")["IS_CHURNED"].tolist() == [1, 1]
    churn_workflow.cleanup(backend)


def test_a_folder_without_the_files_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("a\n1\n")
    with pytest.raises(mlops_kit.InvalidInputError, match="notes.csv"):
        churn_data.find_csv_files(tmp_path)


def test_bad_files_on_a_fresh_home_create_no_schema(tmp_path: Path) -> None:
    """Step 0 checks the files before it touches the warehouse: not even the lab's schemas appear."""
    (tmp_path / "CUSTOMERS.csv").write_text(GOOD_CUSTOMERS)
    (tmp_path / "ORDERS.csv").write_text("")
    fresh = mlops_kit.connect("local", home=tmp_path / "home")
    with pytest.raises(mlops_kit.InvalidInputError, match=r"ORDERS\.csv: the file is empty"):
        churn_workflow.run(fresh, Options(data_dir=tmp_path, to_step=0, out_dir=tmp_path / "out"))
    assert fresh.warehouse.list_tables("PREP_DATA") == []
    assert "PREP_DATA" not in {
        s.upper() for s in fresh.warehouse.query("SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA")["SCHEMA_NAME"]
    }
    fresh.close()
