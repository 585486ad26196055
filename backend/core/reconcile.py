"""对账: the SQL mirror checked against on-chain state at the last indexed block.

Two SQL sides are compared with the chain:
- balances *recomputed from rows* (notes, loans, repayments, events), per token:
  `held` = escrowed note shares of loans not yet disbursed + Σ credited to notes − Σ claimed;
  `reserve` = deposits + reserve share of fees + recoveries to the reserve − default cover;
  `fees` = treasury share of fees − withdrawals;
- the incrementally maintained `token` row;
and per loan: status (EXPIRED by deadline), funded amount, every field of `ledger`,
`default_record` and `amount_due` (the Python port, at the block's timestamp), per note:
`claimable` and `note` (share, claimed), per borrower and token: `exposure`, and the
`loan_count` / `note_count` totals. Every difference is reported; nothing is repaired.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session
from web3 import Web3

from backend import abi, loanmath
from backend.core.views import as_of, due_now, effective_status
from backend.db.models import Event, Loan, Note, Repayment, Token
from backend.indexer.deployment import Deployment

STATUS_CODES = {
    "OPEN": 1,
    "FUNDED": 2,
    "ACTIVE": 3,
    "REPAID": 4,
    "DEFAULTED": 5,
    "CANCELLED": 6,
    "EXPIRED": 7,
}
LEDGER_FIELDS = (
    "cursor", "scheduled_remaining", "interest_paid_current", "principal_paid_current", "penalty_owed",
    "penalty_charged", "accrued_until", "acc_per_share", "distributed",
)  # fmt: skip
DUE_FIELDS = ("past_due", "penalty", "next_due_time", "next_due_amount", "principal_outstanding", "payoff")
UNDISBURSED = ("OPEN", "FUNDED", "CANCELLED", "EXPIRED")


@dataclass(frozen=True)
class Mismatch:
    scope: str  # token | loan | note | exposure | totals
    key: str
    field: str
    sql: Any
    chain: Any

    def as_dict(self) -> dict:
        data = asdict(self)
        data["sql"], data["chain"] = _jsonable(self.sql), _jsonable(self.chain)
        return data


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass
class Report:
    block: int
    timestamp: int
    checked: dict[str, int]
    mismatches: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict:
        return {
            "block": self.block,
            "timestamp": self.timestamp,
            "ok": self.ok,
            "checked": self.checked,
            "mismatches": [m.as_dict() for m in self.mismatches],
        }


def sql_balances(session: Session) -> dict[str, dict[str, int]]:
    """Per token {held, reserve, fees} recomputed from loan, note, repayment and event rows."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"held": 0, "reserve": 0, "fees": 0})
    loans = {loan.id: loan for loan in session.scalars(select(Loan))}
    for note in session.scalars(select(Note)):
        loan = loans.get(note.loan_id)
        if loan is None:
            continue
        balance = out[loan.token]
        if loan.status in UNDISBURSED:
            balance["held"] += note.share
        balance["held"] -= note.claimed
    for loan in loans.values():
        balance = out[loan.token]
        balance["held"] += loan.distributed
        balance["reserve"] += loan.origination_fee_reserve - loan.default_cover
        balance["fees"] += loan.origination_fee - loan.origination_fee_reserve
    for row in session.scalars(select(Repayment)):
        balance = out[loans[row.loan_id].token]
        balance["reserve"] += row.fee_reserve + row.to_reserve
        balance["fees"] += row.fee_treasury
    flows = select(Event).where(
        Event.contract == "LoanBook", Event.name.in_(("ReserveDeposited", "FeesWithdrawn"))
    )
    for event in session.scalars(flows):
        balance = out[event.args["token"]]
        if event.name == "ReserveDeposited":
            balance["reserve"] += int(event.args["amount"])
        else:
            balance["fees"] -= int(event.args["amount"])
    return dict(out)


def sql_exposure(session: Session) -> dict[tuple[str, str], int]:
    """The contract's `exposure`: principal of open (even past deadline, until recorded) and
    funded loans, principal outstanding of active ones, and principal at default of defaulted
    ones until the debt is fully recovered."""
    exposure: dict[tuple[str, str], int] = defaultdict(int)
    for loan in session.scalars(select(Loan)):
        key = (loan.borrower, loan.token)
        if loan.status in ("OPEN", "FUNDED"):
            exposure[key] += loan.principal
        elif loan.status == "ACTIVE":
            exposure[key] += loan.principal_outstanding
        elif loan.status == "DEFAULTED" and loan.recovered < loan.default_debt:
            exposure[key] += loan.default_principal
        else:
            exposure[key] += 0
    return dict(exposure)


