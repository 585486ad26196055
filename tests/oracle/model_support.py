"""Helpers of the credit-model tests (tests/oracle/test_model_*.py): application strategies
and sample applications. The fixtures are in tests/oracle/conftest.py."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from oracle.model.data import APPLICATION_SCHEMA


def application_strategy(names=None, schema=APPLICATION_SCHEMA):
    """Random valid applications over the whole schema (or the fields in `names`)."""
    fields = {}
    for spec in schema:
        if names is not None and spec.name not in names:
            continue
        if spec.kind == "category":
            fields[spec.name] = st.sampled_from(spec.choices)
        elif spec.kind == "int" and spec.nullable:
            fields[spec.name] = st.none() | st.integers(int(spec.minimum), int(spec.maximum))
        elif spec.kind == "int":
            fields[spec.name] = st.integers(int(spec.minimum), int(spec.maximum))
        else:
            fields[spec.name] = st.floats(spec.minimum, spec.maximum, allow_nan=False, allow_infinity=False)
    return st.fixed_dictionaries(fields)


#: A plausible applicant (lending_club spelling).
TYPICAL = {
    "funded_amnt": 12_000,
    "term": "term_36",
    "verification_status": "Source_Verified",
    "annual_inc": 72_000.0,
    "emp_length": "emp_5",
    "delinq_2yrs": 0,
    "inq_last_6mths": 1,
    "revol_util": 48.5,
    "acc_now_delinq": 0,
    "open_il_6m": 2,
    "open_il_12m": 1,
    "open_il_24m": 2,
    "total_bal_il": 21_000,
    "all_util": 61.0,
    "inq_fi": 1,
    "inq_last_12m": 2,
    "delinq_amnt": 0.0,
    "num_il_tl": 7,
    "total_il_high_credit_limit": 30_000,
}


def best_and_worst(model):
    """Applications at every feature's best and at its worst value (by the points it gives,
    bins and lines), and per feature the points between the two."""
    import numpy as np

    from oracle.model.data import EMP_LENGTH_YEARS

    best, worst, span = dict(TYPICAL), dict(TYPICAL), {}
    card = model.scorecard
    for i, feature in enumerate(card.features):
        values = [v for j in range(feature.n_bins) for v in _values_in_bin(feature, j)]
        numbers = [EMP_LENGTH_YEARS[v] if feature.name == "emp_length" else v for v in values]
        points = card.points_of(
            i, np.asarray(numbers, dtype=object if feature.kind == "categorical" else float)
        )
        best[feature.name], worst[feature.name] = (
            values[int(np.argmax(points))],
            values[int(np.argmin(points))],
        )
        span[feature.name] = float(points.max() - points.min())
    return best, worst, span


def _values_in_bin(feature, index):
    """Valid application values in regular bin ``index``: its ends, and its line's clip bounds
    where they fall inside it (a line's points are extreme there)."""
    from oracle.model.data import EMP_LENGTH_YEARS, SCHEMA_BY_NAME

    spec = SCHEMA_BY_NAME[feature.name]
    if feature.kind == "categorical":
        return [feature.groups[index][0]]
    edges = [-math.inf, *feature.splits, math.inf]
    lo, hi = max(edges[index], spec.minimum if spec.minimum is not None else 0), edges[index + 1]
    if feature.name == "emp_length":
        labels = [
            label for label, years in EMP_LENGTH_YEARS.items() if years is not None and lo <= years < hi
        ]
        assert labels, f"no emp_length in [{lo}, {hi})"
        return labels
    top = min(hi, spec.maximum) if spec.maximum is not None else hi
    inside = [v for v in feature.line[:2] if lo <= v < hi]
    if spec.kind == "int":
        ends = [math.ceil(lo), math.ceil(top) - 1 if top == hi else math.floor(top)]
        inside = [math.ceil(v) for v in inside]
    else:
        ends = [lo, math.nextafter(top, -math.inf) if top == hi else top]
    values = sorted({v for v in (*ends, *inside) if lo <= v < hi})
    assert values, (feature.name, lo, hi)
    return values
