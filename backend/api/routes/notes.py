from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select

from backend.api.deps import MAX_INT, Address, AsOfDep, PageDep, SessionDep, not_found
from backend.api.routes.loans import event_out
from backend.api.schemas import NoteDetail, NoteOut, Page
from backend.core.views import loan_summary, note_view
from backend.db.models import Claim, Event, Loan, Note

router = APIRouter(tags=["notes"])


def claim_out(row: Claim) -> dict:
    data = row.model_dump()
    data["amount"] = str(row.amount)
    return data


@router.get("/notes", response_model=Page[NoteOut], summary="Notes, by current owner, first lender or loan")
def list_notes(
    session: SessionDep,
    page: PageDep,
    owner: Annotated[Address | None, Query(description="Current ERC-721 owner (buyers included)")] = None,
    lender: Annotated[Address | None, Query(description="The account that funded it")] = None,
    loan: Annotated[int | None, Query(ge=1, le=MAX_INT, description="Loan id")] = None,
):
    query = select(Note)
    if owner is not None:
        query = query.where(Note.owner == owner)
    if lender is not None:
        query = query.where(Note.lender == lender)
    if loan is not None:
        query = query.where(Note.loan_id == loan)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    notes = session.scalars(query.order_by(Note.id).limit(page.limit).offset(page.offset)).all()
    ids = {note.loan_id for note in notes}
    loans = {row.id: row for row in session.scalars(select(Loan).where(Loan.id.in_(ids)))} if ids else {}
    return {
        "items": [note_view(note, loans[note.loan_id]) for note in notes],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


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
