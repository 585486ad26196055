"""Loans, notes and accounts as the API shows them, computed as of the last indexed block.

"Now" is the timestamp of the last indexed block, not the wall clock: the same rule the
contract's views apply with `block.timestamp`, so an OPEN loan past its funding deadline is
EXPIRED, and penalties, due amounts and days past due match the chain at that block.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from backend.core.vocabulary import LoanStatus, Method
from backend.db.models import Loan, Note, SyncState
from backend.indexer.apply import loan_state
from peerlend import loanmath, vocabulary
from peerlend.vocabulary import DAY, GRADE_LETTERS
from peerlend.vocabulary import TERMS_FIELDS as TERMS

# Loan rows store the status by name (`loan.status == "ACTIVE"`).
STATUSES = tuple(status.name for status in LoanStatus)
DISBURSED = tuple(status.name for status in LoanStatus if status in vocabulary.DISBURSED)


@dataclass(frozen=True)
class AsOf:
    chain_id: int | None
    block: int
    timestamp: int
    head: int

    def as_dict(self) -> dict:
        return {"block": self.block, "timestamp": self.timestamp}


def as_of(session: Session) -> AsOf:
    state = session.scalars(select(SyncState).limit(1)).first()
    if state is None:
        return AsOf(None, -1, 0, 0)
    return AsOf(state.chain_id, state.last_block, state.last_block_timestamp, state.head_block)


def effective_status(loan: Loan, now: int) -> str:
    """As the contract's `loan().status`: past its funding (OPEN) or disbursement (FUNDED)
    deadline a loan reads EXPIRED before anyone records it."""
    if loan.status == "OPEN" and now >= loan.funding_deadline:
        return "EXPIRED"
    if loan.status == "FUNDED" and now >= loan.review_ends_at + loan.disburse_seconds:
        return "EXPIRED"
    return loan.status


def due_now(loan: Loan, now: int) -> loanmath.Due:
    """The contract's `amount_due` for this loan at block time `now`."""
    if loan.status == "DEFAULTED":
        return loanmath.Due(payoff=loan.default_debt - loan.recovered)
    if loan.status != "ACTIVE":
        return loanmath.Due()
    return loanmath.amount_due(loan_state(loan), now)


def unrecovered(loan: Loan) -> bool:
    """A defaulted loan whose debt is not fully recovered (its principal still counts in the
    borrower's exposure, as on-chain)."""
    return loan.status == "DEFAULTED" and loan.recovered < loan.default_debt


def principal_outstanding(loan: Loan) -> int:
    """Principal not yet repaid: an active loan's, and a defaulted loan's principal at default
    until its debt is fully recovered (the amount the contract keeps in `exposure`)."""
    if loan.status == "ACTIVE":
        return loan.principal_outstanding
    if unrecovered(loan):
        return loan.default_principal
    return 0


def exposure(loan: Loan) -> int:
    """The loan's part of the contract's `exposure(borrower, token)`: principal of open (also
    past the deadline until the expiry is recorded) and funded loans, principal outstanding of
    active ones, and a defaulted loan's principal at default until the debt is fully recovered."""
    if loan.status in ("OPEN", "FUNDED"):
        return loan.principal
    return principal_outstanding(loan)


def past_due(loan: Loan, due: loanmath.Due) -> int:
    """Installments due and unpaid (penalty excluded); for a defaulted loan the whole remaining debt."""
    if loan.status == "DEFAULTED":
        return loan.default_debt - loan.recovered
    return due.past_due


def days_past_due(loan: Loan, now: int, due: loanmath.Due | None = None) -> int:
    """Whole days since the oldest unpaid installment fell due (0 if nothing is past due); a
    defaulted loan keeps counting until its debt is fully recovered."""
    if unrecovered(loan):
        return (now - (loan.start + loan.cursor * loan.period_seconds)) // DAY
    if loan.status != "ACTIVE":
        return 0
    due = due or due_now(loan, now)
    if due.past_due == 0:
        return 0
    return (now - (loan.start + loan.cursor * loan.period_seconds)) // DAY


def next_due_time(loan: Loan) -> int | None:
    """Due time of the oldest installment with anything unpaid; null unless the loan is ACTIVE
    (where the contract's `amount_due.next_due_time` is 0)."""
    if loan.status != "ACTIVE":
        return None
    return loan.start + loan.cursor * loan.period_seconds


def s(value: int | None) -> str | None:
    return None if value is None else str(value)


def loan_summary(loan: Loan, now: int, info: dict | None = None, due: loanmath.Due | None = None) -> dict:
    """The loan as lists show it, at block time `now` (`info`: TokenInfo rows by address)."""
    due = due or due_now(loan, now)
    status = effective_status(loan, now)
    token = (info or {}).get(loan.token)
    return {
        "id": loan.id,
        "borrower": loan.borrower,
        "token": loan.token,
        "token_symbol": token.symbol if token else None,
        "token_decimals": token.decimals if token else None,
        "grade": loan.grade,
        "grade_letter": GRADE_LETTERS.get(loan.grade),
        "score": loan.score,
        "principal": s(loan.principal),
        "apr_bps": loan.apr_bps,
        "installments": loan.installments,
        "period_seconds": loan.period_seconds,
        "method": Method(loan.method).name,
        "method_id": loan.method,
        "status": status,
        "status_id": int(LoanStatus[status]),
        "funded": s(loan.funded),
        "lender_count": loan.lender_count,
        "note_count": loan.note_count,
        "funding_deadline": loan.funding_deadline,
        "requested_at": loan.requested_at,
        "disbursed_at": loan.disbursed_at,
        "principal_outstanding": s(principal_outstanding(loan)),
        "next_due_time": next_due_time(loan),
        "next_due_amount": s(due.next_due_amount) if loan.status == "ACTIVE" else None,
        "past_due": s(past_due(loan, due)),
        "days_past_due": days_past_due(loan, now, due),
    }


def schedule_rows(loan: Loan, now: int) -> list[dict]:
    """Every installment with what was paid on it. Repayments are applied in order, each
    installment's interest then principal (the contract's waterfall), so `paid` sums to the
    principal and interest of the loan's Repayment events. `waived`: interest never owed because
    the loan was settled early (`repay_in_full` charges interest to date only) or defaulted (the
    debt is frozen at interest to date). A defaulted loan's recoveries are applied to its unpaid
    installments in order (penalty last): `recovered`, and status RECOVERED once nothing is left."""
    rows = loanmath.schedule(
        loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method
    )
    disbursed = loan.status in DISBURSED
    interest_left, principal_left = loan.interest_paid, loan.principal_paid
    owed: dict[int, int] = {}
    if loan.status == "DEFAULTED":
        owed = loanmath.owed_by_installment(loan_state(loan), loan.closed_at or now)
    recovered_left = loan.recovered
    out = []
    for row in rows:
        interest = min(row.interest, interest_left)
        principal = min(row.principal, principal_left)
        interest_left -= interest
        principal_left -= principal
        paid, waived, recovered = interest + principal, 0, 0
        due_time = loan.start + row.due_offset if disbursed else None
        if not disbursed:
            status = "NOT_DISBURSED"
        elif loan.status == "REPAID":
            waived = row.amount - paid
            status = "PAID" if waived == 0 else "SETTLED"
        elif row.k < loan.cursor:
            status = "PAID"
        elif loan.status == "DEFAULTED":
            still_owed = owed[row.k] - paid
            waived = row.amount - paid - still_owed
            recovered = min(still_owed, recovered_left)
            recovered_left -= recovered
            status = "RECOVERED" if recovered == still_owed else "DEFAULTED"
        elif due_time <= now:
            status = "OVERDUE"
        elif row.k == loan.cursor:
            status = "DUE"
        else:
            status = "SCHEDULED"
        out.append(
            {
                "installment": row.k,
                "due_offset": row.due_offset,
                "due_time": due_time,
                "principal": str(row.principal),
                "interest": str(row.interest),
                "amount": str(row.amount),
                "paid": str(paid),
                "paid_principal": str(principal),
                "paid_interest": str(interest),
                "waived": str(waived),
                "recovered": str(recovered),
                "unpaid": str(row.amount - paid - waived - recovered),
                "status": status,
                "days_overdue": (now - due_time) // DAY if status == "OVERDUE" else 0,
            }
        )
    return out


def loan_detail(session: Session, loan: Loan, now: int) -> dict:
    due = due_now(loan, now)
    detail = dict(loan.summary) if loan.summary else loan_summary(loan, now)
    detail.update(
        {
            "status_recorded": loan.status,
            "terms": {field: getattr(loan, field) for field in TERMS},
            "review_ends_at": loan.review_ends_at or None,
            "fully_funded_at": loan.fully_funded_at,
            "start": loan.start or None,
            "closed_at": loan.closed_at,
            "cancelled_by": loan.cancelled_by,
            "annuity": s(loan.annuity),
            "origination_fee": s(loan.origination_fee),
            "disbursed_amount": s(loan.disbursed_amount),
            "paid": {
                "principal": s(loan.principal_paid),
                "interest": s(loan.interest_paid),
                "penalty": s(loan.penalty_paid),
                "recovered": s(loan.recovered),
            },
            "amount_due": {
                "past_due": s(due.past_due),
                "penalty": s(due.penalty),
                "next_due_time": due.next_due_time or None,
                "next_due_amount": s(due.next_due_amount),
                "principal_outstanding": s(due.principal_outstanding),
                "payoff": s(due.payoff),
            },
            "ledger": {
                "cursor": loan.cursor,
                "scheduled_remaining": s(loan.scheduled_remaining),
                "interest_paid_current": s(loan.interest_paid_current),
                "principal_paid_current": s(loan.principal_paid_current),
                "penalty_owed": s(loan.penalty_owed),
                "penalty_charged": s(loan.penalty_charged),
                "accrued_until": loan.accrued_until,
                "acc_per_share": s(loan.acc_per_share),
                "distributed": s(loan.distributed),
            },
            "default": None
            if loan.status != "DEFAULTED"
            else {
                "debt": s(loan.default_debt),
                "principal": s(loan.default_principal),
                "cover": s(loan.default_cover),
                "recovered": s(loan.recovered),
            },
            "schedule": schedule_rows(loan, now),
        }
    )
    notes = session.scalars(select(Note).where(Note.loan_id == loan.id).order_by(Note.id)).all()
    detail["notes"] = [note_view(note, loan) for note in notes]
    return detail


def note_view(note: Note, loan: Loan) -> dict:
    return {
        "id": note.id,
        "loan_id": note.loan_id,
        "token": loan.token,
        "lender": note.lender,
        "owner": note.owner,
        "amount": s(note.amount),
        "share": s(note.share),
        "claimed": s(note.claimed),
        "claimable": s(loanmath.claimable(note.share, loan.acc_per_share, note.claimed)),
        "refunded": s(note.refunded),
        "transfers": note.transfers,
        "funded_at": note.funded_at,
        "burned": note.owner is None,
    }
