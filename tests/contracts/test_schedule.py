"""Schedule math: the contract's `schedule` view against the Python reference.

Properties over random terms for all four methods:
- the contract matches the documented integer algorithm to the unit;
- principal parts sum exactly to the principal;
- annuity (EQUAL_INSTALLMENT) payments are equal except the last, which absorbs rounding;
- total interest is within one base unit per installment of the exact Decimal value.
"""

from __future__ import annotations

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.helpers import (
    BULLET,
    DAY,
    EQUAL_INSTALLMENT,
    EQUAL_PRINCIPAL,
    INTEREST_ONLY,
    UNIT,
    deploy_book,
)
from tests.contracts.reference import annuity_payment, exact_interest_total, schedule_exact, schedule_int
from tests.hypothesis_profiles import examples

METHODS = [EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET]


@st.composite
def loan_terms(draw):
    installments = draw(st.integers(1, 360))
    max_period_days = min(366, 3_660 // installments)
    period = draw(st.integers(1, max_period_days)) * DAY + draw(st.sampled_from([0, 1, 3_599]))
    if installments * period > 3_660 * DAY:
        period = 3_660 * DAY // installments
    period = min(max(period, DAY), 366 * DAY)
    principal = draw(st.one_of(st.integers(1, 10**9), st.integers(1, 10**27)))
    apr_bps = draw(st.one_of(st.just(0), st.integers(1, 3_600)))
    method = draw(st.sampled_from(METHODS))
    return principal, apr_bps, installments, period, method


@pytest.fixture(scope="module")
def calculator():
    """One book for the whole module: `schedule` is a pure view."""
    owner = boa.env.generate_address("calc-admin")
    return deploy_book([], owner, owner, owner, owner).lens


@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(terms=loan_terms())
def test_contract_matches_reference(calculator, terms):
    rows = [tuple(row) for row in calculator.schedule(*terms)]
    assert rows == schedule_int(*terms)


@settings(max_examples=examples(400), deadline=None)
@given(terms=loan_terms())
def test_principal_parts_sum_exactly(terms):
    principal = terms[0]
    rows = schedule_int(*terms)
    assert sum(part for _, part, _ in rows) == principal
    assert all(part >= 0 and interest >= 0 for _, part, interest in rows)


@settings(max_examples=examples(400), deadline=None)
@given(terms=loan_terms())
def test_interest_within_rounding_bound_of_exact(terms):
    principal, apr_bps, installments, period, method = terms
    charged = sum(interest for _, _, interest in schedule_int(*terms))
    exact = exact_interest_total(*terms)
    # Each interest floor favours the borrower by under a unit. In an annuity the same floor
    # makes that installment's principal part up to a unit larger, and a unit of principal
    # repaid early changes every later interest part, compounding by (1 + r) per period: the
    # gap is at most n + sum_k((1 + r)^k - 1) units. For ordinary terms that is about a unit
    # per installment; it only grows for long schedules at high period rates.
    rate = apr_bps / 10_000 * period / (365 * 86_400)
    bound = installments + 2 + sum((1 + rate) ** k - 1 for k in range(1, installments + 1))
    assert abs(charged - exact) <= bound


@settings(max_examples=examples(400), deadline=None)
@given(terms=loan_terms())
def test_annuity_payments_are_level(terms):
    principal, apr_bps, installments, period, _ = terms
    rows = schedule_int(principal, apr_bps, installments, period, EQUAL_INSTALLMENT)
    payment = annuity_payment(principal, apr_bps, installments, period)
    # Every installment but the last pays the level amount, unless what is left
    # of the principal is smaller than the level principal part (tiny principals
    # spread over many installments run out early).
    remaining = principal
    for _, part, interest in rows[:-1]:
        if remaining > payment:
            assert part + interest == payment
        remaining -= part
    exact_payment = schedule_exact(principal, apr_bps, installments, period, EQUAL_INSTALLMENT)[0]
    # RAY (1e-27) fixed point: off by at most a unit, plus a unit per 1e25 of principal.
    assert abs(payment - (exact_payment[0] + exact_payment[1])) <= 1 + principal // 10**25


def test_known_annuity_example(calculator):
    """12 monthly installments of 1,000 tUSD at 12%: the textbook 等额本息 example."""
    rows = calculator.schedule(1_000 * UNIT, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT)
    payments = [row.principal + row.interest for row in rows]
    assert payments[0] == 88_771_906  # 88.77 tUSD: P*r/(1-(1+r)^-12) with r = 12% * 30/365
    assert len(set(payments[:-1])) == 1
    assert sum(row.principal for row in rows) == 1_000 * UNIT
    assert [row.due_offset for row in rows] == [30 * DAY * k for k in range(1, 13)]


def test_equal_principal_declines(calculator):
    rows = calculator.schedule(1_200 * UNIT, 2_400, 12, 30 * DAY, EQUAL_PRINCIPAL)
    assert all(row.principal == 100 * UNIT for row in rows)
    interests = [row.interest for row in rows]
    assert interests == sorted(interests, reverse=True) and interests[0] > interests[-1]


def test_interest_only_pays_principal_last(calculator):
    rows = calculator.schedule(1_000 * UNIT, 1_000, 6, 30 * DAY, INTEREST_ONLY)
    assert [row.principal for row in rows] == [0] * 5 + [1_000 * UNIT]
    assert len({row.interest for row in rows}) == 1


def test_bullet_is_one_payment(calculator):
    rows = calculator.schedule(1_000 * UNIT, 1_000, 6, 30 * DAY, BULLET)
    assert [(row.principal, row.interest) for row in rows[:-1]] == [(0, 0)] * 5
    # P * r * n with r = 10% * 30/365, n = 6
    assert rows[-1].principal == 1_000 * UNIT
    assert rows[-1].interest == 1_000 * UNIT * 1_000 * 30 * DAY * 6 // (10_000 * 365 * DAY)


def test_zero_apr_has_no_interest(calculator):
    for method in METHODS:
        rows = calculator.schedule(1_000, 0, 7, DAY, method)
        assert sum(row.interest for row in rows) == 0
        assert sum(row.principal for row in rows) == 1_000


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        ((0, 1_000, 12, 30 * DAY, 0), "loanbook: zero principal"),
        ((10**27 + 1, 1_000, 12, 30 * DAY, 0), "loanbook: principal too large"),
        ((1_000, 3_601, 12, 30 * DAY, 0), "loanbook: apr too high"),
        ((1_000, 1_000, 0, 30 * DAY, 0), "loanbook: bad installments"),
        ((1_000, 1_000, 361, DAY, 0), "loanbook: bad installments"),
        ((1_000, 1_000, 12, DAY - 1, 0), "loanbook: bad period"),
        ((1_000, 1_000, 1, 367 * DAY, 0), "loanbook: bad period"),
        ((1_000, 1_000, 11, 366 * DAY, 0), "loanbook: term too long"),
        ((1_000, 1_000, 12, 30 * DAY, 4), "loanbook: bad method"),
    ],
)
def test_bad_terms_revert_with_reason(calculator, terms, reason):
    with boa.reverts(reason):
        calculator.schedule(*terms)
