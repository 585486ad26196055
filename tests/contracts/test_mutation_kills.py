"""Tests that kill mutants `make mutate` found surviving the rest of the contract suite.

Each test names the mutant(s) it kills (ids as in bench/results/mutation.md) and asserts the
behaviour the mutant changes, so it fails on the mutated contract and passes on the real one.
"""

from __future__ import annotations

import boa
import pytest

from peerlend import loanmath
from tests.contracts.helpers import (
    ACTIVE,
    BULLET,
    DAY,
    EQUAL_INSTALLMENT,
    EQUAL_PRINCIPAL,
    INTEREST_ONLY,
    REPAID,
    UNIT,
    TermsParams,
    events,
)


def test_reserve_accepts_a_deposit_of_one_base_unit(book, stablecoin, lenders):
    """Kills LoanBook:deposit_reserve:constant (`amount > 0` -> `amount > 1`): the zero check
    rejects exactly zero, and the smallest real deposit still reaches the reserve."""
    token = stablecoin.address
    reserve, balance = book.reserve(token), stablecoin.balanceOf(book.address)
    with boa.env.prank(lenders[0]):
        book.deposit_reserve(token, 1)
    assert book.reserve(token) == reserve + 1
    assert stablecoin.balanceOf(book.address) == balance + 1
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: zero amount"):
        book.deposit_reserve(token, 0)


def test_lens_past_due_follows_the_schedule_over_several_missed_installments(book, lens, active_loan):
    """Kills LoanLens:amount_due:operator (`remaining -= part` -> `+=` in the past-due loop):
    with equal principal parts each installment's interest runs on the principal left after
    the earlier ones, so three missed installments owe exactly the schedule's first three."""
    principal, apr_bps, installments, period = 1_200 * UNIT, 2_400, 12, 30 * DAY
    loan_id, _ = active_loan(
        principal=principal, apr_bps=apr_bps, installments=installments, period=period, method=EQUAL_PRINCIPAL
    )
    boa.env.time_travel(seconds=3 * period)
    plan = lens.schedule(principal, apr_bps, installments, period, EQUAL_PRINCIPAL)
    expected = sum(row.principal + row.interest for row in plan[:3])
    assert plan[1].interest != plan[0].interest  # the interest does shrink with the principal
    due = lens.amount_due(loan_id)
    assert due.past_due == expected
    assert due.principal_outstanding == principal


