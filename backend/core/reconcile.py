"""对账: every field the API serves that has an on-chain counterpart, checked against the chain's
views at the last indexed block (`eth_call`s pinned to it, sent in JSON-RPC batches).

Checked (`scope`: what):
- `totals`: `loan_count`, `note_count`;
- `token`: `held`, `reserve` and `fees` against two SQL sides, the incrementally maintained
  `token` row and a recomputation from rows (escrowed note shares of loans not yet disbursed +
  credited to notes − claimed; deposits + reserve share of fees + recoveries − cover; treasury
  share of fees − withdrawals), and `allowed` against `token_allowed`;
- `loan`: every field of the `loan` record (status as served: EXPIRED by deadline), every
  frozen term (`loan_terms`), every `ledger` and `default_record` field, every `amount_due`
  field (the Python port at the block's timestamp), and the served `principal_outstanding`
  and `past_due` (for a defaulted loan: its principal at default until recovered, its
  remaining debt);
- `note`: loan, share, claimed, claimable, and the owner (`ownerOf`; a burned note's reverts);
- `exposure`: per KYC identity and token, `exposure(identity_hash, token)` (every wallet of an
  identity shares one);
- `account`: KYC (`is_verified`, `is_blocked`, the attestation's expiry) and the latest score
  (`score_of`) of every account the API shows one for.

Before anything, the database must have indexed something, from this chain and this
deployment, and the chain's block at the indexed height must be the indexed block: otherwise
`ReconcileError` (the CLI prints it and exits 2). Every difference is reported as
{scope, key, field, sql, chain}; nothing is repaired.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from sqlalchemy import select
from sqlmodel import Session

from backend.core.views import TERMS, due_now, effective_status, past_due, principal_outstanding
from backend.core.vocabulary import LoanStatus
from backend.db.models import Event, Identity, Loan, Note, Repayment, Score, SyncState, Token
from peerlend import abi, loanmath, vocabulary
from peerlend.deployments import Deployment, check_database_deployment
from peerlend.rpc import Rpc, RpcError

LOAN_FIELDS = (
    "borrower", "token", "grade", "principal", "apr_bps", "installments", "period_seconds", "method", "status",
    "terms", "funding_deadline", "funded", "review_ends_at", "start", "annuity",
)  # fmt: skip
LEDGER_FIELDS = (
    "cursor", "scheduled_remaining", "interest_paid_current", "principal_paid_current", "penalty_owed",
    "penalty_charged", "accrued_until", "acc_per_share", "distributed", "level", "interest_from",
)  # fmt: skip
DEFAULT_FIELDS = ("debt", "cover", "recovered", "principal")
DUE_FIELDS = ("past_due", "penalty", "next_due_time", "next_due_amount", "principal_outstanding", "payoff")
UNDISBURSED = tuple(status.name for status in LoanStatus if status in vocabulary.UNDISBURSED)


class ReconcileError(RuntimeError):
    """Nothing to reconcile: the database is empty, or it indexes another chain or deployment."""


@dataclass(frozen=True)
class Mismatch:
    scope: str  # totals | token | loan | note | exposure | account
    key: str
    field: str
    sql: Any
    chain: Any

    def as_dict(self) -> dict:
        data = asdict(self)
        data["sql"], data["chain"] = _jsonable(self.sql), _jsonable(self.chain)
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass
class Report:
    block: int
    timestamp: int
    checked: dict[str, int]
    mismatches: list[Mismatch]
    rpc_requests: int = 0
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict:
        return {
            "block": self.block,
            "timestamp": self.timestamp,
            "ok": self.ok,
            "checked": self.checked,
            "calls": self.calls,
            "rpc_requests": self.rpc_requests,
            "mismatches": [m.as_dict() for m in self.mismatches],
        }


# ---------------------------------------------------------------------------
# eth_call in JSON-RPC batches
# ---------------------------------------------------------------------------


@dataclass
class _Call:
    to: str
    fn: dict
    args: tuple
    then: Callable[[Any], None]
    on_revert: Callable[[], None] | None = None


@dataclass
class Calls:
    """Queued view calls, sent `chunk` per JSON-RPC batch, all at one block."""

    rpc: Rpc
    block: int
    chunk: int = 200
    queued: list[_Call] = field(default_factory=list)
    requests: int = 0
    sent: int = 0

    def add(self, to: str, contract: str, fn: str, args: tuple, then, on_revert=None) -> None:
        self.queued.append(_Call(to, abi.entry(contract, "function", fn), args, then, on_revert))

    def run(self) -> None:
        while self.queued:
            batch, self.queued = self.queued[: self.chunk], self.queued[self.chunk :]
            payload = [("eth_call", [{"to": c.to, "data": _calldata(c)}, hex(self.block)]) for c in batch]
            results = self.rpc.batch(payload, chunk=self.chunk, raise_errors=False)
            self.requests += 1
            self.sent += len(batch)
            for call, result in zip(batch, results, strict=True):
                if isinstance(result, RpcError):
                    if call.on_revert is None or not _reverted(result):
                        raise result
                    call.on_revert()
                    continue
                call.then(_decode(call.fn, result))


def _types(items: list[dict]) -> list[str]:
    return [collapse_if_tuple(item) for item in items]


def _calldata(call: _Call) -> str:
    selector = function_abi_to_4byte_selector(call.fn)
    return "0x" + (selector + abi_encode(_types(call.fn["inputs"]), list(call.args))).hex()


def _decode(fn: dict, result: str) -> Any:
    values = _checksummed(abi_decode(_types(fn["outputs"]), bytes.fromhex(result[2:])))
    return values[0] if len(values) == 1 else values


def _checksummed(value: Any) -> Any:
    """eth_abi decodes addresses in lower case; the database stores them EIP-55."""
    if isinstance(value, tuple | list):
        return type(value)(_checksummed(item) for item in value)
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return to_checksum_address(value)
    return value


def _reverted(error: RpcError) -> bool:
    return error.code == 3 or "revert" in str(error).lower()


# ---------------------------------------------------------------------------
# The SQL sides
# ---------------------------------------------------------------------------


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


def sql_exposure(loans: list[Loan]) -> dict[tuple[str, str], int]:
    """The contract's `exposure(identity_hash, token)` from the loan rows (`views.exposure`):
    every wallet of one KYC identity counts on one cap."""
    from backend.core.views import exposure

    totals: dict[tuple[str, str], int] = defaultdict(int)
    for loan in loans:
        totals[(loan.identity_hash, loan.token)] += exposure(loan)
    return dict(totals)


def _indexed_state(session: Session, rpc: Rpc, deployment: Deployment) -> SyncState:
    states = session.scalars(select(SyncState)).all()
    indexed = [state for state in states if state.last_block >= state.start_block]
    if not indexed:
        raise ReconcileError(
            "nothing indexed in this database yet: run `peerlend-indexer run` (or `serve`) against the chain first"
        )
    state = indexed[0]
    if state.chain_id != deployment.chain_id:
        raise ReconcileError(
            f"this database indexes chain {state.chain_id}, but the RPC serves chain {deployment.chain_id}"
        )
    check_database_deployment(
        state.deployment,
        deployment.fingerprint,
        remedy=f"{deployment.path} is {deployment.fingerprint}",
        error=ReconcileError,
    )
    header = rpc.get_headers([state.last_block])[state.last_block]
    if header is None or (state.last_block_hash and header["hash"] != state.last_block_hash):
        raise ReconcileError(
            f"the chain's block {state.last_block} is not the indexed one (another chain with the same id, "
            "or a reorg the indexer has not caught up with yet)"
        )
    return state


# ---------------------------------------------------------------------------
# Reconcile
# ---------------------------------------------------------------------------


def reconcile(session: Session, rpc: Rpc, deployment: Deployment) -> Report:
    state = _indexed_state(session, rpc, deployment)
    block, now = state.last_block, state.last_block_timestamp
    book, nft = deployment.book, deployment.contracts["LoanNote"]
    identity_registry, oracle = deployment.contracts["IdentityRegistry"], deployment.contracts["CreditOracle"]
    calls = Calls(rpc, block)
    mismatches: list[Mismatch] = []
    checked: dict[str, int] = defaultdict(int)

    def check(scope: str, key: Any, name: str, sql: Any, chain: Any) -> None:
        checked[scope] += 1
        if sql != chain:
            mismatches.append(Mismatch(scope, str(key), name, sql, chain))

    def on_book(fn: str, args: tuple, then) -> None:
        calls.add(book, "LoanBook", fn, args, then)

    def on_lens(fn: str, args: tuple, then) -> None:
        calls.add(deployment.contracts["LoanLens"], "LoanLens", fn, args, then)

    loans = session.scalars(select(Loan).order_by(Loan.id)).all()
    notes = session.scalars(select(Note).order_by(Note.id)).all()
    by_id = {loan.id: loan for loan in loans}

    # Totals.
    on_book("loan_count", (), lambda v: check("totals", "LoanBook", "loan_count", len(loans), v))
    on_book("note_count", (), lambda v: check("totals", "LoanBook", "note_count", len(notes), v))

    # Token balances: recomputed from rows, and the incremental token row.
    recomputed = sql_balances(session)
    token_rows = {row.address: row for row in session.scalars(select(Token))}
    for token in sorted(set(recomputed) | set(token_rows) | set(deployment.tokens)):
        sums = recomputed.get(token, {"held": 0, "reserve": 0, "fees": 0})
        row = token_rows.get(token) or Token(address=token)
        for name in ("held", "reserve", "fees"):

            def both(value, token=token, name=name, sums=sums, row=row):
                check("token", token, name, sums[name], value)
                check("token", token, f"{name} (token row)", getattr(row, name), value)

            on_book(name, (token,), both)
        on_book(
            "token_allowed", (token,), lambda v, t=token, r=row: check("token", t, "allowed", r.allowed, v)
        )

    # Loans.
    for loan in loans:
        served = {name: getattr(loan, name) for name in LOAN_FIELDS if name not in ("status", "terms")}
        served["status"] = int(LoanStatus[effective_status(loan, now)])

        def on_loan(record, loan=loan, served=served):
            for i, name in enumerate(LOAN_FIELDS):
                if name in served:
                    check("loan", loan.id, name, served[name], record[i])

        on_book("loan", (loan.id,), on_loan)
        on_book(
            "loan_terms",
            (loan.id,),
            lambda terms, loan=loan: [
                check("loan", loan.id, f"terms.{name}", getattr(loan, name), terms[i])
                for i, name in enumerate(TERMS)
            ],
        )
        on_book(
            "ledger",
            (loan.id,),
            lambda ledger, loan=loan: [
                check("loan", loan.id, f"ledger.{name}", getattr(loan, name), ledger[i])
                for i, name in enumerate(LEDGER_FIELDS)
            ],
        )
        served_default = (loan.default_debt, loan.default_cover, loan.recovered, loan.default_principal)

        def on_default(record, loan=loan, served_default=served_default):
            for i, name in enumerate(DEFAULT_FIELDS):
                check("loan", loan.id, f"default.{name}", served_default[i], record[i])
            # What the summary serves for a defaulted loan comes from the default record.
            if record[0] and record[2] < record[0]:
                check("loan", loan.id, "past_due", past_due(loan, due_now(loan, now)), record[0] - record[2])

        on_book("default_record", (loan.id,), on_default)
        due = due_now(loan, now)

        def on_due(on_chain, loan=loan, due=due):
            for i, name in enumerate(DUE_FIELDS):
                check("loan", loan.id, f"amount_due.{name}", getattr(due, name), on_chain[i])
            if loan.status != "DEFAULTED":
                check("loan", loan.id, "principal_outstanding", principal_outstanding(loan), on_chain[4])

        on_lens("amount_due", (loan.id,), on_due)
        if loan.status == "DEFAULTED":
            # Served outstanding of a defaulted loan: its principal at default until recovered.
            def on_defaulted(record, loan=loan):
                expected = record[3] if record[2] < record[0] else 0
                check("loan", loan.id, "principal_outstanding", principal_outstanding(loan), expected)

            on_book("default_record", (loan.id,), on_defaulted)

    # Notes.
    for note in notes:
        loan = by_id.get(note.loan_id)
        acc = loan.acc_per_share if loan else 0

        def on_note(record, note=note):
            check("note", note.id, "loan_id", note.loan_id, record[0])
            check("note", note.id, "share", note.share, record[1])
            check("note", note.id, "claimed", note.claimed, record[2])

        on_book("note", (note.id,), on_note)
        claimable = loanmath.claimable(note.share, acc, note.claimed)
        on_book(
            "claimable", (note.id,), lambda v, n=note, c=claimable: check("note", n.id, "claimable", c, v)
        )
        calls.add(
            nft,
            "LoanNote",
            "ownerOf",
            (note.id,),
            lambda owner, n=note: check("note", n.id, "owner", n.owner, owner),
            on_revert=lambda n=note: check("note", n.id, "owner", n.owner, None),
        )

    # Exposure per borrower identity (every identity with a loan, every token it borrowed).
    for (identity_hash, token), amount in sorted(sql_exposure(loans).items()):
        on_book(
            "exposure",
            (bytes.fromhex(identity_hash[2:]), token),
            lambda v, k=f"{identity_hash}/{token}", a=amount: check("exposure", k, "exposure", a, v),
        )

    # Accounts: KYC and the latest score, as /accounts serves them.
    for row in session.scalars(select(Identity).order_by(Identity.address)):
        verified = bool(row.identity_hash and now < row.kyc_expires_at)
        calls.add(
            identity_registry,
            "IdentityRegistry",
            "is_verified",
            (row.address,),
            lambda v, r=row, s=verified: check("account", r.address, "kyc.verified", s, v),
        )
        calls.add(
            identity_registry,
            "IdentityRegistry",
            "is_blocked",
            (row.address,),
            lambda v, r=row: check("account", r.address, "kyc.blocked", r.blocked, v),
        )
        calls.add(
            identity_registry,
            "IdentityRegistry",
            "attestation",
            (row.address,),
            lambda v, r=row: check(
                "account", r.address, "kyc.expires_at", r.kyc_expires_at if r.identity_hash else 0, v[1]
            ),
        )
    latest: dict[str, Score] = {}
    for score in session.scalars(select(Score).order_by(Score.event_id)):
        latest[score.account] = score
    for account, score in sorted(latest.items()):

        def on_score(v, account=account, score=score):
            check("account", account, "score", score.score, v[0])
            check("account", account, "grade", score.grade, v[1])
            check("account", account, "score.expires_at", score.expires_at, v[4])

        calls.add(oracle, "CreditOracle", "score_of", (account,), on_score)

    calls.run()
    return Report(block, now, dict(checked), mismatches, rpc_requests=calls.requests, calls=calls.sent)
