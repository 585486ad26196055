"""The on-chain behaviour overlay (oracle.model.policy)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle.model.policy import (
    REASON_DEFAULT,
    REASON_LATE,
    PolicyParams,
    RepaymentRecord,
    apply_policy,
)
from oracle.model.scorecard import grade_of

P = PolicyParams()


def test_a_default_makes_the_account_ineligible_whatever_the_score():
    for score in (850, 760, 600, 500, 300):
        outcome = apply_policy(score, RepaymentRecord(on_time=40, defaults=1))
        assert outcome.grade == 0
        assert outcome.score <= P.default_cap
        assert grade_of(outcome.score) == 0  # the contract grades the pushed score to 0 too
        assert outcome.reasons[0] == REASON_DEFAULT


def test_each_late_payment_costs_points():
    clean = apply_policy(700, RepaymentRecord())
    one = apply_policy(700, RepaymentRecord(late=1))
    three = apply_policy(700, RepaymentRecord(late=3))
    assert clean.score == 700 and clean.reasons == ()
    assert one.score < clean.score and one.score == 700 - P.late_penalty
    assert three.score == 700 - 3 * P.late_penalty
    assert REASON_LATE in three.reasons
    assert apply_policy(320, RepaymentRecord(late=10)).score == 300  # clipped, never below the range


def test_on_time_bonus_is_small_and_capped():
    assert 700 < apply_policy(700, RepaymentRecord(on_time=1)).score == 700 + P.on_time_bonus
    assert apply_policy(700, RepaymentRecord(on_time=1_000)).score == 700 + P.on_time_cap
    assert apply_policy(845, RepaymentRecord(on_time=1_000)).score == 850
    assert P.on_time_cap < 60  # less than one grade step


@pytest.mark.parametrize("bad", [{"late": -1}, {"on_time": 1.5}, {"defaults": True}])
def test_counts_must_be_non_negative_integers(bad):
    with pytest.raises(ValueError):
        RepaymentRecord(**bad)


def test_score_outside_range_is_rejected():
    with pytest.raises(ValueError, match="score"):
        apply_policy(900, RepaymentRecord())


def test_record_from_the_service_history_shape():
    @dataclass(frozen=True)
    class BorrowerHistory:  # as oracle.service.history
        loans: int = 0
        repayments_on_time: int = 0
        repayments_late: int = 0
        defaults: int = 0

    record = RepaymentRecord.of(BorrowerHistory(loans=2, repayments_on_time=7, repayments_late=1, defaults=0))
    assert record == RepaymentRecord(on_time=7, late=1, defaults=0)
    assert RepaymentRecord.of({"on_time": 2, "defaults": 1}) == RepaymentRecord(on_time=2, defaults=1)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    score=st.integers(300, 850),
    on_time=st.integers(0, 100),
    late=st.integers(0, 20),
    defaults=st.integers(0, 3),
)
def test_policy_properties(score, on_time, late, defaults):
    outcome = apply_policy(score, RepaymentRecord(on_time, late, defaults))
    assert 300 <= outcome.score <= 850
    assert outcome.grade == (0 if defaults else grade_of(outcome.score))
    worse = apply_policy(score, RepaymentRecord(on_time, late + 1, defaults))
    assert worse.score <= outcome.score  # one more late payment never helps
    if not defaults and score + P.on_time_cap - P.late_penalty * late >= 300:
        assert outcome.score <= score + P.on_time_cap


def test_the_docs_state_the_policy_parameters():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "credit_model.md").read_text()
    assert f"capped at **{P.default_cap}**" in doc
    assert f"**−{P.late_penalty} points** per late repayment" in doc
    assert f"**+{P.on_time_bonus} points** per on-time repayment, at most **+{P.on_time_cap}**" in doc
