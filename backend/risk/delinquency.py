"""Delinquency: days past due, buckets, partial-payment streaks and bucket history.

A loan's **days past due** (DPD) at time t is the contract's rule (`backend.core.views`): whole
days since the oldest unpaid installment (the ledger cursor) fell due, 0 if it is not due yet.
The cursor only moves on `Repayment` events (to `next_installment`), so the cursor, and with it
the DPD, at any past time follows from the loan's repayments: bucket histories and roll rates
need no stored snapshots and are exact after a reorg replay.

Buckets (逾期分级): `current` (DPD 0), `1-30`, `31-60`, `61-90`, `default` (marked defaulted on
chain, or more than 90 DPD while not yet marked); a loan repaid in full is `repaid`.

A **partial payment** is a repayment after which the loan is still past due (it paid less than
what had fallen due); a loan's partial-payment streak counts its latest repayments that were
all partial. Rolling partial payments are the classic sign of a borrower who cannot keep up.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlmodel import Session

from backend.db.models import Loan, Note, Repayment
from backend.indexer.apply import loan_state
from peerlend import loanmath
from peerlend.vocabulary import DAY

BUCKETS = ("current", "1-30", "31-60", "61-90", "default")
REPAID = "repaid"
SEVERITY = {REPAID: -1, **{name: i for i, name in enumerate(BUCKETS)}}
# DPD at which each bucket after `current` starts.
BUCKET_STARTS = ((1, "1-30"), (31, "31-60"), (61, "61-90"), (91, "default"))


def bucket_of(dpd: int) -> str:
    name = "current"
    for start, bucket in BUCKET_STARTS:
        if dpd >= start:
            name = bucket
    return name


@dataclass
class LoanHistory:
    """A disbursed loan with its cursor path: [(time, cursor)], starting at disbursement."""

    loan: Loan
    repayments: list[Repayment]
    times: list[int] = field(default_factory=list)
    cursors: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, loan: Loan, repayments: list[Repayment]) -> LoanHistory:
        rows = sorted((r for r in repayments if r.kind == "repayment"), key=lambda r: r.event_id)
        state = replace(loan_state(loan), cursor=1, scheduled_remaining=loan.principal)
        history = cls(loan, rows, [loan.start], [loanmath.initial_cursor(state)])
        for row in rows:
            history.times.append(row.timestamp)
            history.cursors.append(row.next_installment)
        return history

    def cursor_at(self, t: int) -> int:
        return self.cursors[max(0, bisect_right(self.times, t) - 1)]

    def due_time(self, cursor: int) -> int:
        return self.loan.start + cursor * self.loan.period_seconds

    def dpd_at(self, t: int) -> int:
        """Days past due at time t as the loan stood then (0 once closed)."""
        if self.closed_by(t):
            return 0
        cursor = self.cursor_at(t)
        if cursor > self.loan.installments:
            return 0
        due = self.due_time(cursor)
        return (t - due) // DAY if t >= due else 0

    def closed_by(self, t: int) -> bool:
        return self.loan.closed_at is not None and self.loan.closed_at <= t

    def state_at(self, t: int) -> str | None:
        """The bucket (or `repaid`) at time t; None before disbursement."""
        if self.loan.disbursed_at is None or t < self.loan.disbursed_at:
            return None
        if self.closed_by(t):
            return "default" if self.loan.status == "DEFAULTED" else REPAID
        return bucket_of(self.dpd_at(t))

    def change_times(self, now: int) -> list[int]:
        """Every time at which the state can change, up to `now`."""
        points = {self.loan.disbursed_at, *self.times}
        if self.loan.closed_at is not None:
            points.add(self.loan.closed_at)
        for i, cursor in enumerate(self.cursors):
            begin = self.times[i]
            end = self.times[i + 1] if i + 1 < len(self.times) else now
            due = self.due_time(cursor)
            for start, _ in BUCKET_STARTS:
                if begin < due + start * DAY <= end:
                    points.add(due + start * DAY)
        return sorted(t for t in points if t is not None and t <= now)

    def timeline(self, now: int) -> list[dict]:
        """The bucket changes up to `now`: [{"time", "bucket"}], the first at disbursement."""
        out: list[dict] = []
        for t in self.change_times(now):
            state = self.state_at(t)
            if state is not None and (not out or out[-1]["bucket"] != state):
                out.append({"time": t, "bucket": state})
        return out

    def first_time_dpd(self, days: int, now: int) -> int | None:
        """When the loan first reached `days` DPD (or defaulted), if it has by `now`."""
        hits = []
        for i, cursor in enumerate(self.cursors):
            end = self.times[i + 1] if i + 1 < len(self.times) else now
            if self.loan.closed_at is not None:
                end = min(end, self.loan.closed_at)
            if cursor > self.loan.installments:
                continue
            t = self.due_time(cursor) + days * DAY
            if self.times[i] <= t <= end:
                hits.append(t)
                break
        if self.loan.status == "DEFAULTED" and self.loan.closed_at is not None and self.loan.closed_at <= now:
            hits.append(self.loan.closed_at)
        return min(hits) if hits else None

    def partial_flags(self) -> list[bool]:
        """Per repayment: did the loan remain past due right after it?"""
        flags = []
        for row in self.repayments:
            cursor = row.next_installment
            flags.append(cursor <= self.loan.installments and self.due_time(cursor) <= row.timestamp)
        return flags

    def partial_streak(self) -> int:
        streak = 0
        for flag in reversed(self.partial_flags()):
            if not flag:
                break
            streak += 1
        return streak


@dataclass
class Book:
    """The disbursed book at the last indexed block, loaded once per computation."""

    now: int
    loans: list[Loan]
    notes: list[Note]
    histories: dict[int, LoanHistory]

    @classmethod
    def load(cls, session: Session, now: int) -> Book:
        loans = session.scalars(select(Loan).order_by(Loan.id)).all()
        notes = session.scalars(select(Note).order_by(Note.id)).all()
        by_loan: dict[int, list[Repayment]] = defaultdict(list)
        for row in session.scalars(select(Repayment)):
            by_loan[row.loan_id].append(row)
        histories = {
            loan.id: LoanHistory.of(loan, by_loan.get(loan.id, []))
            for loan in loans
            if loan.disbursed_at is not None
        }
        return cls(now, list(loans), list(notes), histories)

    def disbursed(self) -> list[LoanHistory]:
        return list(self.histories.values())


def loan_risk(history: LoanHistory, now: int) -> dict:
    loan = history.loan
    timeline = history.timeline(now)
    previous = timeline[-2] if len(timeline) > 1 else None
    current = timeline[-1]
    due = loanmath.amount_due(loan_state(loan), now) if loan.status == "ACTIVE" else loanmath.Due()
    flags = history.partial_flags()
    return {
        "loan_id": loan.id,
        "token": loan.token,
        "grade": loan.grade,
        "status": loan.status,
        "days_past_due": history.dpd_at(now) if loan.status == "ACTIVE" else 0,
        "bucket": current["bucket"],
        "previous_bucket": previous["bucket"] if previous else None,
        "bucket_since": current["time"],
        "roll": _direction(previous["bucket"] if previous else None, current["bucket"]),
        "partial_payments": sum(flags),
        "partial_streak": history.partial_streak(),
        "past_due": str(due.past_due),
        "penalty": str(due.penalty),
        "principal_outstanding": str(loan.principal_outstanding if loan.status == "ACTIVE" else 0),
        "unrecovered": str(max(0, loan.default_debt - loan.recovered) if loan.status == "DEFAULTED" else 0),
        "timeline": timeline,
    }


def _direction(before: str | None, after: str) -> str | None:
    if before is None:
        return None
    if SEVERITY[after] > SEVERITY[before]:
        return "worse"
    return "better" if SEVERITY[after] < SEVERITY[before] else None


def is_watched(loan: Loan) -> bool:
    """Loans early warning follows: active ones and defaults not fully recovered."""
    return loan.status == "ACTIVE" or (loan.status == "DEFAULTED" and loan.recovered < loan.default_debt)


def borrowers(book: Book) -> list[dict]:
    """Per borrower with a watched loan: worst bucket now, its previous worst, the roll between
    them, the longest partial-payment streak, and each watched loan. Worst first."""
    by_borrower: dict[str, list[LoanHistory]] = defaultdict(list)
    for history in book.disbursed():
        if is_watched(history.loan):
            by_borrower[history.loan.borrower].append(history)
    out = []
    for borrower, histories in by_borrower.items():
        loans = [loan_risk(h, book.now) for h in histories]
        worst = _worst_timeline(histories, book.now)
        previous = worst[-2]["bucket"] if len(worst) > 1 else None
        out.append(
            {
                "borrower": borrower,
                "bucket": worst[-1]["bucket"],
                "previous_bucket": previous,
                "bucket_since": worst[-1]["time"],
                "roll": _direction(previous, worst[-1]["bucket"]),
                "days_past_due": max(loan["days_past_due"] for loan in loans),
                "partial_streak": max(loan["partial_streak"] for loan in loans),
                "delinquent": any(
                    loan["days_past_due"] > 0 or loan["status"] == "DEFAULTED" for loan in loans
                ),
                "loans": loans,
                "timeline": worst,
            }
        )
    out.sort(key=lambda row: (-SEVERITY[row["bucket"]], -row["days_past_due"], row["borrower"]))
    return out


def _worst_timeline(histories: list[LoanHistory], now: int) -> list[dict]:
    """The borrower's worst bucket over time, across their loans."""
    times = sorted({t for h in histories for t in h.change_times(now)})
    out: list[dict] = []
    for t in times:
        states = [s for s in (h.state_at(t) for h in histories) if s is not None]
        if not states:
            continue
        worst = max(states, key=SEVERITY.__getitem__)
        if worst == REPAID:
            worst = "current"
        if not out or out[-1]["bucket"] != worst:
            out.append({"time": t, "bucket": worst})
    return out
