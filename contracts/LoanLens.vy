# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Peerlend LoanLens
@custom:contract-name LoanLens
@license GNU Affero General Public License v3.0 only
@notice Read-only views over a LoanBook: the repayment schedule calculator,
        what a loan's borrower owes now (`amount_due`) and a loan's note ids.
        It holds no state beyond the book's address and computes with the same
        math module LoanBook charges with (contracts/lib/loan_math.vy), so a
        quote or an amount due is exactly what the book takes. Views live here
        to keep LoanBook well under the EIP-170 code size limit.
"""

from .lib import schedule_math
from .lib import loan_math


interface ILoanBook:
    def packed(loan_id: uint256) -> (uint256[loan_math.LOAN_WORDS], uint256[loan_math.LEDGER_WORDS]): view
    def default_record(loan_id: uint256) -> DefaultRecord: view
    def note(note_id: uint256) -> loan_math.Note: view


struct DefaultRecord:
    debt: uint256
    cover: uint256
    recovered: uint256
    principal: uint256


struct Installment:
    due_offset: uint256  # seconds after disbursement
    principal: uint256
    interest: uint256


struct Due:
    past_due: uint256  # installment amounts due by now and unpaid (penalty excluded)
    penalty: uint256  # penalty owed by now, including not yet recorded accrual
    next_due_time: uint256  # due time of the oldest installment with anything unpaid
    next_due_amount: uint256  # unpaid amount of that installment
    principal_outstanding: uint256
    payoff: uint256  # what `repay_in_full` would take now


# @dev LoanBook's hard limits, published here to keep the book's code small.
MAX_ORIGINATION_FEE_BPS: public(constant(uint256)) = loan_math.MAX_ORIGINATION_FEE_BPS
MAX_SERVICE_FEE_BPS: public(constant(uint256)) = loan_math.MAX_SERVICE_FEE_BPS
MAX_PENALTY_BPS_PER_DAY: public(constant(uint256)) = loan_math.MAX_PENALTY_BPS_PER_DAY
MAX_PENALTY_CAP_BPS: public(constant(uint256)) = loan_math.MAX_PENALTY_CAP_BPS
MAX_GRACE_SECONDS: public(constant(uint256)) = loan_math.MAX_GRACE_SECONDS
MAX_DEFAULT_AFTER_SECONDS: public(constant(uint256)) = loan_math.MAX_DEFAULT_AFTER_SECONDS
MIN_REVIEW_SECONDS: public(constant(uint256)) = loan_math.MIN_REVIEW_SECONDS
MAX_REVIEW_SECONDS: public(constant(uint256)) = loan_math.MAX_REVIEW_SECONDS
MIN_DISBURSE_SECONDS: public(constant(uint256)) = loan_math.MIN_DISBURSE_SECONDS
MAX_DISBURSE_SECONDS: public(constant(uint256)) = loan_math.MAX_DISBURSE_SECONDS
MAX_APR_BPS: public(constant(uint256)) = loan_math.MAX_APR_BPS
MAX_INSTALLMENTS: public(constant(uint256)) = loan_math.MAX_INSTALLMENTS
MIN_PERIOD_SECONDS: public(constant(uint256)) = loan_math.MIN_PERIOD_SECONDS
MAX_PERIOD_SECONDS: public(constant(uint256)) = loan_math.MAX_PERIOD_SECONDS
MAX_TERM_SECONDS: public(constant(uint256)) = loan_math.MAX_TERM_SECONDS
MIN_FUNDING_SECONDS: public(constant(uint256)) = loan_math.MIN_FUNDING_SECONDS
MAX_FUNDING_SECONDS: public(constant(uint256)) = loan_math.MAX_FUNDING_SECONDS
MAX_PRINCIPAL: public(constant(uint256)) = loan_math.MAX_PRINCIPAL

NOTES_PAGE: constant(uint256) = 256


# @dev The LoanBook this lens reads.
book: public(immutable(address))


@deploy
def __init__(book_: address):
    """
    @notice Binds the lens to one LoanBook.
    @param book_ The LoanBook address.
    """
    assert book_ != empty(address), "lens: zero book"
    book = book_


@external
@pure
def schedule(
    principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256, method: uint256
) -> DynArray[Installment, 360]:
    """
    @notice The full repayment schedule for the given terms: the same math a
            loan with these terms charges if every installment is paid on its
            due date (a prepayment recomputes the rest, see LoanBook.repay).
    @param principal Principal in token base units.
    @param apr_bps Annual rate in basis points.
    @param installments Number of installments (1 to 360).
    @param period_seconds Seconds between installments.
    @param method 0 EQUAL_INSTALLMENT, 1 EQUAL_PRINCIPAL, 2 INTEREST_ONLY, 3 BULLET.
    @return Installments with due offset from disbursement, principal and interest parts.
    """
    loan_math._check_loan_terms(principal, apr_bps, installments, period_seconds, method)
    level: uint256 = schedule_math._level(method, principal, apr_bps, installments, period_seconds)
    window: uint256 = period_seconds
    if method == schedule_math.BULLET:
        window = period_seconds * installments
    result: DynArray[Installment, 360] = []
    remaining: uint256 = principal
    for k: uint256 in range(1, 361):
        if k > installments:
            break
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = schedule_math._installment(
            method, level, apr_bps, installments, period_seconds, k, remaining, window
        )
        result.append(Installment(due_offset=k * period_seconds, principal=part, interest=interest))
        remaining -= part
    return result


@external
@view
def amount_due(loan_id: uint256) -> Due:
    """
    @notice What a borrower owes now: past-due installments, penalty so far,
            the next due time and amount, principal outstanding and the
            payoff that `repay_in_full` (or `repay` of that amount) would take.
    @param loan_id The loan id; reverts "loanbook: no such loan" otherwise.
    @return The amounts (all zero unless the loan is ACTIVE or DEFAULTED).
    """
    record: loan_math.Loan = empty(loan_math.Loan)
    state: loan_math.Ledger = empty(loan_math.Ledger)
    record, state = self._loan_and_ledger(loan_id)
    due: Due = empty(Due)
    if record.status == loan_math.DEFAULTED:
        debt: DefaultRecord = staticcall ILoanBook(book).default_record(loan_id)
        due.payoff = debt.debt - debt.recovered
        return due
    if record.status != loan_math.ACTIVE:
        return due

    terms: loan_math.Terms = loan_math._unpack_terms(record.terms)
    due.penalty = state.penalty_owed + loan_math._pending_penalty(record, terms, state)
    due.principal_outstanding = state.scheduled_remaining - state.principal_paid_current
    due.next_due_time = record.start + state.cursor * record.period_seconds

    k: uint256 = state.cursor
    remaining: uint256 = state.scheduled_remaining
    for _: uint256 in range(360):
        if k > record.installments:
            break
        if record.start + k * record.period_seconds > block.timestamp:
            break
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = loan_math._installment_at(record, state, k, remaining)
        unpaid: uint256 = part + interest
        if k == state.cursor:
            unpaid -= state.interest_paid_current + state.principal_paid_current
        due.past_due += unpaid
        remaining -= part
        k += 1

    if state.cursor <= record.installments:
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = loan_math._installment_at(record, state, state.cursor, state.scheduled_remaining)
        due.next_due_amount = part + interest - state.interest_paid_current - state.principal_paid_current

    interest_due: uint256 = 0
    principal_due: uint256 = 0
    interest_due, principal_due = loan_math._payoff_parts(record, state)
    due.payoff = due.penalty + interest_due + principal_due
    return due


@external
@view
def loan_notes(loan_id: uint256, before: uint256) -> DynArray[uint256, NOTES_PAGE]:
    """
    @notice A loan's note ids, newest first, up to 256 per page (refunded
            notes included; their share is 0). Each note links to the loan's
            previous one, so listing costs the book no storage of its own.
    @param loan_id The loan id; reverts "loanbook: no such loan" otherwise.
    @param before 0 for the first page, else the last id of the previous page.
    @return The note ids.
    """
    record: loan_math.Loan = empty(loan_math.Loan)
    state: loan_math.Ledger = empty(loan_math.Ledger)
    record, state = self._loan_and_ledger(loan_id)
    note_id: uint256 = record.last_note
    if before != 0:
        position: loan_math.Note = staticcall ILoanBook(book).note(before)
        assert position.loan_id == loan_id, "lens: note of another loan"
        note_id = position.previous
    result: DynArray[uint256, NOTES_PAGE] = []
    for _: uint256 in range(NOTES_PAGE):
        if note_id == 0:
            break
        result.append(note_id)
        note_id = (staticcall ILoanBook(book).note(note_id)).previous
    return result


@internal
@view
def _loan_and_ledger(loan_id: uint256) -> (loan_math.Loan, loan_math.Ledger):
    """
    @dev A loan and its ledger, unpacked from one `LoanBook.packed` read
         (which reverts "loanbook: no such loan" for an unknown id). The
         status is as stored.
    """
    loan_words: uint256[loan_math.LOAN_WORDS] = empty(uint256[loan_math.LOAN_WORDS])
    ledger_words: uint256[loan_math.LEDGER_WORDS] = empty(uint256[loan_math.LEDGER_WORDS])
    loan_words, ledger_words = staticcall ILoanBook(book).packed(loan_id)
    return loan_math._unpack_loan(loan_words), loan_math._unpack_ledger(ledger_words)