def test_lens_past_due_after_a_partial_payment_is_what_settles_the_installment(
    book, lens, active_loan, borrower
):
    """Kills LoanLens:amount_due:operator:88a58183 (`if k == state.cursor:` -> `!=` in the
    past-due loop): what was already paid on the oldest unpaid installment comes off its past
    due amount, and paying exactly the quoted past due settles that installment."""
    loan_id, _ = active_loan()
    loan = book.loan(loan_id)
    first = lens.schedule(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)[
        0
    ]
    owed = first.principal + first.interest
    boa.env.time_travel(seconds=loan.period_seconds + DAY)  # the first installment is due, inside grace
    with boa.env.prank(borrower):
        book.repay(loan_id, owed // 3)
    due = lens.amount_due(loan_id)
    assert due.next_due_time == loan.start + loan.period_seconds and due.penalty == 0
    assert due.past_due == due.next_due_amount == owed - owed // 3
    with boa.env.prank(borrower):
        assert book.repay(loan_id, due.past_due) == due.past_due
    due = lens.amount_due(loan_id)
    assert due.next_due_time == loan.start + 2 * loan.period_seconds and due.past_due == 0


# Terms exactly at each hard limit, and one step past it with the reason (loan_math._check_loan_terms,
# which the book's request_loan and the lens's calculator share).
_OK_TERMS = (1_000 * UNIT, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT)
_TERM_BOUNDS = [
    # (field index, value at the limit, value past it, reason)
    (0, 1, 0, "loanbook: zero principal"),
    (0, 10**27, 10**27 + 1, "loanbook: principal too large"),
    (1, 3_600, 3_601, "loanbook: apr too high"),
    (2, 1, 0, "loanbook: bad installments"),
    (2, 360, 361, "loanbook: bad installments"),
    (3, DAY, DAY - 1, "loanbook: bad period"),
    (4, BULLET, BULLET + 1, "loanbook: bad method"),
]


@pytest.mark.parametrize(("field", "at_limit", "past_limit", "reason"), _TERM_BOUNDS)
def test_loan_terms_are_accepted_up_to_each_limit_and_refused_past_it(
    lens, field, at_limit, past_limit, reason
):
    """Kills the bound and constant mutants of loan_math._check_loan_terms (`principal <=
    MAX_PRINCIPAL` -> `<` among them): every limit is inclusive, and one step past it is refused
    with that limit's reason."""
    terms = list(_OK_TERMS)
    if field == 2:
        terms[3] = DAY  # 360 installments must fit in the term limit
    terms[field] = at_limit
    rows = lens.schedule(*terms)
    assert len(rows) == terms[2]
    assert sum(row.principal for row in rows) == terms[0]
    terms[field] = past_limit
    with boa.reverts(reason):
        lens.schedule(*terms)


def test_longest_period_and_longest_term_are_accepted(lens):
    """The period and term limits are inclusive too: one installment of 366 days, and 360
    installments that end exactly 3,660 days after disbursement."""
    longest_period, term = 366 * DAY, 3_660 * DAY
    assert len(lens.schedule(1_000 * UNIT, 1_200, 1, longest_period, EQUAL_INSTALLMENT)) == 1
    with boa.reverts("loanbook: bad period"):
        lens.schedule(1_000 * UNIT, 1_200, 1, longest_period + 1, EQUAL_INSTALLMENT)
    rows = lens.schedule(1_000 * UNIT, 1_200, 360, term // 360, EQUAL_PRINCIPAL)
    assert rows[-1].due_offset == term
    with boa.reverts("loanbook: term too long"):
        lens.schedule(1_000 * UNIT, 1_200, 360, term // 360 + 1, EQUAL_PRINCIPAL)


def test_penalty_over_several_late_installments_runs_on_each_ones_own_amount(
    book, lens, active_loan, borrower
):
    """Kills loan_math:_pending_penalty:dropped:f08f533b (`remaining -= part` dropped in the
    penalty loop): with equal principal parts each late installment's amount follows the
    schedule (its interest on the principal left after the earlier ones), and each accrues the
    daily rate from its own due date plus grace."""
    loan_id, _ = active_loan(method=EQUAL_PRINCIPAL)
    loan, terms = book.loan(loan_id), book.loan_terms(loan_id)
    rows = lens.schedule(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)
    boa.env.time_travel(seconds=2 * loan.period_seconds + terms.grace_seconds + 10 * DAY)
    now = boa.env.evm.patch.timestamp
    expected = 0
    for k, row in enumerate(rows[:2], start=1):
        late = now - (loan.start + k * loan.period_seconds + terms.grace_seconds)
        expected += (row.principal + row.interest) * terms.penalty_bps_per_day * late // (10_000 * DAY)
    assert rows[1].interest < rows[0].interest
    assert lens.amount_due(loan_id).penalty == expected
    with boa.env.prank(borrower):
        book.repay(loan_id, 1)  # accrues the penalty, then pays one unit of it
    assert events(book, "PenaltyAccrued")[0].amount == expected
    assert lens.amount_due(loan_id).penalty == expected - 1


@pytest.mark.parametrize("method", [EQUAL_INSTALLMENT, EQUAL_PRINCIPAL])
def test_prepayment_relevels_the_installments_left_as_a_fresh_schedule(
    book, lens, active_loan, borrower, method
):
    """Kills LoanBook:_waterfall:operator:e18f85bb (`installments + 1 - cursor` -> `+ cursor`
    in the level recomputed after a prepayment): after two installments paid on time and a
    principal prepayment in the third period, the ten installments left follow a fresh
    schedule of the principal left over ten installments (the third's interest runs from the
    prepayment only), and the loan is repaid on its original last due date."""
    loan_id, _ = active_loan(method=method)
    loan = book.loan(loan_id)
    for _ in range(2):
        boa.env.time_travel(seconds=loan.period_seconds)
        with boa.env.prank(borrower):
            book.repay(loan_id, lens.amount_due(loan_id).past_due)
    boa.env.time_travel(seconds=10 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, 200 * UNIT)  # the running installment's earned interest, then principal
    left = lens.amount_due(loan_id).principal_outstanding
    assert left < loan.principal * 10 // 12
    prepaid_at = boa.env.evm.patch.timestamp
    fresh = lens.schedule(left, loan.apr_bps, 10, loan.period_seconds, method)
    for k in range(3, loan.installments + 1):
        boa.env.time_travel(seconds=loan.start + k * loan.period_seconds - boa.env.evm.patch.timestamp)
        due = lens.amount_due(loan_id)
        assert due.next_due_time == loan.start + k * loan.period_seconds
        if k == 3:  # a full period's principal part, interest from the prepayment on
            interest = loanmath.period_interest(left, loan.apr_bps, due.next_due_time - prepaid_at)
            assert due.past_due == fresh[0].principal + interest
        else:
            assert due.past_due == fresh[k - 3].principal + fresh[k - 3].interest
        with boa.env.prank(borrower):
            book.repay(loan_id, due.past_due)
    assert book.loan(loan_id).status == REPAID


def test_payoff_after_part_of_an_installments_interest_was_paid_counts_only_the_rest(
    book, lens, active_loan, borrower, stablecoin
):
    """Kills loan_math:_payoff_parts:operator:81b0cd2d (`part_interest - paid` -> `+ paid`):
    paying off a loan whose due installment has part of its interest paid takes the principal
    plus the interest still unpaid, the paid part only once."""
    loan_id, _ = active_loan()
    loan = book.loan(loan_id)
    first = lens.schedule(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)[
        0
    ]
    boa.env.time_travel(seconds=loan.period_seconds)  # installment 1 due now; 2 has earned nothing yet
    paid = first.interest // 2
    with boa.env.prank(borrower):
        book.repay(loan_id, paid)
    assert lens.amount_due(loan_id).next_due_amount == first.principal + first.interest - paid
    expected = loan.principal + first.interest - paid
    assert lens.amount_due(loan_id).payoff == expected
    before = stablecoin.balanceOf(borrower)
    with boa.env.prank(borrower):
        assert book.repay_in_full(loan_id) == expected
    assert before - stablecoin.balanceOf(borrower) == expected
    assert book.loan(loan_id).status == REPAID


def test_a_defaulted_loan_takes_a_recovery_of_one_base_unit(book, active_loan, borrower, stranger):
    """Kills LoanBook:_recover:constant:a953b087 (`take > 0` -> `take > 1`): the smallest
    recovery is accepted and counted, down to the last unit of the debt; only a debt fully
    recovered says nothing is owed."""
    loan_id, _ = active_loan()
    loan, terms = book.loan(loan_id), book.loan_terms(loan_id)
    boa.env.time_travel(seconds=loan.period_seconds + terms.default_after_seconds + 1)
    with boa.env.prank(stranger):
        book.mark_default(loan_id)
    debt = book.default_record(loan_id).debt
    with boa.env.prank(borrower):
        assert book.repay(loan_id, 1) == 1
        assert book.repay(loan_id, debt - 2) == debt - 2
        assert book.repay(loan_id, 5) == 1  # only the last unit is owed
    assert book.default_record(loan_id).recovered == debt
    with boa.env.prank(borrower), boa.reverts("loanbook: nothing owed"):
        book.repay(loan_id, 1)


def test_a_note_of_one_base_unit_earns_and_claims_its_share(book, make_loan, lenders, stablecoin, borrower):
    """Kills LoanBook:_claimable:constant:41b396d2 (`share == 0` -> `share == 1`): the smallest
    note is credited pro rata like every other, so once the loan is repaid it can claim at
    least its principal back."""
    principal = 1_000 * UNIT
    loan_id = make_loan(principal=principal)
    with boa.env.prank(lenders[0]):
        big = book.fund(loan_id, principal - 1)
    with boa.env.prank(lenders[1]):
        small = book.fund(loan_id, 1)
    boa.env.time_travel(seconds=book.loan_terms(loan_id).review_seconds)
    book.disburse(loan_id)
    boa.env.time_travel(seconds=40 * DAY)
    with boa.env.prank(borrower):
        book.repay_in_full(loan_id)
    # Principal and interest net of fees come to between 1 and 2 per unit funded: the one-unit
    # note gets its unit back (the fraction is rounding dust that stays in the book).
    assert book.note(small).share == 1
    assert book.claimable(small) == 1
    assert principal - 1 < book.claimable(big) < 2 * (principal - 1)
    before = stablecoin.balanceOf(lenders[1])
    with boa.env.prank(lenders[1]):
        assert book.claim(small) == 1
    assert stablecoin.balanceOf(lenders[1]) - before == 1
    assert book.claimable(small) == 0


def test_repaying_zero_says_zero_amount_on_active_and_defaulted_loans(book, active_loan, borrower, stranger):
    """Kills LoanBook:repay:bound:faa3c25a (`amount > 0` -> `>= 0`): a zero payment is refused
    for what it is, before anything looks at what is owed."""
    loan_id, _ = active_loan()
    with boa.env.prank(borrower), boa.reverts("loanbook: zero amount"):
        book.repay(loan_id, 0)
    loan, terms = book.loan(loan_id), book.loan_terms(loan_id)
    boa.env.time_travel(seconds=loan.period_seconds + terms.default_after_seconds + 1)
    with boa.env.prank(stranger):
        book.mark_default(loan_id)
    with boa.env.prank(borrower), boa.reverts("loanbook: zero amount"):
        book.repay(loan_id, 0)


def test_the_smallest_penalty_rate_still_accrues(book, admin, make_loan, fund_fully, borrower, lens):
    """Kills loan_math:_pending_penalty:constant:3e8def1e (`penalty_bps_per_day == 0` -> `== 1`):
    a rate of one basis point a day charges its penalty; only a zero rate charges none."""
    with boa.env.prank(admin):
        book.set_params(TermsParams(penalty_bps_per_day=1).as_tuple())
    loan_id = make_loan()
    fund_fully(loan_id)
    boa.env.time_travel(seconds=book.loan_terms(loan_id).review_seconds)
    book.disburse(loan_id)
    loan, terms = book.loan(loan_id), book.loan_terms(loan_id)
    assert terms.penalty_bps_per_day == 1
    first = lens.schedule(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)[
        0
    ]
    late = 20 * DAY
    boa.env.time_travel(seconds=loan.period_seconds + terms.grace_seconds + late)
    expected = (first.principal + first.interest) * late // (10_000 * DAY)
    assert lens.amount_due(loan_id).penalty == expected > 0
    with boa.env.prank(borrower):
        book.repay(loan_id, expected)
    assert events(book, "Repayment")[0].penalty == expected


def test_an_installment_paid_in_pieces_takes_only_what_is_left_of_its_principal(
    book, lens, active_loan, borrower
):
    """Kills LoanBook:_waterfall:operator:bc9314b9 (`part - principal_paid_current` -> `+`) and
    loan_math:_payoff_parts:operator:04bb6072 and LoanBook:_pay:operator:32e7bdd4 (principal
    outstanding `remaining - paid` -> `+`, in the payoff and in the Repayment event):
    once part of a due installment's principal is paid, the payoff counts only the principal
    not yet paid, the next payment takes only the rest of the installment, settles it, and what
    is beyond prepays principal."""
    loan_id, _ = active_loan()
    loan = book.loan(loan_id)
    first = lens.schedule(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)[
        0
    ]
    boa.env.time_travel(seconds=loan.period_seconds)  # installment 1 due now, 2 has earned nothing
    half = first.principal // 2
    with boa.env.prank(borrower):
        book.repay(loan_id, first.interest + half)
    # The event carries the ledger after the payment: the indexer never re-derives it.
    assert events(book, "Repayment")[0].principal_outstanding == loan.principal - half
    due = lens.amount_due(loan_id)
    assert due.past_due == first.principal - half
    # Paying off now: the principal not yet paid, nothing more (1's interest is paid, 2's is 0).
    assert due.principal_outstanding == due.payoff == loan.principal - half
    extra = 10 * UNIT
    with boa.env.prank(borrower):
        assert book.repay(loan_id, first.principal - half + extra) == first.principal - half + extra
    repayment = events(book, "Repayment")[0]
    assert (repayment.interest, repayment.principal) == (0, first.principal - half + extra)
    assert repayment.principal_outstanding == loan.principal - first.principal - extra
    due = lens.amount_due(loan_id)
    assert due.next_due_time == loan.start + 2 * loan.period_seconds and due.past_due == 0
    assert due.principal_outstanding == loan.principal - first.principal - extra


def test_lens_quotes_the_last_installment_like_any_other(book, lens, active_loan, borrower):
    """Kills LoanLens:amount_due:bound:8bdaac7d (`cursor <= installments` -> `<`): while the
    last installment is the one running, the lens still names its due time and amount, and
    paying that amount on the due date repays the loan."""
    loan_id, _ = active_loan(installments=2)
    loan = book.loan(loan_id)
    rows = lens.schedule(loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method)
    boa.env.time_travel(seconds=loan.period_seconds)
    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).past_due)
    due = lens.amount_due(loan_id)
    assert due.next_due_time == loan.start + 2 * loan.period_seconds
    assert due.next_due_amount == rows[1].principal + rows[1].interest
    boa.env.time_travel(seconds=loan.period_seconds)
    with boa.env.prank(borrower):
        book.repay(loan_id, due.next_due_amount)
    assert book.loan(loan_id).status == REPAID


def test_a_prepayment_down_to_one_unit_leaves_the_loan_owing_that_unit_at_maturity(
    book, lens, active_loan, borrower, stranger
):
    """Kills LoanBook:_waterfall:constant:5a17be2e (`scheduled_remaining == 0` -> `== 1`) and
    LoanBook:_waterfall:dropped:ed8b0d70 (the cursor not moved past installments that owe
    nothing after a prepayment): an interest-only loan prepaid down to one base unit stays
    active; its interest now rounds to zero, so the only money due is that unit at maturity,
    and no earlier due date can put it in default."""
    loan_id, _ = active_loan(method=INTEREST_ONLY)
    loan, terms = book.loan(loan_id), book.loan_terms(loan_id)
    boa.env.time_travel(seconds=10 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).payoff - 1)
    due = lens.amount_due(loan_id)
    assert book.loan(loan_id).status == ACTIVE
    assert due.principal_outstanding == due.payoff == 1
    maturity = loan.start + loan.installments * loan.period_seconds
    assert (due.next_due_time, due.next_due_amount) == (maturity, 1)
    boa.env.time_travel(seconds=loan.period_seconds + terms.default_after_seconds)
    with boa.env.prank(stranger), boa.reverts("loanbook: not in default"):
        book.mark_default(loan_id)
    boa.env.time_travel(seconds=maturity - boa.env.evm.patch.timestamp)
    with boa.env.prank(borrower):
        assert book.repay(loan_id, 1) == 1
    assert book.loan(loan_id).status == REPAID


