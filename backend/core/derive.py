"""What the API serves, computed when a batch is indexed, in the transaction that indexes it.

Everything the API answers is a function of the database at the last indexed block, so it is
computed once per batch instead of once per request:
- per loan, its summary as served (status with EXPIRED by deadline, amounts due, days past
  due, outstanding principal) and the columns filters and `/stats` read (`status_now`,
  `outstanding`, `past_due_now`, `days_past_due`);
- per account, its totals and lists as borrower and as lender (`account.totals`);
- the `/stats` disclosure (`snapshot` "stats").

Only what changed is recomputed: loans an event of the batch names, loans whose figures move
with time alone (ACTIVE; DEFAULTED, whose days past due grow; OPEN past their deadline), the
accounts an event names, the borrowers of those loans and the holders of their notes. After a
replay everything is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import and_, delete, or_, select
from sqlmodel import Session

from backend.core import stats as disclosure
from backend.core.views import (
    due_now,
    exposure,
    loan_summary,
    note_view,
    past_due,
    principal_outstanding,
    unrecovered,
)  # fmt: skip
from backend.db.models import Account, Claim, Event, EventAccount, Loan, Note, Snapshot, TokenInfo
from peerlend import loanmath

CHUNK = 500


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def token_info(session: Session) -> dict[str, TokenInfo]:
    return {row.address: row for row in session.scalars(select(TokenInfo))}


def refresh(
    session: Session,
    block: int,
    now: int,
    loan_ids: set[int] | None = None,
    accounts: set[str] | None = None,
) -> None:
    """Recomputes the served state at (`block`, `now`): for the loans and accounts given (None:
    all of them) plus everything time alone changes. Call after the batch's rows are added."""
    session.flush()
    info = token_info(session)
    time_moves = or_(
        Loan.status.in_(("ACTIVE", "DEFAULTED")),
        and_(Loan.status == "OPEN", Loan.status_now == "OPEN", Loan.funding_deadline <= now),
        and_(
            Loan.status == "FUNDED",
            Loan.status_now == "FUNDED",
            Loan.review_ends_at + Loan.disburse_seconds <= now,
        ),
    )
    if loan_ids is None:
        loans = list(session.scalars(select(Loan)))
    else:
        loans = list(session.scalars(select(Loan).where(time_moves)))
        seen = {loan.id for loan in loans}
        for chunk in _chunks(sorted(loan_ids - seen)):
            loans.extend(session.scalars(select(Loan).where(Loan.id.in_(chunk))))
    dues: dict[int, loanmath.Due] = {}
    for loan in loans:
        due = due_now(loan, now)
        dues[loan.id] = due
        summary = loan_summary(loan, now, info, due)
        if summary != loan.summary:
            loan.summary = summary
            loan.status_now = summary["status"]
            loan.outstanding = principal_outstanding(loan)
            loan.past_due_now = past_due(loan, due)
            loan.days_past_due = summary["days_past_due"]

    # Accounts: named by an event, borrowers of the loans above, holders of their notes.
    if accounts is None:
        # Every address an event ever named, as the batch-by-batch path creates them.
        targets = set(session.scalars(select(EventAccount.address).distinct()))
        session.execute(delete(Account))
        existing: dict[str, Account] = {}
    else:
        targets = set(accounts) | {loan.borrower for loan in loans}
        touched = sorted(loan_ids or ())
        for chunk in _chunks(touched):
            for lender, owner in session.execute(
                select(Note.lender, Note.owner).where(Note.loan_id.in_(chunk))
            ):
                targets.add(lender)
                if owner is not None:
                    targets.add(owner)
        existing = {}
        for chunk in _chunks(sorted(targets)):
            existing.update(
                (row.address, row)
                for row in session.scalars(select(Account).where(Account.address.in_(chunk)))
            )
    for chunk in _chunks(sorted(targets)):
        for address, totals in account_totals(session, chunk, now, dues).items():
            row = existing.get(address)
            if row is None:
                session.add(Account(address=address, totals=totals))
            elif row.totals != totals:
                row.totals = totals

    # The disclosure, once per batch.
    body = disclosure.stats(session)
    row = session.get(Snapshot, "stats")
    if row is None:
        session.add(Snapshot(name="stats", block=block, body=body))
    else:
        row.block, row.body = block, body
    session.flush()


def _sum_by_token(pairs) -> dict[str, str]:
    totals: dict[str, int] = {}
    for token, amount in pairs:
        totals[token] = totals.get(token, 0) + amount
    return {token: str(amount) for token, amount in sorted(totals.items())}


