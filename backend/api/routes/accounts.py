from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import func, select

from backend.api.deps import Address, AsOfDep, SessionDep
from backend.core.views import (
    GRADE_LETTERS,
    due_now,
    exposure,
    loan_summary,
    note_view,
    past_due,
    principal_outstanding,
    unrecovered,
)  # fmt: skip
from backend.db.models import Claim, Event, EventAccount, Identity, Loan, Note, Score
from peerlend import loanmath

router = APIRouter(tags=["accounts"])


def _sum_by_token(pairs) -> dict[str, str]:
    totals: dict[str, int] = {}
    for token, amount in pairs:
        totals[token] = totals.get(token, 0) + amount
    return {token: str(amount) for token, amount in sorted(totals.items())}


@router.get("/accounts/{address}", summary="An account as borrower and as lender, with KYC and score history")
def get_account(session: SessionDep, point: AsOfDep, address: Annotated[Address, Path()]) -> dict:
    now = point.timestamp

    # As borrower.
    loans = session.scalars(select(Loan).where(Loan.borrower == address).order_by(Loan.id)).all()
    owing = [loan for loan in loans if loan.status in ("ACTIVE", "DEFAULTED")]
    dues = {loan.id: due_now(loan, now) for loan in owing}
    borrower = {
        "loans": [loan_summary(loan, now) for loan in loans],
        "borrowed": _sum_by_token(
            (loan.token, loan.principal) for loan in loans if loan.disbursed_at is not None
        ),
        "principal_outstanding": _sum_by_token((loan.token, principal_outstanding(loan)) for loan in owing),
        "exposure": _sum_by_token((loan.token, exposure(loan)) for loan in loans),
        "payoff": _sum_by_token((loan.token, dues[loan.id].payoff) for loan in owing),
        "past_due": _sum_by_token((loan.token, past_due(loan, dues[loan.id])) for loan in owing),
        "scores": [
            {
                "score": row.score,
                "grade": row.grade,
                "grade_letter": GRADE_LETTERS.get(row.grade),
                "model": row.model,
                "expires_at": row.expires_at,
                "block_number": row.block_number,
                "timestamp": row.timestamp,
            }
            for row in session.scalars(select(Score).where(Score.account == address).order_by(Score.event_id))
        ],
    }

    # As lender: notes it owns now (bought ones included), and what it received.
    owned = session.scalars(select(Note).where(Note.owner == address).order_by(Note.id)).all()
    funded = session.scalars(select(Note).where(Note.lender == address).order_by(Note.id)).all()
    loan_ids = {note.loan_id for note in (*owned, *funded)}
    by_id = (
        {loan.id: loan for loan in session.scalars(select(Loan).where(Loan.id.in_(loan_ids)))}
        if loan_ids
        else {}
    )
    outstanding, claimable, realised = [], [], []
    for note in owned:
        loan = by_id[note.loan_id]
        credited = note.share * loan.acc_per_share // loanmath.ACC_SCALE
        claimable.append((loan.token, loanmath.claimable(note.share, loan.acc_per_share, note.claimed)))
        if loan.status == "ACTIVE":
            outstanding.append((loan.token, note.share * loan.principal_outstanding // loan.principal))
            returned = note.share * loan.principal_paid // loan.principal
            realised.append((loan.token, credited - returned))
        elif loan.status == "DEFAULTED" and unrecovered(loan):
            outstanding.append((loan.token, note.share * loan.default_principal // loan.principal))
            realised.append((loan.token, credited - note.share))
        elif loan.status in ("REPAID", "DEFAULTED"):
            # Repaid: all principal came back. Defaulted: what did not come back is lost.
            realised.append((loan.token, credited - note.share))
        elif loan.status in ("OPEN", "FUNDED"):
            outstanding.append((loan.token, note.share))
    received_rows = session.execute(
        select(Loan.token, Claim.amount).join(Loan, Loan.id == Claim.loan_id).where(Claim.owner == address)
    ).all()
    refunds = session.scalars(
        select(Event).where(Event.contract == "LoanBook", Event.name == "NoteRefunded", Event.id.in_(
            select(EventAccount.event_id).where(EventAccount.address == address)
        ))
    ).all()  # fmt: skip
    refunded = [
        (_token_of_note(session, int(event.args["note_id"])), int(event.args["amount"]))
        for event in refunds
        if event.args["owner"] == address
    ]
    realised_map = {}
    for token, amount in realised:
        realised_map[token] = realised_map.get(token, 0) + amount
    lender = {
        "notes": [note_view(note, by_id[note.loan_id]) for note in owned],
        "funded_notes": [note.id for note in funded],
        "invested": _sum_by_token((by_id[n.loan_id].token, n.amount) for n in funded),
        "lent": _sum_by_token(
            (by_id[n.loan_id].token, n.amount) for n in funded if by_id[n.loan_id].disbursed_at is not None
        ),
        "principal_outstanding": _sum_by_token(outstanding),
        "received": _sum_by_token((token, amount) for token, amount in received_rows),
        "refunded": _sum_by_token(refunded),
        "claimable": _sum_by_token(claimable),
        "realised_return": {token: str(amount) for token, amount in sorted(realised_map.items())},
    }

    identity = session.get(Identity, address)
    kyc = {
        "verified": bool(identity and identity.identity_hash and now < identity.kyc_expires_at),
        "identity_hash": identity.identity_hash if identity else None,
        "expires_at": identity.kyc_expires_at if identity and identity.identity_hash else None,
        "attested_at": identity.attested_at if identity else None,
        "revoked_at": identity.revoked_at if identity else None,
        "blocked": bool(identity and identity.blocked),
        "blocked_changed_at": identity.blocked_changed_at if identity else None,
    }
    events = session.scalar(
        select(func.count()).select_from(EventAccount).where(EventAccount.address == address)
    )
    return {
        "address": address,
        "as_of": point.as_dict(),
        "kyc": kyc,
        "borrower": borrower,
        "lender": lender,
        "event_count": events,
        "is_known": bool(loans or owned or funded or identity or borrower["scores"] or events),
        "roles": [role for role, used in (("borrower", loans), ("lender", owned or funded)) if used],
    }


def _token_of_note(session, note_id: int) -> str:
    note = session.get(Note, note_id)
    return session.get(Loan, note.loan_id).token
