from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import Address, AsOfDep, SessionDep
from backend.api.schemas import StatsOut
from backend.core import derive
from backend.core import stats as disclosure
from backend.db.models import Snapshot

router = APIRouter(tags=["stats"])


@router.get(
    "/stats",
    response_model=StatsOut,
    summary="信息披露: volume, outstanding, overdue buckets, default rate, reserve, fees; by grade and month",
    description=disclosure.__doc__,
)
def get_stats(session: SessionDep, point: AsOfDep, token: Annotated[Address | None, Query()] = None) -> dict:
    snapshot = session.get(Snapshot, "stats")
    # No snapshot: nothing indexed yet (all zeros), or an indexer from before snapshots that has
    # not polled since (it writes one on its first poll).
    body = snapshot.body if snapshot is not None else disclosure.stats(session)
    if token is not None:
        body = disclosure.for_token(body, token, derive.token_info(session))
    return {"as_of": point.as_dict(), **body}
