from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from backend.api.deps import Address, SessionDep
from backend.risk.calendar import feed

router = APIRouter(tags=["reminders"])


@router.get(
    "/accounts/{address}/calendar.ics",
    summary="还款提醒: the account's upcoming dues and overdue installments as an iCalendar feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def calendar(request: Request, session: SessionDep, address: Annotated[Address, Path()]) -> Response:
    body = feed(session, address, request.app.state.settings.risk_reminder_days)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="peerlend-{address}.ics"'},
    )
