"""Tests for the churn lab's data generator, CSV writer and lab-specific validation (examples/churn_data.py)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_kit.csv_loading import read_csv_checked
from mlops_kit.errors import InvalidInputError
from mlops_kit.examples import churn_data
from mlops_kit.examples.churn_data import (
    CUSTOMERS_COLUMNS,
    ORDERS_COLUMNS,
    find_csv_files,
    generate,
    validate,
    write_csv,
)

OBSERVATION = pd.Timestamp("2024-06-30")
H2_START = pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module")
def lab_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate()


@pytest.fixture(scope="module")
def labelled(lab_data: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """LAB.md step 1 labels plus the step 2 features, computed with plain pandas."""
    _, orders = lab_data
    orders = orders.assign(ORDER_DATE=pd.to_datetime(orders["ORDER_DATE"]))
    h1 = orders[(orders["ORDER_DATE"] >= "2024-01-01") & (orders["ORDER_DATE"] <= OBSERVATION)]
    h2_customers = set(orders.loc[orders["ORDER_DATE"] >= H2_START, "CUSTOMER_ID"])
    grouped = h1.groupby("CUSTOMER_ID")
    features = pd.DataFrame(
        {
            "DAYS_SINCE_LAST_ORDER": (OBSERVATION - grouped["ORDER_DATE"].max()).dt.days,
            "ORDER_COUNT_2024_H1": grouped.size(),
            "TOTAL_AMOUNT_2024_H1": grouped["ORDER_AMOUNT"].sum(),
            "AVG_ORDER_AMOUNT": grouped["ORDER_AMOUNT"].mean(),
            "RETURN_RATE": h1["STATUS"].eq("RETURNED").groupby(h1["CUSTOMER_ID"]).mean(),
        }
    )
    features["IS_CHURNED"] = (~features.index.isin(list(h2_customers))).astype(int)
    return features


# ----------------------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------------------


def test_same_seed_same_frames_and_bytes(tmp_path: Path) -> None:
    first, second = generate(400, seed=7), generate(400, seed=7)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])
    paths_a = write_csv(*first, tmp_path / "a")
    paths_b = write_csv(*second, tmp_path / "b")
    for a, b in zip(paths_a, paths_b, strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_different_seed_different_frames() -> None:
    a, b = generate(400, seed=7), generate(400, seed=8)
    assert not a[0].equals(b[0])
    assert not a[1].equals(b[1])


def test_columns_and_value_sets(lab_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, orders = lab_data
    assert list(customers.columns) == list(CUSTOMERS_COLUMNS)
    assert list(orders.columns) == list(ORDERS_COLUMNS)
    assert len(customers) == 3000
    assert set(customers["SEGMENT"]) == {"Basic", "Standard", "Premium"}
    assert set(customers["REGION"]) == {"North", "East", "West", "South"}
    assert set(orders["STATUS"]) == {"FULFILLED", "RETURNED", "CANCELLED"}
    assert customers["CUSTOMER_ID"].str.fullmatch(r"CUST_\d{5}").all()
    assert orders["ORDER_ID"].str.fullmatch(r"ORD_\d{6}").all()
    assert customers["CUSTOMER_ID"].iloc[0] == "CUST_00001"
    assert orders["ORDER_ID"].iloc[0] == "ORD_000001"
    assert customers["CUSTOMER_ID"].is_unique and orders["ORDER_ID"].is_unique


def test_ids_widen_when_needed() -> None:
    customers, orders = generate(100_000, seed=3)
    assert customers["CUSTOMER_ID"].iloc[0] == "CUST_000001"
    assert customers["CUSTOMER_ID"].iloc[-1] == "CUST_100000"
    width = len(str(len(orders)))
    assert orders["ORDER_ID"].iloc[-1] == f"ORD_{len(orders):0{width}d}"
    assert orders["ORDER_ID"].str.len().nunique() == 1


def test_dates_amounts_and_status_mix(lab_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, orders = lab_data
    registered = pd.to_datetime(customers["REGISTRATION_DATE"])
    assert registered.min() >= pd.Timestamp("2022-01-01")
    assert registered.max() <= pd.Timestamp("2023-12-31")
    ordered = pd.to_datetime(orders["ORDER_DATE"])
    assert ordered.min() == pd.Timestamp("2024-01-01")
    assert pd.Timestamp("2024-11-15") <= ordered.max() <= pd.Timestamp("2024-11-30")
    amount = orders["ORDER_AMOUNT"]
    assert 30 <= amount.min() and amount.max() <= 420
    assert 170 <= amount.mean() <= 190
    assert (amount.round(2) == amount).all()
    shares = orders["STATUS"].value_counts(normalize=True)
    assert shares["FULFILLED"] == pytest.approx(0.69, abs=0.03)
    assert shares["RETURNED"] == pytest.approx(0.16, abs=0.03)
    assert shares["CANCELLED"] == pytest.approx(0.15, abs=0.03)


def test_order_count_and_every_customer_orders(lab_data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, orders = lab_data
    assert 17_000 <= len(orders) <= 20_000
    assert set(orders["CUSTOMER_ID"]) == set(customers["CUSTOMER_ID"])


def test_churn_rate_among_h1_active(lab_data: tuple[pd.DataFrame, pd.DataFrame], labelled: pd.DataFrame) -> None:
    customers, _ = lab_data
    assert len(labelled) / len(customers) > 0.9  # most customers are in the label population
    assert 0.25 <= labelled["IS_CHURNED"].mean() <= 0.40


def test_churners_look_different_in_h1(labelled: pd.DataFrame) -> None:
    means = labelled.groupby("IS_CHURNED").mean()
    assert means.loc[1, "DAYS_SINCE_LAST_ORDER"] > 2 * means.loc[0, "DAYS_SINCE_LAST_ORDER"]
    assert means.loc[1, "ORDER_COUNT_2024_H1"] < means.loc[0, "ORDER_COUNT_2024_H1"]
    assert means.loc[1, "TOTAL_AMOUNT_2024_H1"] < means.loc[0, "TOTAL_AMOUNT_2024_H1"]
    assert means.loc[1, "RETURN_RATE"] > means.loc[0, "RETURN_RATE"]


def test_churn_is_learnable(labelled: pd.DataFrame) -> None:
    xgboost = pytest.importorskip("xgboost")
    model_selection = pytest.importorskip("sklearn.model_selection")
    metrics = pytest.importorskip("sklearn.metrics")
    features = labelled.drop(columns="IS_CHURNED")
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        features, labelled["IS_CHURNED"], test_size=0.2, random_state=42
    )
    model = xgboost.XGBClassifier(max_depth=5, learning_rate=0.1, n_estimators=100, scale_pos_weight=2)
    model.fit(x_train, y_train)
    f1 = metrics.f1_score(y_test, model.predict(x_test))
    trivial = metrics.f1_score(y_test, np.ones(len(y_test), dtype=int))  # "everyone churns"
    assert f1 > trivial + 0.1
    assert 0.6 <= f1 <= 0.9


def test_progress_bar_only_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    customers, orders = generate(50, seed=1, progress=True)
    assert len(customers) == 50 and len(orders) >= 50
    assert capsys.readouterr().err == ""  # a log file gets no carriage-return frames

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    generate(50, seed=1, progress=True)
    assert "churn data" in terminal.getvalue()


def test_rejects_no_customers() -> None:
    with pytest.raises(InvalidInputError, match="customers"):
        generate(0)


# ----------------------------------------------------------------------------------------------------
# Writing, reading back, validating
# ----------------------------------------------------------------------------------------------------


def test_round_trip_write_read_validate(tmp_path: Path) -> None:
    customers, orders = generate(500, seed=11)
    customers_path, orders_path = write_csv(customers, orders, tmp_path)
    assert (customers_path.name, orders_path.name) == ("CUSTOMERS.csv", "ORDERS.csv")
    lines = orders_path.read_text().splitlines()
    assert lines[0] == "ORDER_ID,CUSTOMER_ID,ORDER_DATE,ORDER_AMOUNT,STATUS"
    assert all(re.fullmatch(r"ORD_\d{6},CUST_\d{5},2024-\d\d-\d\d,\d+\.\d\d,[A-Z]+", line) for line in lines[1:])
    assert customers_path.read_text().splitlines()[0] == "CUSTOMER_ID,SEGMENT,REGISTRATION_DATE,REGION"

    read_customers = read_csv_checked(customers_path, CUSTOMERS_COLUMNS)
    read_orders = read_csv_checked(orders_path, ORDERS_COLUMNS)
    validate(read_customers, read_orders, customers_path, orders_path)
    validate(customers, orders, customers_path, orders_path)  # the generated frames pass as well
    assert read_customers["CUSTOMER_ID"].tolist() == customers["CUSTOMER_ID"].tolist()
    assert read_customers["REGISTRATION_DATE"].tolist() == customers["REGISTRATION_DATE"].tolist()
    assert read_orders["ORDER_DATE"].tolist() == orders["ORDER_DATE"].tolist()
    np.testing.assert_array_equal(read_orders["ORDER_AMOUNT"].to_numpy(), orders["ORDER_AMOUNT"].to_numpy())
    assert read_orders["STATUS"].tolist() == orders["STATUS"].tolist()


GOOD_CUSTOMERS = """CUSTOMER_ID,SEGMENT,REGISTRATION_DATE,REGION
CUST_00001,Basic,2022-03-01,North
CUST_00002,Premium,2023-07-15,South
CUST_00003,Standard,2022-11-30,West
"""
GOOD_ORDERS = """ORDER_ID,CUSTOMER_ID,ORDER_DATE,ORDER_AMOUNT,STATUS
ORD_000001,CUST_00001,2024-01-05,120.50,FULFILLED
ORD_000002,CUST_00001,2024-08-01,80.00,RETURNED
ORD_000003,CUST_00002,2024-03-10,310.99,CANCELLED
ORD_000004,CUST_00003,2024-05-20,45.10,FULFILLED
ORD_000005,CUST_00003,2024-10-02,199.00,FULFILLED
"""


def _load_and_validate(folder: Path, customers_text: str, orders_text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customers.csv").write_text(customers_text)
    (folder / "orders.csv").write_text(orders_text)
    customers_path, orders_path = find_csv_files(folder)
    customers = read_csv_checked(customers_path, CUSTOMERS_COLUMNS)
    orders = read_csv_checked(orders_path, ORDERS_COLUMNS)
    validate(customers, orders, customers_path, orders_path)


def test_small_valid_files_pass(tmp_path: Path) -> None:
    _load_and_validate(tmp_path, GOOD_CUSTOMERS, GOOD_ORDERS)


def test_lab_style_history_before_2024_is_accepted(tmp_path: Path) -> None:
    # An earlier version of the lab's files has 2023 orders, 2021 registrations and amounts over 420.
    orders = GOOD_ORDERS + "ORD_000006,CUST_00002,2023-04-09,449.48,FULFILLED\n"
    customers = GOOD_CUSTOMERS.replace("2022-03-01", "2021-10-14")
    _load_and_validate(tmp_path, customers, orders)


@pytest.mark.parametrize(
    ("which", "old", "new", "file", "column", "row", "shown"),
    [
        ("orders", "310.99,CANCELLED", "310.99,SHIPPED", "orders.csv", "STATUS", 4, "'SHIPPED'"),
        ("orders", "80.00", "-80.00", "orders.csv", "ORDER_AMOUNT", 3, "'-80'"),
        ("orders", "45.10", "0.00", "orders.csv", "ORDER_AMOUNT", 5, "'0'"),
        ("orders", "ORD_000005", "ORD_000002", "orders.csv", "ORDER_ID", 6, "also at row 3"),
        ("orders", "CUST_00003,2024-10-02", "CUST_00099,2024-10-02", "orders.csv", "CUSTOMER_ID", 6, "'CUST_00099'"),
        ("orders", "2024-10-02", "2999-10-02", "orders.csv", "ORDER_DATE", 6, "'2999-10-02'"),
        (
            "customers",
            "West\n",
            "West\nCUST_00002,Basic,2022-01-01,East\n",
            "customers.csv",
            "CUSTOMER_ID",
            5,
            "also at row 3",
        ),
        ("customers", "Premium", "Gold", "customers.csv", "SEGMENT", 3, "'Gold'"),
        ("customers", "West", "west", "customers.csv", "REGION", 4, "'west'"),
        ("customers", "2023-07-15", "2999-07-15", "customers.csv", "REGISTRATION_DATE", 3, "'2999-07-15'"),
    ],
)
def test_validate_names_file_column_and_row(
    tmp_path: Path, which: str, old: str, new: str, file: str, column: str, row: int, shown: str
) -> None:
    customers, orders = GOOD_CUSTOMERS, GOOD_ORDERS
    if which == "orders":
        assert old in orders
        orders = orders.replace(old, new, 1)
    else:
        assert old in customers
        customers = customers.replace(old, new, 1)
    with pytest.raises(InvalidInputError) as caught:
        _load_and_validate(tmp_path, customers, orders)
    message = str(caught.value)
    assert str(tmp_path / file) in message
    assert f"column {column}" in message
    assert f"row {row}" in message
    assert shown in message
    assert message.count("\n") == 0  # exactly one problem reported


def test_validate_reports_every_problem_and_caps_rows(tmp_path: Path) -> None:
    extra = "".join(f"ORD_1{i:05d},CUST_00001,2024-02-01,10.00,LOST\n" for i in range(8))
    orders = GOOD_ORDERS.replace("120.50", "-1.00") + extra
    with pytest.raises(InvalidInputError) as caught:
        _load_and_validate(tmp_path, GOOD_CUSTOMERS, orders)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    status = next(line for line in lines if "column STATUS" in line)
    assert "8 bad value(s)" in status and "row 7: 'LOST'" in status and "(and 3 more)" in status
    assert "row 12" not in status
    assert any("column ORDER_AMOUNT" in line and "row 2: '-1'" in line for line in lines)


def test_validate_requires_orders_in_h1(tmp_path: Path) -> None:
    orders = GOOD_ORDERS.replace("2024-01-05", "2024-07-05").replace("2024-03-10", "2024-09-10")
    orders = orders.replace("2024-05-20", "2024-11-20")
    with pytest.raises(InvalidInputError, match=r"orders\.csv: column ORDER_DATE has no order between"):
        _load_and_validate(tmp_path, GOOD_CUSTOMERS, orders)


def test_bad_date_is_caught_by_read_csv_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as caught:
        _load_and_validate(tmp_path, GOOD_CUSTOMERS, GOOD_ORDERS.replace("2024-03-10", "2024-13-10"))
    message = str(caught.value)
    assert "orders.csv" in message and "column ORDER_DATE" in message and "row 4: '2024-13-10'" in message


# ----------------------------------------------------------------------------------------------------
# Finding the files
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ("customers.csv", "orders.csv"),
        ("CUSTOMERS.csv", "ORDERS.CSV"),
        ("customers_data.csv", "orders_data.csv"),
        ("Customer.csv", "customer_orders.csv"),
    ],
)
def test_find_csv_files_accepts_lab_names(tmp_path: Path, names: tuple[str, str]) -> None:
    for name in names:
        (tmp_path / name).write_text("x\n")
    (tmp_path / "README.md").write_text("not a csv")
    customers_path, orders_path = find_csv_files(tmp_path)
    assert (customers_path.name, orders_path.name) == names


def test_find_csv_files_prefers_exact_names(tmp_path: Path) -> None:
    for name in ("customers.csv", "customers_backup.csv", "orders.csv", "orders_2023.csv"):
        (tmp_path / name).write_text("x\n")
    assert [p.name for p in find_csv_files(tmp_path)] == ["customers.csv", "orders.csv"]


def test_find_csv_files_lists_what_it_found(tmp_path: Path) -> None:
    for name in ("clients.csv", "orders_a.csv", "orders_b.csv"):
        (tmp_path / name).write_text("x\n")
    with pytest.raises(InvalidInputError) as caught:
        find_csv_files(tmp_path)
    message = str(caught.value)
    assert "clients.csv" in message and "orders_a.csv" in message and "orders_b.csv" in message
    assert "no file with 'customer'" in message and "several files could be the orders file" in message


def test_find_csv_files_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no such directory"):
        find_csv_files(tmp_path / "nope")


def test_write_csv_quotes_only_when_needed(tmp_path: Path) -> None:
    customers, orders = generate(5, seed=1)
    customers = customers.astype({"REGION": object})
    customers.loc[0, "REGION"] = 'Far, "North"'
    customers_path, _ = write_csv(customers, orders, tmp_path)
    back = pd.read_csv(customers_path, dtype=str)
    assert back.loc[0, "REGION"] == 'Far, "North"'
    assert churn_data.CUSTOMERS_FILE == customers_path.name
