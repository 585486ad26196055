"""AML rules (反洗钱) over indexed events and token transfers; each alert carries its evidence.

Rules (thresholds in `backend.settings.Settings`, `risk_*`):

- `large_transfer`: one transaction moving at least `risk_large_amount[token]` base units of an
  allow-listed token in a single transfer (mints and burns excluded).
- `in_and_out`: a note (债权) that its holder acquired, by funding or by buying it, and passed on
  within `risk_in_out_window_seconds`.
- `self_funding`: a funding whose lender is one of the borrower's wallets (same KYC identity),
  or whose lender received the token, within `risk_self_funding_lookback_seconds` before
  funding, from one of the borrower's wallets or from a source that also paid the borrower's
  wallets in that window. A borrower who funds their own loan and defaults drains the risk
  reserve into their own pocket.
- `fan_out`: one source gives at least `risk_fan_out_wallets` wallets their first ever transfer
  of an allow-listed token within `risk_fan_out_window_seconds` (wallet farming, mule accounts).

Platform contracts (LoanBook, LoanNote), the zero address and `risk_trusted_sources` are never a
"source": every borrower is paid by LoanBook, every wallet's first tokens may be minted, and an
exchange's hot wallet pays borrowers and lenders alike.

Alerts are a function of the database at the indexed block; an alert's id is derived from what
raised it (the transaction, the note, the source's first transfer), so it is stable from block
to block and an acknowledgement (`alert_ack`) stays attached to it.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_left
from collections import defaultdict

from eth_utils import to_checksum_address
from sqlalchemy import select
from sqlmodel import Session

from backend.db.models import Event, Identity, Loan, Note
from backend.risk.models import AlertAck, RiskTransfer

ZERO = "0x0000000000000000000000000000000000000000"
RULES = ("large_transfer", "in_and_out", "self_funding", "fan_out")
ACTIONS = ("dismissed", "escalated", "blocklisted")


def alert_id(rule: str, key: str) -> str:
    return f"{rule}-{hashlib.sha256(f'{rule}:{key}'.encode()).hexdigest()[:16]}"


def _transfer(row: RiskTransfer) -> dict:
    return {
        "kind": "token_transfer",
        "token": row.token,
        "tx_hash": row.tx_hash,
        "log_index": row.log_index,
        "block_number": row.block_number,
        "timestamp": row.timestamp,
        "from": row.sender,
        "to": row.receiver,
        "amount": str(row.amount),
    }


def _event(event: Event, **extra) -> dict:
    return {
        "kind": f"{event.contract}.{event.name}",
        "tx_hash": event.tx_hash,
        "log_index": event.log_index,
        "block_number": event.block_number,
        "timestamp": event.block_timestamp,
        **extra,
    }


def _alert(
    rule: str, key: str, title: str, severity: str, evidence: list[dict], accounts, amounts: dict
) -> dict:
    return {
        "id": alert_id(rule, key),
        "rule": rule,
        "severity": severity,
        "title": title,
        "block_number": max(item["block_number"] for item in evidence),
        "timestamp": max(item["timestamp"] for item in evidence),
        "accounts": sorted(set(accounts)),
        "amounts": {token: str(amount) for token, amount in sorted(amounts.items())},
        "evidence": evidence,
    }


class Facts:
    """What the rules read, loaded once."""

    def __init__(self, session: Session, trusted: list[str] = ()):
        self.loans = {loan.id: loan for loan in session.scalars(select(Loan))}
        self.notes = {note.id: note for note in session.scalars(select(Note))}
        self.transfers = session.scalars(
            select(RiskTransfer).order_by(RiskTransfer.block_number, RiskTransfer.log_index)
        ).all()
        self.fundings = session.scalars(
            select(Event).where(Event.contract == "LoanBook", Event.name == "LoanFunded").order_by(Event.id)
        ).all()
        self.note_transfers = session.scalars(
            select(Event).where(Event.contract == "LoanNote", Event.name == "Transfer").order_by(Event.id)
        ).all()
        # Never a "source": the zero address (mints), the book and the note contract, and the
        # addresses the operator trusts (exchange hot wallets pay borrowers and lenders alike).
        self.platform = {ZERO, *(to_checksum_address(a) for a in trusted)} | set(
            session.scalars(
                select(Event.address).where(Event.contract.in_(("LoanBook", "LoanNote"))).distinct()
            )
        )
        self.identities = {row.address: row for row in session.scalars(select(Identity))}
        self.by_identity: dict[str, set[str]] = defaultdict(set)
        for row in self.identities.values():
            if row.identity_hash:
                self.by_identity[row.identity_hash].add(row.address)

    def wallets_of(self, account: str) -> set[str]:
        identity = self.identities.get(account)
        if identity is None or not identity.identity_hash:
            return {account}
        return {account} | self.by_identity[identity.identity_hash]


def large_transfers(facts: Facts, thresholds: dict[str, int]) -> list[dict]:
    limits = {token.lower(): int(amount) for token, amount in thresholds.items()}
    by_tx: dict[tuple[str, str], list[RiskTransfer]] = defaultdict(list)
    for row in facts.transfers:
        limit = limits.get(row.token.lower())
        if limit is not None and row.amount >= limit and ZERO not in (row.sender, row.receiver):
            by_tx[(row.tx_hash, row.token)].append(row)
    out = []
    for (tx_hash, token), rows in by_tx.items():
        largest = max(row.amount for row in rows)
        out.append(
            _alert(
                "large_transfer",
                f"{tx_hash}:{token}",
                f"Transfer of {largest} base units in one transaction (threshold {limits[token.lower()]})",
                "medium",
                [_transfer(row) for row in rows],
                [a for row in rows for a in (row.sender, row.receiver) if a not in facts.platform],
                {token: largest},
            )
        )
    return out


def in_and_out(facts: Facts, window: int) -> list[dict]:
    acquired: dict[tuple[int, str], Event] = {}  # (note, holder) -> the event that gave it to them
    out = []
    for event in sorted(
        [*facts.fundings, *facts.note_transfers], key=lambda e: (e.block_number, e.log_index)
    ):
        args = event.args
        if event.name == "LoanFunded":
            acquired[(int(args["note_id"]), args["lender"])] = event
            continue
        note_id, sender, receiver = int(args["token_id"]), args["sender"], args["receiver"]
        if ZERO in (sender, receiver):
            continue  # mint (already seen as LoanFunded) or burn on refund
        got = acquired.pop((note_id, sender), None)
        acquired[(note_id, receiver)] = event
        note = facts.notes.get(note_id)
        held = event.block_timestamp - got.block_timestamp if got is not None else None
        if held is None or note is None or held > window:
            continue
        loan = facts.loans[note.loan_id]
        how = "funded" if got.name == "LoanFunded" else "bought"
        out.append(
            {
                **_alert(
                    "in_and_out",
                    f"{note_id}:{event.tx_hash}:{event.log_index}",
                    f"Note {note_id} {how} by {sender} and passed on after {held} s",
                    "medium",
                    [
                        _event(got, note_id=note_id, account=sender, amount=str(note.amount)),
                        _event(event, note_id=note_id, **{"from": sender, "to": receiver}),
                    ],
                    [sender, receiver] + ([got.args["sender"]] if got.name == "Transfer" else []),
                    {loan.token: note.amount},
                ),
                "loan_id": loan.id,
            }
        )
    return out


def self_funding(facts: Facts, lookback: int) -> list[dict]:
    inflows: dict[tuple[str, str], list[RiskTransfer]] = defaultdict(list)  # (token, receiver)
    for row in facts.transfers:
        if row.sender not in facts.platform:
            inflows[(row.token, row.receiver)].append(row)
    out = []
    for event in facts.fundings:
        args = event.args
        loan = facts.loans.get(int(args["loan_id"]))
        if loan is None:
            continue
        lender, t = args["lender"], event.block_timestamp
        wallets = facts.wallets_of(loan.borrower)
        amount = int(args["amount"])
        funding = _event(
            event, loan_id=loan.id, note_id=int(args["note_id"]), lender=lender, amount=str(amount)
        )
        evidence, relation = [], None
        if lender in wallets:
            relation = "lender is a wallet of the borrower's identity"
        else:
            recent = [r for r in inflows.get((loan.token, lender), []) if t - lookback <= r.timestamp <= t]
            direct = [r for r in recent if r.sender in wallets]
            if direct:
                relation, evidence = "lender was paid by the borrower's wallets", direct
            else:
                sources = {r.sender for r in recent}
                paid_borrower = [
                    r
                    for wallet in wallets
                    for r in inflows.get((loan.token, wallet), [])
                    if r.sender in sources and t - lookback <= r.timestamp <= t
                ]
                if paid_borrower:
                    common = {r.sender for r in paid_borrower}
                    relation = "lender and borrower were paid by a common source"
                    evidence = [r for r in recent if r.sender in common] + paid_borrower
        if relation is None:
            continue
        out.append(
            {
                **_alert(
                    "self_funding",
                    str(args["note_id"]),
                    f"Loan {loan.id} funded by {lender}: {relation}",
                    "high",
                    [funding, *(_transfer(r) for r in evidence)],
                    [loan.borrower, lender, *(a for r in evidence for a in (r.sender, r.receiver))],
                    {loan.token: amount},
                ),
                "loan_id": loan.id,
                "relation": relation,
            }
        )
    return out


def fan_out(facts: Facts, wallets_needed: int, window: int) -> list[dict]:
    seen: set[str] = set()
    first_funding: dict[str, list[RiskTransfer]] = defaultdict(list)  # source -> first transfers
    for row in facts.transfers:
        if row.receiver not in seen and row.sender not in facts.platform and row.sender != row.receiver:
            first_funding[row.sender].append(row)
        seen.update((row.sender, row.receiver))
    out = []
    for source, rows in first_funding.items():
        times = [r.timestamp for r in rows]
        i = 0
        while i < len(rows):
            j = bisect_left(times, rows[i].timestamp + window + 1)
            cluster = rows[i:j]
            if len({r.receiver for r in cluster}) >= wallets_needed:
                per_token: dict[str, int] = defaultdict(int)
                for r in cluster:
                    per_token[r.token] += r.amount
                out.append(
                    _alert(
                        "fan_out",
                        f"{source}:{cluster[0].tx_hash}:{cluster[0].log_index}",
                        f"{source} funded {len({r.receiver for r in cluster})} new wallets within {window} s",
                        "medium",
                        [_transfer(r) for r in cluster],
                        [source, *(r.receiver for r in cluster)],
                        per_token,
                    )
                )
                i = j
            else:
                i += 1
    return out


def alerts(session: Session, settings) -> list[dict]:
    """Every alert at the indexed block, newest first, each with its acknowledgement (or None)."""
    facts = Facts(session, settings.risk_trusted_sources)
    found = [
        *large_transfers(facts, settings.risk_large_amount),
        *in_and_out(facts, settings.risk_in_out_window_seconds),
        *self_funding(facts, settings.risk_self_funding_lookback_seconds),
        *fan_out(facts, settings.risk_fan_out_wallets, settings.risk_fan_out_window_seconds),
    ]
    acks = {row.alert_id: row for row in session.scalars(select(AlertAck))}
    for alert in found:
        ack = acks.get(alert["id"])
        alert["ack"] = None if ack is None else ack_view(ack)
        alert["blocked"] = {
            account: bool(facts.identities.get(account) and facts.identities[account].blocked)
            for account in alert["accounts"]
        }
    found.sort(key=lambda a: (-a["block_number"], a["rule"], a["id"]))
    return found


def ack_view(ack: AlertAck) -> dict:
    return {"action": ack.action, "note": ack.note, "by": ack.by, "acked_at": ack.acked_at}


def acknowledge(session: Session, alert: dict, action: str, by: str, note: str = "") -> AlertAck:
    """Stores (or replaces) the acknowledgement of `alert`, with a copy of its evidence."""
    if action not in ACTIONS:
        raise ValueError(f"action: one of {', '.join(ACTIONS)}")
    snapshot = {k: v for k, v in alert.items() if k not in ("ack", "blocked")}
    row = session.get(AlertAck, alert["id"]) or AlertAck(
        alert_id=alert["id"], rule=alert["rule"], by=by, action=action
    )
    row.action, row.by, row.note, row.acked_at, row.alert = action, by, note, int(time.time()), snapshot
    session.add(row)
    session.commit()
    return row