def account_totals(session: Session, addresses: list[str], now: int, dues: dict[int, loanmath.Due]) -> dict:
    """{address: totals} as `/accounts/{a}` serves them (KYC, scores and counts are read live)."""
    borrowed = defaultdict(list)
    for loan in session.scalars(select(Loan).where(Loan.borrower.in_(addresses)).order_by(Loan.id)):
        borrowed[loan.borrower].append(loan)
    notes = session.scalars(
        select(Note).where(or_(Note.owner.in_(addresses), Note.lender.in_(addresses))).order_by(Note.id)
    ).all()
    loan_ids = sorted({note.loan_id for note in notes})
    by_id: dict[int, Loan] = {}
    for chunk in _chunks(loan_ids):
        by_id.update((loan.id, loan) for loan in session.scalars(select(Loan).where(Loan.id.in_(chunk))))
    received = defaultdict(list)
    for owner, token, amount in session.execute(
        select(Claim.owner, Loan.token, Claim.amount)
        .join(Loan, Loan.id == Claim.loan_id)
        .where(Claim.owner.in_(addresses))
    ):
        received[owner].append((token, amount))
    refunded = defaultdict(list)
    refunds = (
        select(Event.args, EventAccount.address)
        .join(EventAccount, EventAccount.event_id == Event.id)
        .where(
            Event.contract == "LoanBook", Event.name == "NoteRefunded", EventAccount.address.in_(addresses)
        )
    )
    note_token = {note.id: by_id[note.loan_id].token for note in notes}
    for args, address in session.execute(refunds):
        if args["owner"] == address:
            note_id = int(args["note_id"])
            token = note_token.get(note_id)
            if token is None:
                note = session.get(Note, note_id)
                token = session.get(Loan, note.loan_id).token
            refunded[address].append((token, int(args["amount"])))

    out = {}
    for address in addresses:
        loans = borrowed.get(address, [])
        owing = [loan for loan in loans if loan.status in ("ACTIVE", "DEFAULTED")]

        def due(loan: Loan) -> loanmath.Due:
            return dues.get(loan.id) or due_now(loan, now)

        owned = [note for note in notes if note.owner == address]
        funded = [note for note in notes if note.lender == address]
        outstanding, claimable, realised = [], [], []
        for note in owned:
            loan = by_id[note.loan_id]
            credited = note.share * loan.acc_per_share // loanmath.ACC_SCALE
            claimable.append((loan.token, loanmath.claimable(note.share, loan.acc_per_share, note.claimed)))
            if loan.status == "ACTIVE":
                outstanding.append((loan.token, note.share * loan.principal_outstanding // loan.principal))
                realised.append((loan.token, credited - note.share * loan.principal_paid // loan.principal))
            elif loan.status == "DEFAULTED" and unrecovered(loan):
                outstanding.append((loan.token, note.share * loan.default_principal // loan.principal))
                realised.append((loan.token, credited - note.share))
            elif loan.status in ("REPAID", "DEFAULTED"):
                # Repaid: all principal came back. Defaulted: what did not come back is lost.
                realised.append((loan.token, credited - note.share))
            elif loan.status in ("OPEN", "FUNDED"):
                outstanding.append((loan.token, note.share))
        realised_map: dict[str, int] = {}
        for token, amount in realised:
            realised_map[token] = realised_map.get(token, 0) + amount
        out[address] = {
            "borrower": {
                "loans": [loan.summary for loan in loans],
                "borrowed": _sum_by_token(
                    (loan.token, loan.principal) for loan in loans if loan.disbursed_at is not None
                ),
                "principal_outstanding": _sum_by_token(
                    (loan.token, principal_outstanding(loan)) for loan in owing
                ),
                "exposure": _sum_by_token((loan.token, exposure(loan)) for loan in loans),
                "payoff": _sum_by_token((loan.token, due(loan).payoff) for loan in owing),
                "past_due": _sum_by_token((loan.token, past_due(loan, due(loan))) for loan in owing),
            },
            "lender": {
                "notes": [note_view(note, by_id[note.loan_id]) for note in owned],
                "funded_notes": [note.id for note in funded],
                "invested": _sum_by_token((by_id[n.loan_id].token, n.amount) for n in funded),
                "lent": _sum_by_token(
                    (by_id[n.loan_id].token, n.amount)
                    for n in funded
                    if by_id[n.loan_id].disbursed_at is not None
                ),
                "principal_outstanding": _sum_by_token(outstanding),
                "received": _sum_by_token(received.get(address, [])),
                "refunded": _sum_by_token(refunded.get(address, [])),
                "claimable": _sum_by_token(claimable),
                "realised_return": {token: str(amount) for token, amount in sorted(realised_map.items())},
            },
            "roles": [role for role, used in (("borrower", loans), ("lender", owned or funded)) if used],
        }
    return out
