"""风控管理: early warning, AML alerts and the reminder delivery log (backend/risk).

Everything except the acknowledgement is read-only and a function of the database at the last
indexed block; the book's risk views are computed once per indexed block and cached.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from backend.api.deps import Address, AsOfDep, PageDep, SessionDep, not_found
from backend.core.vocabulary import GRADE_NAMES
from backend.risk import aml, cohorts, delinquency, drift
from backend.risk.delinquency import BUCKETS, Book
from backend.risk.models import ReminderDelivery, RiskTransferCursor

router = APIRouter(tags=["risk"])
_lock = threading.Lock()


def _cached(request: Request, block: int, key: tuple, compute):
    """`compute()` once per indexed block and key (the app keeps the newest block's results)."""
    with _lock:
        cache = getattr(request.app.state, "risk_cache", None)
        if cache is None or cache["block"] != block:
            cache = request.app.state.risk_cache = {"block": block, "values": {}}
        if key in cache["values"]:
            return cache["values"][key]
    value = compute()
    with _lock:
        if request.app.state.risk_cache["block"] == block:
            request.app.state.risk_cache["values"][key] = value
    return value


def _book(request: Request, session, point) -> Book:
    return _cached(request, point.block, ("book",), lambda: Book.load(session, point.timestamp))


def _settings(request: Request):
    return request.app.state.settings


def _page(items: list, page) -> dict:
    return {
        "items": items[page.offset : page.offset + page.limit],
        "total": len(items),
        "limit": page.limit,
        "offset": page.offset,
    }


Bucket = Literal["current", "1-30", "31-60", "61-90", "default"]


@router.get(
    "/risk/early-warning",
    summary="Early-warning summary: buckets, rolls to worse, drift and concentration warnings",
)
def early_warning(request: Request, session: SessionDep, point: AsOfDep) -> dict:
    def compute():
        book = _book(request, session, point)
        settings = _settings(request)
        rows = delinquency.borrowers(book)
        buckets = dict.fromkeys(BUCKETS, 0)
        for row in rows:
            buckets[row["bucket"]] += 1
        drift_rows = drift.drift(
            book, drift.pd_bands(settings), settings.risk_drift_margin, settings.risk_drift_min_loans
        )
        concentration = cohorts.concentration(
            book, settings.risk_top_n, settings.risk_concentration_warn_share
        )
        return {
            "as_of": point.as_dict(),
            "borrowers_by_bucket": buckets,
            "rolled_worse": [
                {
                    k: row[k]
                    for k in ("borrower", "previous_bucket", "bucket", "bucket_since", "days_past_due")
                }
                for row in rows
                if row["roll"] == "worse"
            ],
            "partial_payers": [
                {"borrower": row["borrower"], "partial_streak": row["partial_streak"]}
                for row in rows
                if row["partial_streak"] > 0
            ],
            "drift_warnings": [row for row in drift_rows if row["warning"]],
            "concentration_warnings": [
                {"token": entry["token"], **warning}
                for entry in concentration
                for warning in entry["warnings"]
            ],
        }

    return _cached(request, point.block, ("early-warning",), compute)


@router.get("/risk/borrowers", summary="Per borrower: days past due, bucket and roll, partial-payment streak")
def risk_borrowers(
    request: Request,
    session: SessionDep,
    point: AsOfDep,
    page: PageDep,
    bucket: Annotated[Bucket | None, Query(description="Only borrowers whose worst bucket is this")] = None,
    delinquent: Annotated[
        bool | None, Query(description="Only borrowers past due or defaulted (or only not)")
    ] = None,
) -> dict:
    rows = _cached(
        request, point.block, ("borrowers",), lambda: delinquency.borrowers(_book(request, session, point))
    )
    if bucket is not None:
        rows = [row for row in rows if row["bucket"] == bucket]
    if delinquent is not None:
        rows = [row for row in rows if row["delinquent"] == delinquent]
    return {"as_of": point.as_dict(), **_page(rows, page)}


@router.get("/risk/borrowers/{address}", summary="One borrower's delinquency: loans, buckets over time")
def risk_borrower(
    request: Request, session: SessionDep, point: AsOfDep, address: Annotated[Address, Path()]
) -> dict:
    rows = _cached(
        request, point.block, ("borrowers",), lambda: delinquency.borrowers(_book(request, session, point))
    )
    for row in rows:
        if row["borrower"] == address:
            return {"as_of": point.as_dict(), **row}
    raise not_found(f"borrower {address} with an active or unrecovered loan")


@router.get("/risk/vintages", summary="Vintage curves: cumulative default and 30+ DPD rate by months on book")
def risk_vintages(
    request: Request,
    session: SessionDep,
    point: AsOfDep,
    token: Annotated[Address | None, Query()] = None,
    grade: Annotated[
        Literal[(*GRADE_NAMES, "all")] | None, Query(description="'all': cohorts over every grade")
    ] = None,
) -> dict:
    rows = _cached(
        request, point.block, ("vintages",), lambda: cohorts.vintages(_book(request, session, point))
    )
    if token is not None:
        rows = [row for row in rows if row["token"] == token]
    if grade == "all":
        rows = [row for row in rows if row["grade"] is None]
    elif grade is not None:
        rows = [row for row in rows if row["grade_letter"] == grade]
    return {"as_of": point.as_dict(), "month_seconds": cohorts.MONTH, "cohorts": rows}


@router.get("/risk/roll-rates", summary="Roll-rate matrix between delinquency buckets")
def risk_roll_rates(
    request: Request,
    session: SessionDep,
    point: AsOfDep,
    period_days: Annotated[int, Query(ge=1, le=366, description="Days between snapshots")] = 30,
    token: Annotated[Address | None, Query(description="Only loans in this token")] = None,
    grade: Annotated[Literal[GRADE_NAMES] | None, Query(description="Only loans of this grade")] = None,
    origination_month: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Only loans disbursed in this UTC month (YYYY-MM)"
        ),
    ] = None,
) -> dict:
    number = "ABCDE".index(grade) + 1 if grade else None
    matrix = _cached(
        request,
        point.block,
        ("roll", period_days, token, number, origination_month),
        lambda: cohorts.roll_rates(
            _book(request, session, point),
            period_days * cohorts.DAY,
            token=token,
            grade=number,
            origination_month=origination_month,
        ),
    )
    return {"as_of": point.as_dict(), **matrix}


