"""Tests that kill mutants `make mutate` found surviving the rest of the contract suite.

Each test names the mutant(s) it kills (ids as in bench/results/mutation.md) and asserts the
behaviour the mutant changes, so it fails on the mutated contract and passes on the real one.
"""

from __future__ import annotations

import boa
import pytest

from tests.contracts.helpers import BULLET, DAY, EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, UNIT


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


# Terms exactly at each hard limit, and one step past it with the reason (loan_math._check_loan_terms,
# which the book's request_loan and the lens's calculator share).
_OK_TERMS = (1_000 * UNIT, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT)
_TERM_BOUNDS = [
    # (field index, value at the limit, value past it, reason)
    (0, 1, 0, "loanbook: zero principal"),
    (0, 10**30, 10**30 + 1, "loanbook: principal too large"),
    (1, 3_600, 3_601, "loanbook: apr too high"),
    (2, 1, 0, "loanbook: bad installments"),
    (2, 360, 361, "loanbook: bad installments"),
    (3, DAY, DAY - 1, "loanbook: bad period"),
    (4, BULLET, BULLET + 1, "loanbook: bad method"),
]


@pytest.mark.parametrize(("field", "at_limit", "past_limit", "reason"), _TERM_BOUNDS)
def test_loan_terms_are_accepted_up_to_each_limit_and_refused_past_it(lens, field, at_limit, past_limit, reason):
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
