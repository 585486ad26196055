from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from backend.api.deps import MAX_INT, AsOfDep, SessionDep, not_found
from backend.api.routes.loans import event_out
from backend.api.schemas import NoteDetail
from backend.core.views import loan_summary, note_view
from backend.db.models import Claim, Event, Loan, Note

router = APIRouter(tags=["notes"])


def claim_out(row: Claim) -> dict:
    data = row.model_dump()
    data["amount"] = str(row.amount)
    return data


@router.get(
    "/notes/{note_id}", response_model=NoteDetail, summary="A note (债权): owner, share, claims, history"
)
def get_note(session: SessionDep, point: AsOfDep, note_id: Annotated[int, Path(ge=1, le=MAX_INT)]):
    note = session.get(Note, note_id)
    if note is None:
        raise not_found(f"note {note_id}")
    loan = session.get(Loan, note.loan_id)
    detail = note_view(note, loan)
    detail["as_of"] = point.as_dict()
    detail["loan"] = loan_summary(loan, point.timestamp)
    detail["claims"] = [
        claim_out(row)
        for row in session.scalars(select(Claim).where(Claim.note_id == note_id).order_by(Claim.event_id))
    ]
    detail["events"] = [
        event_out(event)
        for event in session.scalars(
            select(Event).where(Event.note_id == note_id).order_by(Event.block_number, Event.log_index)
        )
    ]
    return detail