@router.get("/risk/concentration", summary="Largest borrowers' and lenders' shares of outstanding principal")
def risk_concentration(
    request: Request, session: SessionDep, point: AsOfDep, token: Annotated[Address | None, Query()] = None
) -> dict:
    settings = _settings(request)
    rows = _cached(
        request,
        point.block,
        ("concentration",),
        lambda: cohorts.concentration(
            _book(request, session, point), settings.risk_top_n, settings.risk_concentration_warn_share
        ),
    )
    if token is not None:
        rows = [row for row in rows if row["token"] == token]
    return {"as_of": point.as_dict(), "tokens": rows}


@router.get(
    "/risk/drift", summary="Model drift: observed 30+ DPD and default rates per grade against PD bands"
)
def risk_drift(request: Request, session: SessionDep, point: AsOfDep) -> dict:
    settings = _settings(request)
    rows = _cached(
        request,
        point.block,
        ("drift",),
        lambda: drift.drift(
            _book(request, session, point),
            drift.pd_bands(settings),
            settings.risk_drift_margin,
            settings.risk_drift_min_loans,
        ),
    )
    return {"as_of": point.as_dict(), "grades": rows}


# ---------------------------------------------------------------------------
# AML alerts
# ---------------------------------------------------------------------------


def _alerts(request: Request, session, point) -> list[dict]:
    # The transfer mirror trails the indexer by a monitor pass: it is part of the key. Only the
    # rules' output is cached; acknowledgements are read fresh.
    mirrored = tuple(session.execute(select(RiskTransferCursor.token, RiskTransferCursor.last_block)).all())
    found = _cached(
        request, point.block, ("alerts", mirrored), lambda: aml.alerts(session, _settings(request))
    )
    acks = {row.alert_id: row for row in session.scalars(select(aml.AlertAck))}
    return [
        {**alert, "ack": aml.ack_view(acks[alert["id"]]) if alert["id"] in acks else None} for alert in found
    ]


