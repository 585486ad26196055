"""Tests that kill mutants `make mutate` found surviving the rest of the contract suite.

Each test names the mutant(s) it kills (ids as in bench/results/mutation.md) and asserts the
behaviour the mutant changes, so it fails on the mutated contract and passes on the real one.
"""

from __future__ import annotations

import boa

from tests.contracts.helpers import DAY, EQUAL_PRINCIPAL, UNIT


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
    """Kills LoanLens:amount_due:operator:80784f8c (`if k == state.cursor:` -> `!=` in the
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
    assert book.ledger(loan_id).cursor == 1
    due = lens.amount_due(loan_id)
    assert due.penalty == 0
    assert due.past_due == due.next_due_amount == owed - owed // 3
    with boa.env.prank(borrower):
        assert book.repay(loan_id, due.past_due) == due.past_due
    state = book.ledger(loan_id)
    assert (state.cursor, state.interest_paid_current, state.principal_paid_current) == (2, 0, 0)
    assert lens.amount_due(loan_id).past_due == 0
