"""Signed webhook delivery of reminders, with retries and a delivery log.

Exactly once per reminder and endpoint: a `reminder_delivery` row (unique on reminder id and
URL) is committed before the first attempt, and a reminder whose row exists is never planned
again, so restarts neither lose nor repeat it. Each row is retried with exponential backoff
(`risk_webhook_backoff` × 2^(attempts−1), at most `risk_webhook_backoff_max`) until the
endpoint answers 2xx, or `risk_webhook_max_attempts` attempts have failed (`failed`). The one
window left, a crash after the endpoint accepted a request but before `delivered` is committed,
repeats that request with the same `Peerlend-Delivery` id, so receivers dedupe on it.

Signature (`Peerlend-Signature: t=<unix>,v1=<hex>`): HMAC-SHA256 with `risk_webhook_secret`
over `"<t>.<body>"`, body being the exact bytes sent. Receivers recompute it and reject old `t`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time

import requests
from sqlalchemy import select
from sqlmodel import Session

from backend.core.views import as_of
from backend.risk.models import ReminderDelivery
from backend.risk.reminders import Reminder
from peerlend.retry import Backoff

log = logging.getLogger("peerlend.risk.webhooks")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: int | None = None) -> bool:
    """What a receiver does: recompute the signature and check its age."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or int(time.time())) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def enqueue(session: Session, reminders: list[Reminder], urls: list[str], now: int | None = None) -> int:
    """Records every (reminder, url) not yet in the log as pending; returns how many are new."""
    if not reminders or not urls:
        return 0
    now = int(time.time()) if now is None else now
    point = as_of(session)
    ids = [r.id for r in reminders]
    known = set()
    for i in range(0, len(ids), 500):
        known |= set(
            session.execute(
                select(ReminderDelivery.reminder_id, ReminderDelivery.url).where(
                    ReminderDelivery.reminder_id.in_(ids[i : i + 500])
                )
            ).all()
        )
    added = 0
    for reminder in reminders:
        for url in urls:
            if (reminder.id, url) in known:
                continue
            known.add((reminder.id, url))
            session.add(
                ReminderDelivery(
                    reminder_id=reminder.id,
                    url=url,
                    kind=reminder.kind,
                    account=reminder.account,
                    payload=reminder.payload(point.block, point.timestamp),
                    status=PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            added += 1
    session.commit()
    return added


def deliver_due(engine, settings, http: requests.Session | None = None, now: int | None = None) -> int:
    """One attempt for every pending delivery whose time has come; returns how many succeeded."""
    http = http or requests.Session()
    now = int(time.time()) if now is None else now
    delivered = 0
    with Session(engine, expire_on_commit=False) as session:
        rows = session.scalars(
            select(ReminderDelivery)
            .where(ReminderDelivery.status == PENDING, ReminderDelivery.next_attempt_at <= now)
            .order_by(ReminderDelivery.id)
        ).all()
        for row in rows:
            body = json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode()
            stamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "Peerlend-Delivery": row.reminder_id,
                "Peerlend-Event": row.kind,
                "Peerlend-Signature": signature(settings.risk_webhook_secret, stamp, body),
            }
            row.attempts += 1
            try:
                response = http.post(
                    row.url, data=body, headers=headers, timeout=settings.risk_webhook_timeout
                )
                row.last_status_code = response.status_code
                ok = 200 <= response.status_code < 300
                row.last_error = None if ok else f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                ok, row.last_error = False, f"{type(exc).__name__}: {exc}"[:500]
            if ok:
                row.status, row.delivered_at = DELIVERED, int(time.time())
                delivered += 1
            elif row.attempts >= settings.risk_webhook_max_attempts:
                row.status = FAILED
                log.warning(
                    "reminder %s to %s failed after %d attempts: %s",
                    row.reminder_id,
                    row.url,
                    row.attempts,
                    row.last_error,
                )
            else:
                delay = Backoff(
                    settings.risk_webhook_backoff, settings.risk_webhook_backoff_max, jitter=0
                ).delay(row.attempts)
                row.next_attempt_at = int(time.time() + delay + 0.999)
            session.add(row)
            session.commit()
    return delivered
