"""Live updates: every newly indexed event, and every reorg rollback, as Server-Sent Events.

A client (`new EventSource("/events/stream?loan=7")`) receives, from the moment it connects:
- `event: chain_event` for each newly indexed event matching its filters (`id:` is the event
  id, `data:` the event as `/events` serves it);
- `event: rollback` when the indexer rolled back a reorg (`data: {"to_block", "from_block"}`):
  events above `to_block` are gone (their ids may be reused), re-read what you show;
- `event: block` once per newly indexed block (`data: {"block", "timestamp"}`), after its events.

The stream follows `IndexedBlock` (the response cache's view of the indexed block: woken by the
in-process indexer's commits, else polled), and holds no database connection between pushes.
"""

from __future__ import annotations

import json
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse

from backend.api.deps import MAX_INT, Address
from backend.api.routes.loans import event_out
from backend.db.models import Event, EventAccount, SyncState
from peerlend.db import snapshot_reads

router = APIRouter(tags=["events"])
BATCH = 1_000


def _cursor(engine, below_block: int | None = None) -> int:
    """The newest event id (at or below `below_block`)."""
    with Session(engine) as session:
        query = select(func.max(Event.id))
        if below_block is not None:
            query = query.where(Event.block_number <= below_block)
        return session.scalar(query) or 0


def _since(
    engine, after: int, loan: int | None, note: int | None, account: str | None
) -> tuple[list[dict], int, dict]:
    """Events after id `after` matching the filters, the newest id seen, and the indexed block."""
    with Session(engine) as session:
        state = session.execute(select(SyncState.last_block, SyncState.last_block_timestamp)).first()
        newest = session.scalar(select(func.max(Event.id))) or 0
        query = select(Event).where(Event.id > after, Event.id <= newest)
        if loan is not None:
            query = query.where(Event.loan_id == loan)
        if note is not None:
            query = query.where(Event.note_id == note)
        if account is not None:
            query = query.where(
                Event.id.in_(select(EventAccount.event_id).where(EventAccount.address == account))
            )
        rows = [event_out(event) for event in session.scalars(query.order_by(Event.id).limit(BATCH))]
        if len(rows) == BATCH:
            newest = rows[-1]["id"]
        block = {"block": state[0], "timestamp": state[1]} if state else {"block": None, "timestamp": None}
        return rows, newest, block


def _reorg(engine) -> int | None:
    with Session(engine) as session:
        return session.scalar(select(SyncState.last_reorg_block))


@router.get(
    "/events/stream",
    summary="Server-Sent Events: each newly indexed event (filtered by loan, note, account) and each reorg rollback",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "event: chain_event | rollback | block"}
    },
)
async def stream_events(
    request: Request,
    loan: Annotated[int | None, Query(ge=1, le=MAX_INT, description="Only events of this loan")] = None,
    note: Annotated[int | None, Query(ge=1, le=MAX_INT, description="Only events of this note")] = None,
    account: Annotated[Address | None, Query(description="Only events naming this address")] = None,
):
    engine = snapshot_reads(request.app.state.engine)  # read-only: never waits for the indexer
    block = request.app.state.block
    if not block.running:
        raise HTTPException(
            status_code=503, detail="the event stream needs the server running (its lifespan)"
        )

    async def events():
        seen = block.marker
        after = await anyio.to_thread.run_sync(_cursor, engine)
        yield {"event": "hello", "data": json.dumps({"block": seen[1] if seen else None, "after": after})}
        while not await request.is_disconnected():
            marker = await block.wait_change(seen, timeout=5.0)
            if marker == seen:
                continue
            if seen and marker and marker[3] != seen[3]:
                ancestor = await anyio.to_thread.run_sync(_reorg, engine)
                yield {"event": "rollback", "data": json.dumps({"to_block": ancestor, "from_block": seen[1]})}
                after = await anyio.to_thread.run_sync(_cursor, engine, ancestor)
            seen = marker
            while True:
                rows, newest, indexed = await anyio.to_thread.run_sync(
                    _since, engine, after, loan, note, account
                )
                for row in rows:
                    yield {
                        "event": "chain_event",
                        "id": str(row["id"]),
                        "data": json.dumps(row, separators=(",", ":")),
                    }
                after = max(after, newest)
                if len(rows) < BATCH:
                    break
            yield {"event": "block", "data": json.dumps(indexed)}

    return EventSourceResponse(events(), ping=15)
