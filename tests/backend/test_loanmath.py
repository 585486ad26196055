"""The Python port of the loan math equals the contract to the unit: `schedule` for arbitrary
terms, and `amount_due` for real loans at every block of their life."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.exceptions import ContractLogicError

from peerlend import loanmath
from peerlend.vocabulary import DAY


@st.composite
def terms(draw):
    installments = draw(st.integers(1, 360))
    period = draw(
        st.integers(
            loanmath.MIN_PERIOD_SECONDS,
            min(loanmath.MAX_PERIOD_SECONDS, loanmath.MAX_TERM_SECONDS // installments),
        )
    )
    principal = draw(st.one_of(st.integers(1, 10**9), st.integers(1, loanmath.MAX_PRINCIPAL)))
    return (
        principal,
        draw(st.integers(0, loanmath.MAX_APR_BPS)),
        installments,
        period,
        draw(st.integers(0, 3)),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=terms())
def test_schedule_equals_contract_view(chain, case):
    expected = chain.lens.functions.schedule(*case).call()
    rows = loanmath.schedule(*case)
    assert [(r.due_offset, r.principal, r.interest) for r in rows] == [tuple(r) for r in expected]
    assert sum(r.principal for r in rows) == case[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    principal=st.integers(-5, loanmath.MAX_PRINCIPAL * 2),
    apr=st.integers(0, 5_000),
    installments=st.integers(0, 400),
    period=st.sampled_from([0, DAY - 1, DAY, 30 * DAY, 366 * DAY, 367 * DAY]),
    method=st.integers(0, 6),
)
def test_validation_messages_equal_contract_reverts(chain, principal, apr, installments, period, method):
    try:
        loanmath.check_loan_terms(principal, apr, installments, period, method)
        ours = None
    except loanmath.TermsError as exc:
        ours = str(exc)
    if principal < 0:
        assert ours == "loanbook: zero principal"
        return
    try:
        chain.lens.functions.schedule(principal, apr, installments, period, method).call()
        theirs = None
    except ContractLogicError as exc:
        theirs = exc.message.removeprefix("execution reverted: ")
    assert ours == theirs


def state_at(chain, record, loan_id: int, block: int) -> loanmath.LoanState:
    book = chain.book.functions
    terms = book.loan_terms(loan_id).call(block_identifier=block)
    ledger = book.ledger(loan_id).call(block_identifier=block)
    return loanmath.LoanState(
        principal=record[3], apr_bps=record[4], installments=record[5], period_seconds=record[6], method=record[7],
        start=record[13], annuity=record[14], penalty_bps_per_day=terms[3], penalty_cap_bps=terms[4],
        grace_seconds=terms[6], cursor=ledger[0], scheduled_remaining=ledger[1], interest_paid_current=ledger[2],
        principal_paid_current=ledger[3], penalty_owed=ledger[4], penalty_charged=ledger[5], accrued_until=ledger[6],
        level=ledger[9], interest_from=ledger[10],
    )  # fmt: skip


def test_amount_due_equals_contract_at_every_block(chain):
    """For each loan active at a block: amount_due computed in Python from the ledger equals the
    contract's view at that block (penalty accrual, prepayment, partial installments, late periods)."""
    sc = chain.scenario
    book = chain.book.functions
    first = next(b for b in range(sc.end_block + 1) if chain.w3.eth.get_code(chain.book.address, b))
    compared = 0
    for block in range(first, sc.end_block + 1):
        timestamp = chain.w3.eth.get_block(block)["timestamp"]
        for loan_id in range(1, book.loan_count().call(block_identifier=block) + 1):
            record = book.loan(loan_id).call(block_identifier=block)
            if record[8] != 3:  # ACTIVE
                continue
            due = loanmath.amount_due(state_at(chain, record, loan_id, block), timestamp)
            on_chain = chain.lens.functions.amount_due(loan_id).call(block_identifier=block)
            assert tuple(vars(due).values()) == tuple(on_chain)
            compared += 1
    assert compared > 20


@pytest.mark.parametrize("method", range(4))
def test_initial_cursor_skips_empty_installments(method):
    state = loanmath.LoanState(
        principal=1_000, apr_bps=0, installments=5, period_seconds=30 * DAY, method=method, start=0,
        annuity=loanmath.annuity_payment(1_000, 0, 5, 30 * DAY), penalty_bps_per_day=0, penalty_cap_bps=0,
        grace_seconds=0, cursor=1, scheduled_remaining=1_000, interest_paid_current=0, principal_paid_current=0,
        penalty_owed=0, penalty_charged=0, accrued_until=0, level=loanmath.level_of(method, 1_000, 0, 5, 30 * DAY),
        interest_from=0,
    )  # fmt: skip
    # Interest-free INTEREST_ONLY and BULLET loans owe nothing until the last installment.
    assert loanmath.initial_cursor(state) == (5 if method in (2, 3) else 1)