@router.get("/risk/alerts", summary="AML alerts with their evidence, newest first")
def list_alerts(
    request: Request,
    session: SessionDep,
    point: AsOfDep,
    page: PageDep,
    rule: Annotated[Literal[aml.RULES] | None, Query()] = None,  # type: ignore[valid-type]
    status: Annotated[Literal["open", "acknowledged", "all"], Query()] = "open",
    account: Annotated[Address | None, Query(description="Alerts naming this account")] = None,
) -> dict:
    rows = _alerts(request, session, point)
    if rule is not None:
        rows = [row for row in rows if row["rule"] == rule]
    if status != "all":
        rows = [row for row in rows if (row["ack"] is None) == (status == "open")]
    if account is not None:
        rows = [row for row in rows if account in row["accounts"]]
    return {"as_of": point.as_dict(), **_page(rows, page)}


@router.get("/risk/alerts/{alert_id}", summary="One AML alert")
def get_alert(
    request: Request, session: SessionDep, point: AsOfDep, alert_id: Annotated[str, Path(max_length=64)]
) -> dict:
    for row in _alerts(request, session, point):
        if row["id"] == alert_id:
            return {"as_of": point.as_dict(), **row}
    raise not_found(f"alert {alert_id}")


class AckIn(BaseModel):
    action: Literal["dismissed", "escalated", "blocklisted"] = Field(
        description="dismissed (no concern), escalated (investigation), blocklisted (account barred on chain)"
    )
    by: str = Field(min_length=1, max_length=100, description="The risk officer acknowledging")
    note: str = Field("", max_length=2_000)


@router.post("/risk/alerts/{alert_id}/ack", summary="Acknowledge an alert (risk officer; bearer token)")
def ack_alert(
    request: Request,
    session: SessionDep,
    point: AsOfDep,
    alert_id: Annotated[str, Path(max_length=64)],
    body: Annotated[AckIn, Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> dict:
    token = _settings(request).risk_operator_token
    if not token:
        raise HTTPException(403, "acknowledgements are disabled: set PEERLEND_RISK_OPERATOR_TOKEN")
    if not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "a valid 'Authorization: Bearer <operator token>' header is required")
    for alert in _alerts(request, session, point):
        if alert["id"] == alert_id:
            row = aml.acknowledge(session, alert, body.action, body.by, body.note)
            return {"as_of": point.as_dict(), **alert, "ack": aml.ack_view(row)}
    raise not_found(f"alert {alert_id}")


# ---------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------


@router.get(
    "/risk/monitor",
    summary="The risk monitor of this process: transfers mirrored, reminders planned and delivered",
)
def monitor_status(request: Request) -> dict:
    monitor = request.app.state.risk_monitor
    if monitor is None:
        return {"running": False}
    return {"running": True, **asdict(monitor.status)}


@router.get("/risk/reminders/deliveries", summary="The webhook delivery log of repayment reminders")
def list_deliveries(
    session: SessionDep,
    page: PageDep,
    account: Annotated[Address | None, Query()] = None,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
) -> dict:
    query = select(ReminderDelivery)
    if account is not None:
        query = query.where(ReminderDelivery.account == account)
    if status is not None:
        query = query.where(ReminderDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(ReminderDelivery.id.desc()).offset(page.offset).limit(page.limit)
    ).all()
    return {
        "items": [row.model_dump() for row in rows],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }
