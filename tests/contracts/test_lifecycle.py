"""LoanBook lifecycle: every path of a loan, with amounts checked against the rules."""

from __future__ import annotations

import boa
import pytest

from tests.contracts.helpers import (
    ACTIVE,
    BULLET,
    CANCELLED,
    DAY,
    DEFAULT_TERMS,
    DEFAULTED,
    EQUAL_PRINCIPAL,
    EXPIRED,
    FUNDED,
    INTEREST_ONLY,
    OPEN,
    REPAID,
    UNIT,
)
from tests.contracts.reference import schedule_int

T = DEFAULT_TERMS
ACC = 10**27


def events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]


# --------------------------------------------------------------------------- request


def test_request_assigns_ids_from_one_and_freezes_terms(book, make_loan, borrower, stablecoin):
    first = make_loan()
    logs = book.get_logs()
    second = make_loan(principal=500 * UNIT, method=BULLET)
    assert (first, second) == (1, 2)
    assert book.loan_count() == 2
    loan = book.loan(first)
    assert (loan.borrower, loan.token, loan.principal, loan.status) == (
        borrower,
        stablecoin.address,
        1_000 * UNIT,
        OPEN,
    )
    assert tuple(book.loan_terms(first)) == T.as_tuple()
    requested = [e for e in logs if type(e).__name__ == "LoanRequested"][0]
    assert (requested.loan_id, requested.borrower, requested.principal) == (1, borrower, 1_000 * UNIT)
    assert [e for e in logs if type(e).__name__ == "LoanTerms"][0].review_seconds == T.review_seconds


def test_request_rejects_unlisted_token(book, make_loan, stranger):
    with boa.reverts("loanbook: token not allowed"):
        book.request_loan(stranger, 1_000, 1_000, 12, 30 * DAY, 0, 7 * DAY)


@pytest.mark.parametrize("funding", [3_599, 30 * DAY + 1])
def test_request_rejects_bad_funding_window(make_loan, funding):
    with boa.reverts("loanbook: bad funding window"):
        make_loan(funding=funding)


def test_request_checks_terms(make_loan):
    with boa.reverts("loanbook: apr too high"):
        make_loan(apr_bps=3_601)
    with boa.reverts("loanbook: zero principal"):
        make_loan(principal=0)


# --------------------------------------------------------------------------- fund


def test_partial_funding_mints_notes_and_caps_at_remaining(book, notes, make_loan, lenders, stablecoin):
    loan_id = make_loan(principal=1_000 * UNIT)
    before = stablecoin.balanceOf(lenders[1])
    with boa.env.prank(lenders[0]):
        n1 = book.fund(loan_id, 700 * UNIT)
    with boa.env.prank(lenders[1]):
        n2 = book.fund(loan_id, 900 * UNIT)  # only 300 left: capped
    assert (n1, n2) == (1, 2)
    assert notes.ownerOf(n1) == lenders[0] and notes.ownerOf(n2) == lenders[1]
    assert book.note(n2).share == 300 * UNIT
    assert before - stablecoin.balanceOf(lenders[1]) == 300 * UNIT
    loan = book.loan(loan_id)
    assert loan.status == FUNDED and loan.funded == 1_000 * UNIT
    assert loan.review_ends_at == boa.env.evm.patch.timestamp + T.review_seconds
    assert book.held(stablecoin.address) == 1_000 * UNIT
    assert stablecoin.balanceOf(book.address) == 1_000 * UNIT


def test_fund_logs_and_full_funding_event(book, make_loan, lenders):
    loan_id = make_loan(principal=100 * UNIT)
    with boa.env.prank(lenders[0]):
        book.fund(loan_id, 100 * UNIT)
    funded = events(book, "LoanFunded")[0]
    assert (funded.loan_id, funded.note_id, funded.lender, funded.amount, funded.total_funded) == (
        loan_id, 1, lenders[0], 100 * UNIT, 100 * UNIT,
    )  # fmt: skip
    assert events(book, "LoanFullyFunded")[0].loan_id == loan_id


def test_fund_rejections(book, make_loan, borrower, lenders):
    loan_id = make_loan(principal=100 * UNIT)
    with boa.env.prank(borrower), boa.reverts("loanbook: borrower cannot fund"):
        book.fund(loan_id, 10 * UNIT)
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: zero amount"):
        book.fund(loan_id, 0)
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: no such loan"):
        book.fund(99, 10 * UNIT)
    with boa.env.prank(lenders[0]):
        book.fund(loan_id, 100 * UNIT)
    with boa.env.prank(lenders[1]), boa.reverts("loanbook: not open"):
        book.fund(loan_id, 1)


def test_fund_after_deadline_is_closed(book, make_loan, lenders):
    loan_id = make_loan(funding=DAY)
    boa.env.time_travel(seconds=DAY)
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: funding closed"):
        book.fund(loan_id, UNIT)


# --------------------------------------------------------------------------- cancel, expire, refund


def test_borrower_cancels_open_request_and_lenders_get_everything_back(
    book, notes, make_loan, borrower, lenders, stablecoin
):
    loan_id = make_loan()
    start = [stablecoin.balanceOf(lender) for lender in lenders[:2]]
    with boa.env.prank(lenders[0]):
        n1 = book.fund(loan_id, 250 * UNIT)
    with boa.env.prank(lenders[1]):
        n2 = book.fund(loan_id, 333 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(loan_id)
    cancelled = events(book, "LoanCancelled")[0]
    assert (cancelled.by, cancelled.previous_status) == (borrower, OPEN)
    assert book.loan(loan_id).status == CANCELLED
    for lender, note_id in zip(lenders[:2], (n1, n2), strict=True):
        with boa.env.prank(lender):
            book.refund(note_id)
        with boa.reverts():
            notes.ownerOf(note_id)
    assert [stablecoin.balanceOf(lender) for lender in lenders[:2]] == start
    assert book.held(stablecoin.address) == 0
    with boa.env.prank(lenders[0]), boa.reverts("note: no such note"):
        book.refund(n1)


def test_cancel_permissions(book, make_loan, fund_fully, borrower, risk_officer, stranger):
    loan_id = make_loan()
    with boa.env.prank(stranger), boa.reverts("loanbook: not allowed"):
        book.cancel(loan_id)
    fund_fully(loan_id)
    with boa.env.prank(borrower), boa.reverts("loanbook: funded, only the risk officer can veto"):
        book.cancel(loan_id)
    with boa.env.prank(risk_officer):
        book.cancel(loan_id)
    assert events(book, "LoanCancelled")[0].previous_status == FUNDED
    assert book.loan(loan_id).status == CANCELLED
    with boa.env.prank(risk_officer), boa.reverts("loanbook: not cancellable"):
        book.cancel(loan_id)


def test_risk_officer_cancels_open_request(book, make_loan, risk_officer):
    loan_id = make_loan()
    with boa.env.prank(risk_officer):
        book.cancel(loan_id)
    assert book.loan(loan_id).status == CANCELLED


def test_veto_only_inside_review_window(book, make_loan, fund_fully, risk_officer):
    loan_id = make_loan()
    fund_fully(loan_id)
    boa.env.time_travel(seconds=T.review_seconds)
    with boa.env.prank(risk_officer), boa.reverts("loanbook: review over"):
        book.cancel(loan_id)


def test_expired_request_refunds_and_records_expiry_once(book, make_loan, lenders, borrower, stablecoin):
    loan_id = make_loan(funding=DAY)
    with boa.env.prank(lenders[0]):
        n1 = book.fund(loan_id, 100 * UNIT)
    with boa.env.prank(lenders[1]):
        n2 = book.fund(loan_id, 200 * UNIT)
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: not refundable"):
        book.refund(n1)  # still open
    boa.env.time_travel(seconds=DAY)
    assert book.loan(loan_id).status == EXPIRED  # reported before anyone records it
    with boa.env.prank(borrower), boa.reverts("loanbook: expired"):
        book.cancel(loan_id)
    with boa.env.prank(lenders[0]):
        book.refund(n1)
    assert len(events(book, "LoanExpired")) == 1
    refunded = events(book, "NoteRefunded")[0]
    assert (refunded.note_id, refunded.owner, refunded.amount) == (n1, lenders[0], 100 * UNIT)
    with boa.env.prank(lenders[1]):
        book.refund(n2)
    assert events(book, "LoanExpired") == []
    assert book.held(stablecoin.address) == 0


def test_refund_needs_note_owner(book, make_loan, lenders, borrower):
    loan_id = make_loan()
    with boa.env.prank(lenders[0]):
        note_id = book.fund(loan_id, UNIT)
    with boa.env.prank(borrower):
        book.cancel(loan_id)
    with boa.env.prank(lenders[1]), boa.reverts("note: not owner or approved"):
        book.refund(note_id)


# --------------------------------------------------------------------------- disburse


def test_disburse_after_review_pays_principal_minus_fee(book, make_loan, fund_fully, borrower, stablecoin):
    loan_id = make_loan(principal=1_000 * UNIT)
    fund_fully(loan_id)
    with boa.reverts("loanbook: in review"):
        book.disburse(loan_id)
    boa.env.time_travel(seconds=T.review_seconds)
    before = stablecoin.balanceOf(borrower)
    book.disburse(loan_id)
    event = events(book, "LoanDisbursed")[0]
    fee = 1_000 * UNIT * T.origination_fee_bps // 10_000
    assert stablecoin.balanceOf(borrower) - before == 1_000 * UNIT - fee
    assert book.reserve(stablecoin.address) == fee * T.reserve_share_bps // 10_000
    assert book.fees(stablecoin.address) == fee - fee * T.reserve_share_bps // 10_000
    assert book.held(stablecoin.address) == 0
    loan = book.loan(loan_id)
    assert loan.status == ACTIVE and loan.start == boa.env.evm.patch.timestamp
    assert (event.amount, event.origination_fee, event.annuity) == (1_000 * UNIT - fee, fee, loan.annuity)
    with boa.reverts("loanbook: not funded"):
        book.disburse(loan_id)


# --------------------------------------------------------------------------- repay


def _schedule(book, loan_id):
    loan = book.loan(loan_id)
    return schedule_int(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)


def test_repay_each_installment_on_time_then_repaid(book, active_loan, borrower, stablecoin, lens):
    loan_id, _ = active_loan()
    rows = _schedule(book, loan_id)
    paid_total = 0
    for k, (_, part, interest) in enumerate(rows, start=1):
        boa.env.time_travel(seconds=30 * DAY)
        due = lens.amount_due(loan_id)
        assert due.past_due == part + interest and due.penalty == 0
        with boa.env.prank(borrower):
            assert book.repay(loan_id, part + interest) == part + interest
        paid_total += part + interest
        event = events(book, "Repayment")[0]
        assert (event.principal, event.interest, event.penalty) == (part, interest, 0)
        assert event.next_installment == k + 1
    assert book.loan(loan_id).status == REPAID
    assert paid_total == 1_000 * UNIT + sum(interest for _, _, interest in rows)
    with boa.env.prank(borrower), boa.reverts("loanbook: not active"):
        book.repay(loan_id, 1)


def test_waterfall_interest_before_principal_oldest_first(book, active_loan, borrower, lens):
    loan_id, _ = active_loan()
    (_, p1, i1), (_, p2, i2) = _schedule(book, loan_id)[:2]
    boa.env.time_travel(seconds=60 * DAY)  # both installments due; the first is late
    penalty = lens.amount_due(loan_id).penalty
    assert penalty > 0
    with boa.env.prank(borrower):
        book.repay(loan_id, penalty + i1 - 5)
    assert events(book, "Repayment")[0].penalty == penalty
    state = book.ledger(loan_id)
    assert (state.cursor, state.interest_paid_current, state.principal_paid_current) == (1, i1 - 5, 0)
    with boa.env.prank(borrower):
        book.repay(loan_id, 5 + p1 + i2 + 7)  # rest of #1, then #2's interest, then 7 of its principal
    event = events(book, "Repayment")[0]
    assert (event.interest, event.principal) == (5 + i2, p1 + 7)
    state = book.ledger(loan_id)
    assert (state.cursor, state.interest_paid_current, state.principal_paid_current) == (2, i2, 7)


def test_overpayment_takes_only_what_is_owed(book, active_loan, borrower, stablecoin, lens):
    loan_id, _ = active_loan(installments=3, method=EQUAL_PRINCIPAL)
    boa.env.time_travel(seconds=45 * DAY)
    owed = lens.amount_due(loan_id).payoff
    before = stablecoin.balanceOf(borrower)
    with boa.env.prank(borrower):
        assert book.repay(loan_id, owed * 2) == owed
    assert before - stablecoin.balanceOf(borrower) == owed
    assert book.loan(loan_id).status == REPAID


def test_anyone_may_repay_for_the_borrower(book, active_loan, lenders, borrower, stablecoin):
    loan_id, _ = active_loan()
    before = stablecoin.balanceOf(borrower)
    with boa.env.prank(lenders[4]):
        book.repay(loan_id, 10 * UNIT)
    assert events(book, "Repayment")[0].payer == lenders[4]
    assert stablecoin.balanceOf(borrower) == before


def test_service_fee_taken_on_interest_only(book, active_loan, borrower, stablecoin):
    loan_id, _ = active_loan()
    _, part, interest = _schedule(book, loan_id)[0]
    boa.env.time_travel(seconds=30 * DAY)
    reserve0, fees0 = book.reserve(stablecoin.address), book.fees(stablecoin.address)
    with boa.env.prank(borrower):
        book.repay(loan_id, part + interest)
    fee = interest * T.service_fee_bps // 10_000
    event = events(book, "Repayment")[0]
    assert event.fee_treasury + event.fee_reserve == fee
    assert event.to_noteholders == part + interest - fee
    assert book.reserve(stablecoin.address) - reserve0 == event.fee_reserve
    assert book.fees(stablecoin.address) - fees0 == event.fee_treasury


def test_bullet_has_nothing_due_until_maturity(book, active_loan, borrower, lens):
    loan_id, _ = active_loan(installments=6, method=BULLET)
    boa.env.time_travel(seconds=5 * 30 * DAY + 29 * DAY)
    due = lens.amount_due(loan_id)
    assert due.past_due == 0 and due.penalty == 0
    boa.env.time_travel(seconds=DAY + T.grace_seconds + DAY)
    due = lens.amount_due(loan_id)
    (_, part, interest) = _schedule(book, loan_id)[-1]
    assert due.past_due == part + interest and due.penalty > 0


# --------------------------------------------------------------------------- penalty


def test_no_penalty_inside_grace(book, active_loan, lens):
    loan_id, _ = active_loan()
    boa.env.time_travel(seconds=30 * DAY + T.grace_seconds)
    assert lens.amount_due(loan_id).penalty == 0


def test_penalty_accrues_linearly_after_grace(book, active_loan, borrower, lens):
    loan_id, _ = active_loan()
    _, part, interest = _schedule(book, loan_id)[0]
    late = 5 * DAY + 1_234
    boa.env.time_travel(seconds=30 * DAY + T.grace_seconds + late)
    expected = (part + interest) * T.penalty_bps_per_day * late // (10_000 * DAY)
    assert lens.amount_due(loan_id).penalty == expected
    with boa.env.prank(borrower):
        book.repay(loan_id, expected)  # the penalty is paid first
    event = events(book, "Repayment")[0]
    assert (event.penalty, event.interest, event.principal) == (expected, 0, 0)
    assert events(book, "PenaltyAccrued")[0].amount == expected
    assert lens.amount_due(loan_id).penalty == 0


def test_penalty_is_capped(book, active_loan, lens):
    loan_id, _ = active_loan(installments=1, period=30 * DAY, method=INTEREST_ONLY)
    boa.env.time_travel(seconds=30 * DAY + 20 * 365 * DAY)
    cap = 1_000 * UNIT * T.penalty_cap_bps // 10_000
    assert lens.amount_due(loan_id).penalty == cap


def test_penalty_follows_partial_payments(book, active_loan, borrower, lens):
    """Penalty integrates the unpaid amount over time: paying half halves the rate."""
    loan_id, _ = active_loan()
    _, part, interest = _schedule(book, loan_id)[0]
    owed = part + interest
    boa.env.time_travel(seconds=30 * DAY + T.grace_seconds + 2 * DAY)
    first = owed * T.penalty_bps_per_day * 2 * DAY // (10_000 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, first + owed // 2)
    boa.env.time_travel(seconds=2 * DAY)
    unpaid = owed - owed // 2
    assert lens.amount_due(loan_id).penalty == unpaid * T.penalty_bps_per_day * 2 * DAY // (10_000 * DAY)


# --------------------------------------------------------------------------- repay in full


def test_repay_in_full_charges_interest_to_date(book, active_loan, borrower, stablecoin, lens):
    loan_id, note_ids = active_loan()
    _, _, interest1 = _schedule(book, loan_id)[0]
    boa.env.time_travel(seconds=10 * DAY)
    payoff = lens.amount_due(loan_id).payoff
    assert payoff == 1_000 * UNIT + interest1 * 10 * DAY // (30 * DAY)
    before = stablecoin.balanceOf(borrower)
    with boa.env.prank(borrower):
        assert book.repay_in_full(loan_id) == payoff
    assert events(book, "LoanRepaid")[0].loan_id == loan_id
    assert before - stablecoin.balanceOf(borrower) == payoff
    assert book.loan(loan_id).status == REPAID


def test_repay_in_full_after_missed_installments(book, active_loan, borrower, lens):
    loan_id, _ = active_loan()
    rows = _schedule(book, loan_id)
    boa.env.time_travel(seconds=2 * 30 * DAY + 15 * DAY)
    due = lens.amount_due(loan_id)
    expected_interest = rows[0][2] + rows[1][2] + rows[2][2] * 15 // 30
    assert due.payoff == due.penalty + 1_000 * UNIT + expected_interest
    with boa.env.prank(borrower):
        book.repay_in_full(loan_id)
    event = events(book, "Repayment")[0]
    assert (event.principal, event.interest) == (1_000 * UNIT, expected_interest)


# --------------------------------------------------------------------------- default and reserve


def test_mark_default_needs_threshold(book, active_loan, stranger):
    loan_id, _ = active_loan()
    boa.env.time_travel(seconds=30 * DAY + T.default_after_seconds)
    with boa.env.prank(stranger), boa.reverts("loanbook: not in default"):
        book.mark_default(loan_id)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(stranger):
        book.mark_default(loan_id)
    assert book.loan(loan_id).status == DEFAULTED
    with boa.reverts("loanbook: not active"):
        book.mark_default(loan_id)


def test_default_reserve_cover_then_recoveries(
    book, active_loan, borrower, lenders, stablecoin, deployer, lens
):
    with boa.env.prank(deployer):
        stablecoin.mint(deployer, 100 * UNIT)
        stablecoin.approve(book.address, 100 * UNIT)
        book.deposit_reserve(stablecoin.address, 100 * UNIT)
    loan_id, note_ids = active_loan()
    reserve = book.reserve(stablecoin.address)
    boa.env.time_travel(seconds=30 * DAY + T.default_after_seconds + 1)
    book.mark_default(loan_id)
    defaulted = events(book, "LoanDefaulted")[0]
    record = book.default_record(loan_id)
    principal_outstanding = 1_000 * UNIT
    assert record.cover == min(reserve, principal_outstanding * T.coverage_bps // 10_000) == reserve
    assert (defaulted.cover, defaulted.debt) == (record.cover, record.debt)
    assert book.reserve(stablecoin.address) == 0
    # the cover is claimable by the noteholders pro rata
    acc = record.cover * ACC // (1_000 * UNIT)
    assert [book.claimable(n) for n in note_ids] == [book.note(n).share * acc // ACC for n in note_ids]
    # recoveries: noteholders until cover + recoveries = debt, then the reserve
    assert lens.amount_due(loan_id).payoff == record.debt
    with boa.env.prank(borrower):
        book.repay(loan_id, record.debt - record.cover)
    assert book.reserve(stablecoin.address) == 0
    with boa.env.prank(borrower):
        took = book.repay_in_full(loan_id)
    assert took == record.cover
    assert book.reserve(stablecoin.address) == record.cover
    assert book.default_record(loan_id).recovered == record.debt
    with boa.env.prank(borrower), boa.reverts("loanbook: nothing owed"):
        book.repay(loan_id, 1)
    total = 0
    for lender, note_id in zip(lenders, note_ids, strict=False):
        with boa.env.prank(lender):
            total += book.claim(note_id)
    assert record.debt - 3 <= total <= record.debt


# --------------------------------------------------------------------------- claims


def test_claims_are_pro_rata_and_pull_once(book, active_loan, borrower, lenders, stablecoin):
    loan_id, note_ids = active_loan()
    _, part, interest = _schedule(book, loan_id)[0]
    with boa.env.prank(borrower):
        book.repay(loan_id, part + interest)
    to_notes = events(book, "Repayment")[0].to_noteholders
    paid = []
    for lender, note_id in zip(lenders, note_ids, strict=False):
        before = stablecoin.balanceOf(lender)
        with boa.env.prank(lender):
            book.claim(note_id)
        paid.append(stablecoin.balanceOf(lender) - before)
        assert events(book, "Claimed")[0].amount == paid[-1]
        with boa.env.prank(lender), boa.reverts("loanbook: nothing to claim"):
            book.claim(note_id)
    shares = [book.note(n).share for n in note_ids]
    for amount, share in zip(paid, shares, strict=True):
        assert abs(amount - to_notes * share // 1_000 // UNIT) <= 1
    assert sum(paid) <= to_notes


def test_claim_needs_owner(book, active_loan, borrower, stranger):
    loan_id, note_ids = active_loan()
    with boa.env.prank(borrower):
        book.repay(loan_id, 10 * UNIT)
    with boa.env.prank(stranger), boa.reverts("note: not owner or approved"):
        book.claim(note_ids[0])


def test_repay_gas_does_not_grow_with_lenders(book, make_loan, fund_fully, borrower):
    def repay_gas(n):
        loan_id = make_loan()
        fund_fully(loan_id, n)
        boa.env.time_travel(seconds=T.review_seconds)
        book.disburse(loan_id)
        with boa.env.prank(borrower):
            book.repay(loan_id, 50 * UNIT)
        return book._computation.get_gas_used()

    repay_gas(1)  # warm the token's per-book storage so both measured calls start alike
    one, many = repay_gas(1), repay_gas(5)
    assert abs(one - many) <= one // 100
