"""SQL tables: raw chain data (sync state, block hashes, events) and state derived from events.

Derived tables (loans, notes, repayments, claims, scores, identities, tokens) are a pure
function of the `event` table: the indexer updates them event by event, and after a reorg
deletes them and replays every remaining event (`backend.indexer.apply.replay`).

Addresses are EIP-55 checksummed strings; token amounts and other uint256 values use `Uint256`.
One database indexes one chain and one deployment (checked against `sync_state`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from backend.db.types import Uint256


def U256(default: int | None = 0, **kw) -> Any:
    return Field(default=default, sa_type=Uint256, **kw)


def Big(default: int | None = 0, **kw) -> Any:
    return Field(default=default, sa_type=BigInteger, **kw)


class BackendModel(SQLModel, registry=registry()):
    """Base of the indexer's tables: their own registry and MetaData, so tables that other
    packages declare on SQLModel's default metadata (the oracle's) never mix into the indexer's
    migrations, and vice versa."""


metadata = BackendModel.metadata


# ---------------------------------------------------------------------------
# Raw chain data
# ---------------------------------------------------------------------------


class SyncState(BackendModel, table=True):
    __tablename__ = "sync_state"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    deployment: str = Field(description="Fingerprint of the indexed contract addresses")
    start_block: int = Big()
    last_block: int = Big(description="Highest block fully indexed (start_block - 1 before the first batch)")
    last_block_hash: str | None = None
    last_block_timestamp: int = Big()
    head_block: int = Big(description="Chain head at the last poll")
    reorgs: int = Field(default=0, description="Rollbacks so far (the API's event stream announces each)")
    last_reorg_block: int | None = Field(
        default=None, sa_type=BigInteger, description="Ancestor of the last one"
    )


class Block(BackendModel, table=True):
    """Hashes of indexed blocks (every block with an event, and every batch's last block)."""

    __tablename__ = "block"

    number: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str
    parent_hash: str
    timestamp: int = Big()


class Event(BackendModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_event_chain_tx_log"),
        Index("ix_event_block", "block_number", "log_index"),
        Index("ix_event_contract_name", "contract", "name"),
        Index("ix_event_loan", "loan_id", "block_number", "log_index"),
        Index("ix_event_note", "note_id", "block_number", "log_index"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Big()
    block_number: int = Big()
    block_hash: str
    block_timestamp: int = Big()
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    contract: str
    name: str
    args: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The loan / note the event is about (from its arguments; a note's Transfer gets its loan).
    loan_id: int | None = Field(default=None, sa_type=BigInteger)
    note_id: int | None = Field(default=None, sa_type=BigInteger)


class EventAccount(BackendModel, table=True):
    """Every address an event names (indexed or not), for the audit log's account filter."""

    __tablename__ = "event_account"

    event_id: int = Field(primary_key=True, foreign_key="event.id", ondelete="CASCADE")
    address: str = Field(primary_key=True, index=True)


# ---------------------------------------------------------------------------
# Derived state
# ---------------------------------------------------------------------------


class Loan(BackendModel, table=True):
    __tablename__ = "loan"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    borrower: str = Field(index=True)
    identity_hash: str | None = Field(
        default=None, index=True, description="The borrower's KYC identity at request"
    )
    token: str = Field(index=True)
    grade: int = Field(index=True)
    score: int
    principal: int = U256()
    apr_bps: int
    installments: int
    period_seconds: int = Big()
    method: int
    funding_deadline: int = Big()
    # Raw status as the contract stores it; an OPEN loan past its deadline reads as EXPIRED.
    status: str = Field(index=True)
    # Terms frozen at request time (LoanTerms).
    origination_fee_bps: int = 0
    service_fee_bps: int = 0
    reserve_share_bps: int = 0
    penalty_bps_per_day: int = 0
    penalty_cap_bps: int = 0
    coverage_bps: int = 0
    grace_seconds: int = Big()
    default_after_seconds: int = Big()
    review_seconds: int = Big()
    disburse_seconds: int = Big()
    # Funding and disbursement.
    funded: int = U256()
    lender_count: int = Field(default=0, description="Distinct accounts that funded a note of it")
    note_count: int = Field(default=0, description="Notes funded (one per LoanFunded)")
    review_ends_at: int = Big()
    start: int = Big()
    annuity: int = U256()
    origination_fee: int = U256()
    origination_fee_reserve: int = U256()
    disbursed_amount: int = U256()
    cancelled_by: str | None = None
    # Ledger (mirrors the contract's Ledger struct).
    cursor: int = 0
    scheduled_remaining: int = U256()
    interest_paid_current: int = U256()
    principal_paid_current: int = U256()
    penalty_owed: int = U256()
    penalty_charged: int = U256()
    accrued_until: int = Big()
    level: int = U256(description="Annuity payment or principal part of the remaining installments")
    interest_from: int = Big(
        description="Last principal prepayment: the running installment's interest starts here"
    )
    acc_per_share: int = U256()
    distributed: int = U256()
    # Totals paid by the borrower (repayments, not recoveries).
    principal_paid: int = U256()
    interest_paid: int = U256()
    penalty_paid: int = U256()
    principal_outstanding: int = U256()
    # Default record.
    default_debt: int = U256()
    default_principal: int = U256()
    default_cover: int = U256()
    recovered: int = U256()
    # When things happened (block timestamps).
    requested_at: int = Big()
    requested_block: int = Big()
    fully_funded_at: int | None = Field(default=None, sa_type=BigInteger)
    disbursed_at: int | None = Field(default=None, sa_type=BigInteger)
    closed_at: int | None = Field(default=None, sa_type=BigInteger)
    last_payment_at: int | None = Field(default=None, sa_type=BigInteger)
    # As of the last indexed block, written in the transaction that indexed it (backend/core/derive.py):
    # what the API serves, so a request reads it instead of recomputing loan math.
    status_now: str = Field(default="OPEN", index=True, description="Status as served (EXPIRED by deadline)")
    outstanding: int = U256(description="principal_outstanding as served (defaulted: until recovered)")
    past_due_now: int = U256()
    days_past_due: int = 0
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Note(BackendModel, table=True):
    __tablename__ = "note"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    loan_id: int = Field(index=True, sa_type=BigInteger)
    lender: str = Field(index=True, description="The account that funded it")
    owner: str | None = Field(default=None, index=True, description="Current ERC-721 owner; None once burned")
    amount: int = U256(description="Principal funded")
    share: int = U256(description="As the contract's Note.share: 0 once refunded")
    claimed: int = U256()
    refunded: int = U256()
    funded_at: int = Big()
    funded_block: int = Big()
    transfers: int = 0


class Repayment(BackendModel, table=True):
    """Repayment and Recovery events (kind 'repayment' or 'recovery')."""

    __tablename__ = "repayment"

    event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    loan_id: int = Field(index=True, sa_type=BigInteger)
    kind: str
    payer: str = Field(index=True)
    block_number: int = Big()
    timestamp: int = Big()
    tx_hash: str
    amount: int = U256()
    principal: int = U256()
    interest: int = U256()
    penalty: int = U256()
    fee_treasury: int = U256()
    fee_reserve: int = U256()
    to_noteholders: int = U256()
    to_reserve: int = U256()
    principal_outstanding: int = U256()
    next_installment: int = 0


class Claim(BackendModel, table=True):
    __tablename__ = "claim"

    event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    note_id: int = Field(index=True, sa_type=BigInteger)
    loan_id: int = Field(index=True, sa_type=BigInteger)
    owner: str = Field(index=True)
    amount: int = U256()
    block_number: int = Big()
    timestamp: int = Big()
    tx_hash: str


class Score(BackendModel, table=True):
    """Every ScoreUpdated: the history of each account's credit score."""

    __tablename__ = "score"

    event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    account: str = Field(index=True)
    score: int
    grade: int
    model: str
    expires_at: int = Big()
    block_number: int = Big()
    timestamp: int = Big()


class Identity(BackendModel, table=True):
    """KYC attestation and blocklist status of an account."""

    __tablename__ = "identity"

    address: str = Field(primary_key=True)
    identity_hash: str | None = None
    kyc_expires_at: int = Big()
    attested_at: int | None = Field(default=None, sa_type=BigInteger)
    attester: str | None = None
    revoked_at: int | None = Field(default=None, sa_type=BigInteger)
    blocked: bool = False
    blocked_changed_at: int | None = Field(default=None, sa_type=BigInteger)
    blocked_by: str | None = None


class Token(BackendModel, table=True):
    """Per-token balances of the book, as its `held`, `reserve` and `fees` views, plus flow totals."""

    __tablename__ = "token"

    address: str = Field(primary_key=True)
    allowed: bool = False
    held: int = U256()
    reserve: int = U256()
    fees: int = U256()
    fees_to_treasury: int = U256(description="All fees credited to the treasury")
    fees_to_reserve: int = U256(description="All fees credited to the reserve")
    fees_withdrawn: int = U256()
    reserve_deposits: int = U256()
    reserve_cover_paid: int = U256()
    reserve_recovered: int = U256()


class Account(BackendModel, table=True):
    """Per account and token, its totals as borrower and as lender, as of the last indexed block
    (written with the batch that changed them; backend/core/derive.py)."""

    __tablename__ = "account"

    address: str = Field(primary_key=True)
    totals: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Snapshot(BackendModel, table=True):
    """Responses that aggregate the whole book (`/stats`), computed once per indexed batch."""

    __tablename__ = "snapshot"

    name: str = Field(primary_key=True)
    block: int = Big()
    body: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TokenInfo(BackendModel, table=True):
    """Each token's symbol and decimals, read from the chain once (kept across replays)."""

    __tablename__ = "token_info"

    address: str = Field(primary_key=True)
    symbol: str
    name: str
    decimals: int


DERIVED_TABLES = (Loan, Note, Repayment, Claim, Score, Identity, Token, Account, Snapshot)
