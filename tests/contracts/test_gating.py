"""Credit and identity gating in LoanBook: who may borrow, how much and at what rate.

Borrowers need KYC, no block, a fresh score whose grade allows principal, exposure and APR.
Lenders need no block, and KYC above the token's threshold. Blocks never trap money.
"""

from __future__ import annotations

import boa
import pytest

from tests.contracts.helpers import (
    DAY,
    DEFAULT_GRADE_LIMITS,
    DEFAULT_TERMS,
    MODEL_ID,
    REPAID,
    UNIT,
    exposure,
)

# Default oracle thresholds: A >= 740, B >= 680, C >= 620, D >= 560, E >= 500.


@pytest.fixture
def newcomer(book, stablecoin, deployer):
    account = boa.env.generate_address("newcomer")
    with boa.env.prank(deployer):
        stablecoin.mint(account, 1_000_000 * UNIT)
    with boa.env.prank(account):
        stablecoin.approve(book.address, 2**256 - 1)
    return account


def request(book, token, who, principal=1_000 * UNIT, apr_bps=1_500):
    with boa.env.prank(who):
        return book.request_loan(token.address, principal, apr_bps, 12, 30 * DAY, 0, 7 * DAY)


def test_unverified_borrower_rejected(book, stablecoin, newcomer):
    with boa.reverts("loanbook: borrower not verified"):
        request(book, stablecoin, newcomer)


def test_blocked_borrower_rejected(book, gates, stablecoin, newcomer):
    gates.verify(newcomer)
    gates.score(newcomer)
    gates.block(newcomer)
    with boa.reverts("loanbook: borrower blocked"):
        request(book, stablecoin, newcomer)


def test_borrower_without_score_rejected(book, gates, stablecoin, newcomer):
    gates.verify(newcomer)
    with boa.reverts("loanbook: not scored"):
        request(book, stablecoin, newcomer)


def test_score_expiry_boundary(book, gates, stablecoin, newcomer):
    gates.verify(newcomer)
    gates.score(newcomer, 700, ttl=2 * DAY)
    expires_at = gates.oracle.score_of(newcomer).expires_at
    boa.env.time_travel(seconds=expires_at - 1 - boa.env.evm.patch.timestamp)
    assert request(book, stablecoin, newcomer) >= 1  # one second before expiry: accepted
    boa.env.time_travel(seconds=1)
    assert boa.env.evm.patch.timestamp == expires_at
    with boa.reverts("loanbook: score expired"):
        request(book, stablecoin, newcomer)


def test_ineligible_grade_rejected(book, gates, stablecoin, newcomer):
    gates.verify(newcomer)
    gates.score(newcomer, 450)  # below grade E
    with boa.reverts("loanbook: grade not eligible"):
        request(book, stablecoin, newcomer)


@pytest.mark.parametrize(("score", "grade"), [(800, 1), (700, 2), (650, 3), (600, 4), (520, 5)])
def test_grade_cap_on_principal(book, gates, stablecoin, newcomer, score, grade):
    gates.verify(newcomer)
    gates.score(newcomer, score)
    max_principal, _, min_apr = DEFAULT_GRADE_LIMITS[grade - 1]
    with boa.reverts("loanbook: over grade cap"):
        request(book, stablecoin, newcomer, principal=max_principal + 1, apr_bps=min_apr)
    loan_id = request(book, stablecoin, newcomer, principal=max_principal, apr_bps=min_apr)
    assert book.loan(loan_id).grade == grade


def test_apr_floor_per_grade(book, gates, stablecoin, newcomer):
    gates.verify(newcomer)
    gates.score(newcomer, 600)  # grade D: floor 12%
    with boa.reverts("loanbook: apr below grade floor"):
        request(book, stablecoin, newcomer, apr_bps=1_199)
    request(book, stablecoin, newcomer, apr_bps=1_200)


def test_exposure_cap_counts_open_and_active_loans_and_frees_on_exit(
    book, gates, stablecoin, newcomer, lenders, lens
):
    gates.verify(newcomer)
    gates.score(newcomer, 600)  # grade D: 5,000 per loan, 10,000 outstanding
    first = request(book, stablecoin, newcomer, principal=5_000 * UNIT, apr_bps=1_200)
    second = request(book, stablecoin, newcomer, principal=5_000 * UNIT, apr_bps=1_200)
    assert exposure(book, newcomer, stablecoin) == 10_000 * UNIT
    with boa.reverts("loanbook: over exposure cap"):
        request(book, stablecoin, newcomer, principal=1, apr_bps=1_200)

    with boa.env.prank(newcomer):
        book.cancel(first)  # cancelling frees the exposure
    assert exposure(book, newcomer, stablecoin) == 5_000 * UNIT

    with boa.env.prank(lenders[0]):
        book.fund(second, 5_000 * UNIT)
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(second)
    assert exposure(book, newcomer, stablecoin) == 5_000 * UNIT  # active loans count
    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(newcomer):
        book.repay(second, 1_000 * UNIT)
    principal_paid = 5_000 * UNIT - lens.amount_due(second).principal_outstanding
    assert exposure(book, newcomer, stablecoin) == 5_000 * UNIT - principal_paid
    with boa.env.prank(newcomer):
        book.repay_in_full(second)
    assert book.loan(second).status == REPAID
    assert exposure(book, newcomer, stablecoin) == 0


def test_expiry_frees_exposure(book, gates, stablecoin, newcomer, stranger):
    gates.verify(newcomer)
    gates.score(newcomer, 600)
    loan_id = request(book, stablecoin, newcomer, principal=5_000 * UNIT, apr_bps=1_200)
    with boa.reverts("loanbook: not expired"):
        book.expire(loan_id)
    boa.env.time_travel(seconds=7 * DAY)
    with boa.env.prank(stranger):
        book.expire(loan_id)
    assert exposure(book, newcomer, stablecoin) == 0
    with boa.reverts("loanbook: not expired"):
        book.expire(loan_id)


def test_request_logs_grade_and_score(book, gates, stablecoin, newcomer):
    gates.verify(newcomer)
    gates.score(newcomer, 745)
    request(book, stablecoin, newcomer)
    event = [e for e in book.get_logs() if type(e).__name__ == "LoanRequested"][0]
    assert (event.grade, event.score) == (1, 745)


def test_limits_are_per_token_and_closed_by_default(book, gates, admin, newcomer, deployer):
    other = boa.load_partial("contracts/test/TestStablecoin.vy").deploy()
    with boa.env.prank(admin):
        book.set_token_allowed(other.address, True)
    gates.verify(newcomer)
    gates.score(newcomer, 800)
    with boa.reverts("loanbook: over grade cap"):
        request(book, other, newcomer, principal=1)


def test_set_grade_limits_is_admin_only_and_checked(book, admin, stranger, stablecoin):
    limits = list(DEFAULT_GRADE_LIMITS)
    with boa.env.prank(stranger), boa.reverts("access_control: account is missing role"):
        book.set_grade_limits(stablecoin.address, limits)
    bad = [*limits[:4], (10 * UNIT, 9 * UNIT, 1_500)]
    with boa.env.prank(admin), boa.reverts("loanbook: exposure below loan cap"):
        book.set_grade_limits(stablecoin.address, bad)
    bad = [*limits[:4], (10 * UNIT, 10 * UNIT, 3_601)]
    with boa.env.prank(admin), boa.reverts("loanbook: grade floor over max apr"):
        book.set_grade_limits(stablecoin.address, bad)
    bad = [*limits[:4], (10**27 + 1, 10**28, 0)]
    with boa.env.prank(admin), boa.reverts("loanbook: grade cap over max"):
        book.set_grade_limits(stablecoin.address, bad)
    with boa.env.prank(admin):
        book.set_grade_limits(stablecoin.address, [(0, 0, 0)] * 5)
    assert tuple(book.grade_limits(stablecoin.address, 1)) == (0, 0, 0)


# --------------------------------------------------------------------------- lenders


def test_blocked_lender_cannot_fund(book, gates, make_loan, lenders):
    loan_id = make_loan()
    gates.block(lenders[0])
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: lender blocked"):
        book.fund(loan_id, UNIT)


def test_lender_kyc_above_threshold(book, admin, make_loan, newcomer, stablecoin):
    loan_id = make_loan()
    with boa.env.prank(newcomer), boa.reverts("loanbook: lender not verified"):
        book.fund(loan_id, UNIT)  # threshold 0: every lender needs KYC
    with boa.env.prank(admin):
        book.set_lender_kyc_threshold(stablecoin.address, 100 * UNIT)
    with boa.env.prank(newcomer):
        book.fund(loan_id, 100 * UNIT)
    with boa.env.prank(newcomer), boa.reverts("loanbook: lender not verified"):
        book.fund(loan_id, 100 * UNIT + 1)


# --------------------------------------------------------------------------- blocks never trap money


def test_blocked_borrower_can_still_repay(book, gates, active_loan, borrower):
    loan_id, _ = active_loan()
    gates.block(borrower)
    with boa.env.prank(borrower):
        book.repay_in_full(loan_id)
    assert book.loan(loan_id).status == REPAID


def test_blocked_lender_can_still_claim_and_refund(book, gates, active_loan, make_loan, borrower, lenders):
    loan_id, note_ids = active_loan()
    with boa.env.prank(borrower):
        book.repay(loan_id, 100 * UNIT)
    open_loan = make_loan()
    with boa.env.prank(lenders[0]):
        open_note = book.fund(open_loan, 10 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(open_loan)
    gates.block(lenders[0])
    with boa.env.prank(lenders[0]):
        assert book.claim(note_ids[0]) > 0
        book.refund(open_note)


# --------------------------------------------------------------------------- oracle compromise


def test_compromised_oracle_moves_no_money(book, gates, active_loan, borrower, stablecoin, lenders):
    """The oracle key can rewrite scores, but nothing it can sign touches escrowed money."""
    loan_id, note_ids = active_loan()
    with boa.env.prank(borrower):
        book.repay(loan_id, 100 * UNIT)
    attacker = boa.env.generate_address("oracle-key")
    with boa.env.prank(gates.admin):
        gates.oracle.grantRole(gates.oracle.ORACLE_ROLE(), attacker)
    before = (
        stablecoin.balanceOf(book.address),
        book.held(stablecoin.address),
        book.reserve(stablecoin.address),
        [book.claimable(n) for n in note_ids],
        tuple(book.loan(loan_id)),
        tuple(book.loan_terms(loan_id)),
    )
    with boa.env.prank(attacker):
        gates.oracle.push_scores([borrower, *lenders], [850] + [300] * len(lenders), b"\x66" * 32, 3_600)
        with boa.reverts("access_control: account is missing role"):
            gates.oracle.set_grade_thresholds([800, 700, 600, 500, 400])
        # The oracle role grants nothing on LoanBook itself.
        for role in (book.DEFAULT_ADMIN_ROLE(), book.RISK_OFFICER_ROLE(), book.PAUSER_ROLE()):
            assert not book.hasRole(role, attacker)
        with boa.reverts("access_control: account is missing role"):
            book.withdraw_fees(stablecoin.address)
    after = (
        stablecoin.balanceOf(book.address),
        book.held(stablecoin.address),
        book.reserve(stablecoin.address),
        [book.claimable(n) for n in note_ids],
        tuple(book.loan(loan_id)),
        tuple(book.loan_terms(loan_id)),
    )
    assert after == before
    assert stablecoin.balanceOf(attacker) == 0
    # A rewritten score changes only future requests: the running loan keeps its grade.
    assert gates.oracle.score_of(borrower).model == b"\x66" * 32
    assert book.loan(loan_id).grade == 2


def test_model_id_is_recorded_with_each_score(gates, borrower):
    assert gates.oracle.score_of(borrower).model == MODEL_ID


def test_defaulted_principal_counts_against_the_cap_until_recovered(
    book, gates, stablecoin, newcomer, lenders
):
    gates.verify(newcomer)
    gates.score(newcomer, 600)  # grade D: 5,000 per loan, 10,000 outstanding
    loan_id = request(book, stablecoin, newcomer, principal=5_000 * UNIT, apr_bps=1_200)
    with boa.env.prank(lenders[0]):
        book.fund(loan_id, 5_000 * UNIT)
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(loan_id)
    boa.env.time_travel(seconds=30 * DAY + DEFAULT_TERMS.default_after_seconds + 1)
    book.mark_default(loan_id)
    assert exposure(book, newcomer, stablecoin) == 5_000 * UNIT
    request(book, stablecoin, newcomer, principal=5_000 * UNIT, apr_bps=1_200)  # up to the cap...
    with boa.reverts("loanbook: over exposure cap"):
        request(book, stablecoin, newcomer, principal=1, apr_bps=1_200)  # ...and no further
    with boa.env.prank(newcomer):
        book.repay(loan_id, 100 * UNIT)
    assert exposure(book, newcomer, stablecoin) == 10_000 * UNIT  # partly recovered: still counted
    with boa.env.prank(newcomer):
        book.repay_in_full(loan_id)
    assert exposure(book, newcomer, stablecoin) == 5_000 * UNIT
    assert book.default_record(loan_id).principal == 5_000 * UNIT
