"""An account's dues as an iCalendar feed (RFC 5545), for any calendar app to subscribe to.

One event per unpaid installment of the account's ACTIVE loans, at its due time (UTC), with
an alarm N days before (each N of `risk_reminder_days`); an installment already past due is
titled OVERDUE and carries the past-due amount and the penalty as of the indexed block. UIDs
are stable (`loan-<id>-installment-<k>@peerlend`), so a calendar updates events in place when
the feed changes; DTSTAMP is the indexed block's time, so the feed is a function of the block.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event
from sqlalchemy import select
from sqlmodel import Session

from backend.core.views import as_of, due_now
from backend.db.models import Loan
from peerlend import loanmath


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def feed(session: Session, account: str, alarm_days: list[int]) -> bytes:
    point = as_of(session)
    now = point.timestamp
    cal = Calendar()
    cal.add("prodid", "-//Peerlend//repayment calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Peerlend dues of {account}")
    loans = session.scalars(
        select(Loan).where(Loan.borrower == account, Loan.status == "ACTIVE").order_by(Loan.id)
    ).all()
    for loan in loans:
        due = due_now(loan, now)
        rows = loanmath.schedule(
            loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method
        )
        for row in rows[loan.cursor - 1 :]:
            due_time = loan.start + row.due_offset
            unpaid = row.amount
            if row.k == loan.cursor:
                unpaid -= loan.interest_paid_current + loan.principal_paid_current
            overdue = due_time <= now
            event = Event()
            event.add("uid", f"loan-{loan.id}-installment-{row.k}@peerlend")
            event.add("dtstamp", _utc(now))
            event.add("dtstart", _utc(due_time))
            event.add("dtend", _utc(due_time) + timedelta(minutes=30))
            title = (
                f"loan #{loan.id} installment {row.k}/{loan.installments}: {unpaid} due (token {loan.token})"
            )
            event.add("summary", f"OVERDUE Peerlend {title}" if overdue else f"Peerlend {title}")
            lines = [
                f"Loan {loan.id}, installment {row.k} of {loan.installments}.",
                f"Amount due: {unpaid} base units of token {loan.token}.",
            ]
            if overdue:
                lines.append(
                    f"Past due on the loan as of block {point.block}: {due.past_due}; penalty {due.penalty}."
                )
            event.add("description", "\n".join(lines))
            event.add("categories", ["OVERDUE" if overdue else "DUE"])
            if not overdue:
                for n in alarm_days:
                    alarm = Alarm()
                    alarm.add("action", "DISPLAY")
                    alarm.add("description", f"Peerlend loan #{loan.id}: {unpaid} due in {n} days")
                    alarm.add("trigger", timedelta(days=-n))
                    event.add_component(alarm)
            cal.add_component(event)
    return cal.to_ical()
