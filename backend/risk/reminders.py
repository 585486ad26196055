"""Repayment reminders (还款提醒) due at the indexed block.

Each reminder has a stable id naming the thing it is about, so it is sent once however often
it is planned (the delivery log is keyed on the id):

| kind | to | when | id |
|---|---|---|---|
| `due_soon` | borrower | an unpaid installment falls due within N days (each N of `risk_reminder_days`) | `due_soon/<N>d/loan/<id>/installment/<k>` |
| `overdue` | borrower | an installment's due time has passed and it is unpaid | `overdue/loan/<id>/installment/<k>` |
| `claimable` | note owner | a repayment, default cover or recovery credited the note and it is unclaimed | `claimable/note/<id>/<tx>/<log>` |
| `funded` | borrower | the request is fully funded (满标; disbursement follows the review) | `funded/loan/<id>` |
| `disbursed` | borrower and note owners | the loan is disbursed (放款) | `disbursed/loan/<id>/<account>` |

"When" is block time. Reminders whose moment is more than `risk_reminder_max_age_seconds`
before the indexed block are not planned (a first start on a long history sends no backlog).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from backend.core.views import as_of, due_now
from backend.db.models import Event, Loan, Note
from peerlend import loanmath
from peerlend.vocabulary import DAY

CREDITS = {"Repayment": "to_noteholders", "LoanDefaulted": "cover", "Recovery": "to_noteholders"}


@dataclass(frozen=True)
class Reminder:
    id: str
    kind: str
    account: str
    time: int
    data: dict = field(default_factory=dict)

    def payload(self, block: int, timestamp: int) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "account": self.account,
            "time": self.time,
            "as_of": {"block": block, "timestamp": timestamp},
            **self.data,
        }


def _installments(loan: Loan) -> list[loanmath.Installment]:
    return loanmath.schedule(
        loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method
    )


def plan(session: Session, days: list[int], max_age: int) -> list[Reminder]:
    now = as_of(session).timestamp
    oldest = now - max_age
    out: list[Reminder] = []
    loans = {loan.id: loan for loan in session.scalars(select(Loan).order_by(Loan.id))}
    for loan in loans.values():
        if loan.status != "ACTIVE":
            continue
        due = due_now(loan, now)
        base = {"loan_id": loan.id, "token": loan.token}
        for row in _installments(loan)[loan.cursor - 1 :]:
            due_time = loan.start + row.due_offset
            unpaid = row.amount
            if row.k == loan.cursor:
                unpaid -= loan.interest_paid_current + loan.principal_paid_current
            info = {**base, "installment": row.k, "due_time": due_time, "amount": str(unpaid)}
            if due_time <= now:
                if due_time >= oldest:
                    out.append(
                        Reminder(
                            f"overdue/loan/{loan.id}/installment/{row.k}",
                            "overdue",
                            loan.borrower,
                            due_time,
                            {**info, "past_due": str(due.past_due), "penalty": str(due.penalty)},
                        )
                    )
                continue
            for n in days:
                moment = due_time - n * DAY
                if moment <= now and moment >= oldest:
                    out.append(
                        Reminder(
                            f"due_soon/{n}d/loan/{loan.id}/installment/{row.k}",
                            "due_soon",
                            loan.borrower,
                            moment,
                            {**info, "days_before": n},
                        )
                    )

    notes_by_loan: dict[int, list[Note]] = {}
    for note in session.scalars(select(Note).order_by(Note.id)):
        notes_by_loan.setdefault(note.loan_id, []).append(note)
    events = session.scalars(
        select(Event)
        .where(
            Event.contract == "LoanBook",
            Event.name.in_(("LoanFullyFunded", "LoanDisbursed", *CREDITS)),
            Event.block_timestamp >= oldest,
        )
        .order_by(Event.block_number, Event.log_index)
    ).all()
    last_credit: dict[int, Event] = {}
    for event in events:
        loan = loans.get(event.loan_id)
        if loan is None:
            continue
        base = {"loan_id": loan.id, "token": loan.token, "tx_hash": event.tx_hash}
        if event.name == "LoanFullyFunded":
            out.append(
                Reminder(
                    f"funded/loan/{loan.id}",
                    "funded",
                    loan.borrower,
                    event.block_timestamp,
                    {
                        **base,
                        "principal": str(loan.principal),
                        "review_ends_at": int(event.args["review_ends_at"]),
                    },
                )
            )
        elif event.name == "LoanDisbursed":
            owners = {note.owner for note in notes_by_loan.get(loan.id, []) if note.owner and note.share}
            for account in sorted({loan.borrower, *owners}):
                out.append(
                    Reminder(
                        f"disbursed/loan/{loan.id}/{account}",
                        "disbursed",
                        account,
                        event.block_timestamp,
                        {
                            **base,
                            "role": "borrower" if account == loan.borrower else "lender",
                            "amount": str(int(event.args["amount"])),
                            "start": int(event.args["start"]),
                        },
                    )
                )
        elif int(event.args[CREDITS[event.name]]) > 0:
            last_credit[loan.id] = event
    for loan_id, event in last_credit.items():
        loan = loans[loan_id]
        for note in notes_by_loan.get(loan_id, []):
            amount = loanmath.claimable(note.share, loan.acc_per_share, note.claimed)
            if note.owner and amount > 0:
                out.append(
                    Reminder(
                        f"claimable/note/{note.id}/{event.tx_hash}/{event.log_index}",
                        "claimable",
                        note.owner,
                        event.block_timestamp,
                        {"loan_id": loan_id, "note_id": note.id, "token": loan.token, "claimable": str(amount),
                         "tx_hash": event.tx_hash, "credited_by": event.name},
                    )
                )  # fmt: skip
    return out