@pytest.mark.parametrize("principal", [100, 200])
def test_the_treasury_withdraws_a_single_unit_of_fees(
    book, admin, make_loan, fund_fully, treasury, borrower, stablecoin, principal
):
    """Kills LoanBook:withdraw_fees:constant:daf76c0e (`amount > 0` -> `amount > 1`) and
    LoanBook:_take_fee:constant:f3ca0941 (`fee == 0` -> `fee == 1`): a 1% origination fee of
    1 base unit goes to the treasury whole (half of it to the reserve rounds to 0), one of 2
    units is split 1 and 1; the treasury can withdraw its single unit, and only no fees at all
    says so."""
    token = stablecoin.address
    assert book.fees(token) == 0
    reserve, paid_out = book.reserve(token), stablecoin.balanceOf(borrower)
    loan_id = make_loan(principal=principal)
    fund_fully(loan_id, 1)
    boa.env.time_travel(seconds=book.loan_terms(loan_id).review_seconds)
    book.disburse(loan_id)
    fee = principal // 100
    assert stablecoin.balanceOf(borrower) - paid_out == principal - fee
    assert (book.fees(token), book.reserve(token) - reserve) == (1, fee - 1)
    before = stablecoin.balanceOf(treasury)
    with boa.env.prank(admin):
        assert book.withdraw_fees(token) == 1
    assert stablecoin.balanceOf(treasury) - before == 1
    with boa.env.prank(admin), boa.reverts("loanbook: no fees"):
        book.withdraw_fees(token)


def test_a_tiny_annuity_paid_on_schedule_is_repaid_when_its_last_unit_is_paid(
    book, make_loan, fund_fully, borrower, lens
):
    """Kills loan_math:_skip_settled:bound:6d793623 (`k > installments` -> `>=`): when the
    floors of a tiny annuity pay its principal off before the last installment, paying the
    installments on their due dates repays the loan with the last unit, without waiting for
    the (0, 0) installments after it."""
    principal, apr, n, period = 13, 3_600, 24, 60 * DAY
    loan_id = make_loan(principal=principal, apr_bps=apr, installments=n, period=period)
    fund_fully(loan_id, 1)
    boa.env.time_travel(seconds=book.loan_terms(loan_id).review_seconds)
    book.disburse(loan_id)
    rows = lens.schedule(principal, apr, n, period, EQUAL_INSTALLMENT)
    last = max(k for k, row in enumerate(rows, start=1) if row.principal + row.interest)
    assert last < n and sum(row.principal for row in rows[:last]) == principal
    start = book.loan(loan_id).start
    for k in range(1, last + 1):
        boa.env.time_travel(seconds=start + k * period - boa.env.evm.patch.timestamp)
        with boa.env.prank(borrower):
            book.repay(loan_id, lens.amount_due(loan_id).past_due)
    assert book.loan(loan_id).status == REPAID
    assert lens.amount_due(loan_id).payoff == 0


