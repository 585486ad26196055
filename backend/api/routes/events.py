from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from sqlalchemy import func, select

from backend.api.deps import MAX_INT, Address, SessionDep
from backend.api.routes.loans import event_out
from backend.api.schemas import EventOut, Page
from backend.db.models import Event, EventAccount

router = APIRouter(tags=["events"])

CSV_COLUMNS = (
    "id", "block_number", "block_timestamp", "tx_hash", "log_index", "contract", "address", "name", "loan_id",
    "note_id", "args",
)  # fmt: skip


class Contract(StrEnum):
    LoanBook = "LoanBook"
    LoanNote = "LoanNote"
    IdentityRegistry = "IdentityRegistry"
    CreditOracle = "CreditOracle"


@router.get(
    "/events",
    response_model=Page[EventOut],
    summary="Audit log of every indexed event",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV with format=csv"}},
)
def list_events(
    session: SessionDep,
    contract: Annotated[Contract | None, Query()] = None,
    name: Annotated[str | None, Query(max_length=64, description="Event name, e.g. Repayment")] = None,
    from_block: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    to_block: Annotated[int | None, Query(ge=0, le=MAX_INT)] = None,
    account: Annotated[Address | None, Query(description="Any address the event names")] = None,
    loan_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    note_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    format: Annotated[Literal["json", "csv"], Query(description="csv: the same rows as CSV")] = "json",
    limit: Annotated[int, Query(ge=1, le=10_000, description="Page size (1–10000)")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
):
    if from_block is not None and to_block is not None and from_block > to_block:
        raise HTTPException(status_code=422, detail="from_block must not be greater than to_block")
    query = select(Event)
    if contract is not None:
        query = query.where(Event.contract == contract.value)
    if name is not None:
        query = query.where(Event.name == name)
    if from_block is not None:
        query = query.where(Event.block_number >= from_block)
    if to_block is not None:
        query = query.where(Event.block_number <= to_block)
    if account is not None:
        query = query.where(
            Event.id.in_(select(EventAccount.event_id).where(EventAccount.address == account))
        )
    if loan_id is not None:
        query = query.where(Event.loan_id == loan_id)
    if note_id is not None:
        query = query.where(Event.note_id == note_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    keys = (Event.block_number, Event.log_index)
    ordered = query.order_by(*(key.desc() if order == "desc" else key.asc() for key in keys))
    rows = [event_out(event) for event in session.scalars(ordered.limit(limit).offset(offset))]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "args": json.dumps(row["args"], sort_keys=True, separators=(",", ":"))})
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"X-Total-Count": str(total), "Content-Disposition": 'attachment; filename="events.csv"'},
        )
    return {"items": rows, "total": total, "limit": limit, "offset": offset}