def reconcile(session: Session, w3: Web3, deployment: Deployment) -> Report:
    point = as_of(session)
    block, now = point.block, point.timestamp
    book = w3.eth.contract(address=deployment.book, abi=abi.load("LoanBook"))
    note_nft = w3.eth.contract(address=deployment.contracts["LoanNote"], abi=abi.load("LoanNote"))
    mismatches: list[Mismatch] = []
    checked: dict[str, int] = defaultdict(int)

    def call(fn: str, *args):
        return getattr(book.functions, fn)(*args).call(block_identifier=block)

    def check(scope: str, key: Any, field: str, sql: Any, chain: Any) -> None:
        checked[scope] += 1
        if sql != chain:
            mismatches.append(Mismatch(scope, str(key), field, sql, chain))

    if block < 0:
        return Report(block, now, {}, [])

    # Totals.
    loans = session.scalars(select(Loan).order_by(Loan.id)).all()
    notes = session.scalars(select(Note).order_by(Note.id)).all()
    check("totals", "LoanBook", "loan_count", len(loans), call("loan_count"))
    check("totals", "LoanBook", "note_count", len(notes), call("note_count"))

    # Token balances: recomputed from rows, and the incremental token row.
    recomputed = sql_balances(session)
    token_rows = {row.address: row for row in session.scalars(select(Token))}
    for token in sorted(set(recomputed) | set(token_rows) | set(deployment.tokens)):
        sums = recomputed.get(token, {"held": 0, "reserve": 0, "fees": 0})
        row = token_rows.get(token) or Token(address=token)
        for field in ("held", "reserve", "fees"):
            on_chain = call(field, token)
            check("token", token, field, sums[field], on_chain)
            check("token", token, f"{field} (token row)", getattr(row, field), on_chain)

    # Loans.
    by_id = {loan.id: loan for loan in loans}
    for loan in loans:
        record = call("loan", loan.id)
        check("loan", loan.id, "status", STATUS_CODES[effective_status(loan, now)], record[8])
        check("loan", loan.id, "funded", loan.funded, record[11])
        check("loan", loan.id, "start", loan.start, record[13])
        check("loan", loan.id, "annuity", loan.annuity, record[14])
        ledger = call("ledger", loan.id)
        for i, field in enumerate(LEDGER_FIELDS):
            check("loan", loan.id, f"ledger.{field}", getattr(loan, field), ledger[i])
        default = call("default_record", loan.id)
        check("loan", loan.id, "default.debt", loan.default_debt, default[0])
        check("loan", loan.id, "default.cover", loan.default_cover, default[1])
        check("loan", loan.id, "default.recovered", loan.recovered, default[2])
        check("loan", loan.id, "default.principal", loan.default_principal, default[3])
        due = due_now(loan, now)
        on_chain = call("amount_due", loan.id)
        outstanding = loan.principal_outstanding if loan.status == "ACTIVE" else 0
        check("loan", loan.id, "principal_outstanding", outstanding, on_chain[4])
        for i, field in enumerate(DUE_FIELDS):
            check("loan", loan.id, f"amount_due.{field}", getattr(due, field), on_chain[i])

    # Notes.
    for note in notes:
        loan = by_id.get(note.loan_id)
        acc = loan.acc_per_share if loan else 0
        record = call("note", note.id)
        check("note", note.id, "loan_id", note.loan_id, record[0])
        check("note", note.id, "share", note.share, record[1])
        check("note", note.id, "claimed", note.claimed, record[2])
        check(
            "note",
            note.id,
            "claimable",
            loanmath.claimable(note.share, acc, note.claimed),
            call("claimable", note.id),
        )
        if note.owner is not None:
            check(
                "note",
                note.id,
                "owner",
                note.owner,
                note_nft.functions.ownerOf(note.id).call(block_identifier=block),
            )

    # Borrower exposure.
    for (borrower, token), amount in sorted(sql_exposure(session).items()):
        check("exposure", f"{borrower}/{token}", "exposure", amount, call("exposure", borrower, token))

    return Report(block, now, dict(checked), mismatches)