def test_a_loan_counts_every_note_minted_for_it(book, lens, make_loan, lenders, borrower):
    """Kills LoanBook:request_loan:constant:5bfa7a06 (`note_total=0` -> `1`) and
    LoanBook:fund:constant:5024a4db (`note_total += 1` -> `+= 0`): a new request has no notes,
    each funding adds one, and a refund keeps it counted, as the lens lists them."""
    loan_id = make_loan()
    assert book.loan(loan_id).note_total == 0
    minted = []
    for lender in lenders[:3]:
        with boa.env.prank(lender):
            minted.append(book.fund(loan_id, 100 * UNIT))
        assert book.loan(loan_id).note_total == len(minted)
    with boa.env.prank(borrower):
        book.cancel(loan_id)
    with boa.env.prank(lenders[0]):
        book.refund(minted[0])
    assert book.loan(loan_id).note_total == 3
    assert sorted(lens.loan_notes(loan_id, 0)) == minted


@pytest.mark.parametrize("funding", [3_600, 30 * DAY])
def test_the_funding_window_limits_are_inclusive(book, make_loan, lenders, funding):
    """Kills LoanBook:request_loan:bound:b004a01c (`funding_seconds <= MAX_FUNDING_SECONDS` ->
    `<`): a request may stay open exactly an hour or exactly 30 days, and funds until then."""
    loan_id = make_loan(funding=funding)
    assert book.loan(loan_id).funding_deadline == boa.env.evm.patch.timestamp + funding
    boa.env.time_travel(seconds=funding - 1)
    with boa.env.prank(lenders[0]):
        book.fund(loan_id, 100 * UNIT)
    boa.env.time_travel(seconds=1)
    with boa.env.prank(lenders[1]), boa.reverts("loanbook: funding closed"):
        book.fund(loan_id, 100 * UNIT)


def test_an_equal_installment_loan_records_and_logs_its_level_payment(book, active_loan):
    """Kills LoanBook:disburse:dropped:55323ac5 (`annuity = level` -> `pass`): the schedule
    runs on the ledger's level either way, so only the loan record and the LoanDisbursed event
    show the annuity; both must carry the level payment of an EQUAL_INSTALLMENT loan, and 0 for
    another method."""
    terms = {"principal": 1_000 * UNIT, "apr_bps": 1_200, "installments": 12, "period": 30 * DAY}
    loan_id, _ = active_loan(method=EQUAL_INSTALLMENT, **terms)
    logged = events(book, "LoanDisbursed")[0].annuity  # the disbursement's logs, before any other call
    payment = loanmath.annuity_payment(1_000 * UNIT, 1_200, 12, 30 * DAY)
    assert payment > 0
    assert logged == payment
    assert book.loan(loan_id).annuity == payment
    assert book.ledger(loan_id).level == payment

    other, _ = active_loan(method=EQUAL_PRINCIPAL, **terms)
    assert events(book, "LoanDisbursed")[0].annuity == 0
    assert book.loan(other).annuity == 0
