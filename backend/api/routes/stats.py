from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.api.deps import Address, AsOfDep, SessionDep
from backend.core import stats as disclosure

router = APIRouter(tags=["stats"])


@router.get(
    "/stats",
    summary="信息披露: volume, outstanding, overdue buckets, default rate, reserve, fees; by grade and month",
    description=disclosure.__doc__,
)
def get_stats(session: SessionDep, point: AsOfDep, token: Annotated[Address | None, Query()] = None) -> dict:
    return {"as_of": point.as_dict(), **disclosure.stats(session, point.timestamp, token)}
