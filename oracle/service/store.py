"""The service database (SQLModel; SQLite by default, any SQLAlchemy URL works).

Tables (all prefixed `oracle_`):

* `oracle_application` — one row per applicant address: the latest signed application, reduced
  to the model's input fields (nothing else the applicant sent is stored), plus the latest score
  pushed for the address.
* `oracle_submission` — every accepted signed submission: address, nonce, issued_at, the signed
  fields hash and scheme; no field values. The unique (address, nonce) pair blocks replays.
* `oracle_request` — a request to score an account: one per `ScoreRequested(account, nonce)` log
  (unique per account and nonce, so re-scanning a block range is harmless). Status:
  `needs_application` → `queued` → `pushing` → `done` | `failed`; a request the account
  replaced with a newer one before it was answered ends `superseded` (CreditOracle answers only
  an account's latest request).
* `oracle_push` — one row per `push_scores` batch, written with the signed transaction and its
  hash BEFORE it is broadcast (see `pusher.py`). Status: `signed` → `sent` → `done` | `failed` |
  `dropped`.
* `oracle_meta` — key/value: the log cursor and the deployment the database belongs to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, select

from peerlend import db as database
from peerlend.deployments import check_database_deployment

# request statuses
NEEDS_APPLICATION = "needs_application"
QUEUED = "queued"
PUSHING = "pushing"
DONE = "done"
FAILED = "failed"
SUPERSEDED = "superseded"
OPEN_REQUEST = (NEEDS_APPLICATION, QUEUED, PUSHING)
# push statuses (plus DONE, FAILED)
SIGNED = "signed"
SENT = "sent"
DROPPED = "dropped"
OPEN_PUSH = (SIGNED, SENT)


def now() -> int:
    return int(time.time())


class OracleModel(SQLModel, registry=registry()):
    """Base of the service's tables: their own metadata, so importing the service next to the
    indexer (one process in tests, the demo) never adds these tables to the indexer's schema."""


class Application(OracleModel, table=True):
    __tablename__ = "oracle_application"

    address: str = Field(primary_key=True, description="EIP-55 checksummed applicant address")
    fields_json: str = Field(sa_column=Column(Text, nullable=False), description="model inputs only")
    fields_hash: str = Field(description="0x keccak256 of the canonical JSON the applicant signed")
    nonce: int
    issued_at: int
    scheme: str
    received_at: int = Field(default_factory=now)
    # the latest score pushed for this address
    score: int | None = None
    grade: int | None = None
    pd: float | None = None
    reasons_json: str | None = Field(default=None, sa_column=Column(Text))
    model_id: str | None = None
    tx_hash: str | None = None
    scored_at: int | None = None

    @property
    def fields(self) -> dict[str, Any]:
        return json.loads(self.fields_json)


class Submission(OracleModel, table=True):
    __tablename__ = "oracle_submission"
    __table_args__ = (UniqueConstraint("address", "nonce", name="uq_submission_address_nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(index=True)
    nonce: int
    issued_at: int
    fields_hash: str
    scheme: str
    received_at: int = Field(default_factory=now)


class ScoreRequest(OracleModel, table=True):
    __tablename__ = "oracle_request"
    __table_args__ = (UniqueConstraint("account", "request_nonce", name="uq_request_account_nonce"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    source: str = "chain"  # always chain now; "cli" rows may remain from older versions
    request_nonce: int | None = None  # ScoreRequested.nonce: what the push answers on-chain
    block_number: int | None = None
    log_index: int | None = None
    request_tx: str | None = None
    status: str = Field(default=QUEUED, index=True)
    push_id: int | None = Field(default=None, index=True)
    error: str | None = None
    created_at: int = Field(default_factory=now)
    updated_at: int = Field(default_factory=now)


class Push(OracleModel, table=True):
    __tablename__ = "oracle_push"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=SIGNED, index=True)
    sender: str
    tx_nonce: int
    tx_hashes_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # every signed attempt
    raw_tx: str = Field(sa_column=Column(Text, nullable=False))  # the latest signed attempt
    entries_json: str = Field(
        sa_column=Column(Text, nullable=False)
    )  # [{account, request_nonce, score, grade, pd, reasons, history}]
    model_id: str
    ttl_seconds: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas: int
    created_at: int = Field(default_factory=now)
    sent_at: int | None = None
    mined_block: int | None = None
    tx_hash: str | None = None  # the attempt that was mined
    error: str | None = None

    @property
    def tx_hashes(self) -> list[str]:
        return json.loads(self.tx_hashes_json)

    @property
    def entries(self) -> list[dict[str, Any]]:
        return json.loads(self.entries_json)


class Meta(OracleModel, table=True):
    __tablename__ = "oracle_meta"

    key: str = Field(primary_key=True)
    value: str


TABLES = [Application.__table__, Submission.__table__, ScoreRequest.__table__, Push.__table__, Meta.__table__]


def make_engine(url: str) -> Engine:
    """An engine (`peerlend.db.make_engine`: on SQLite, WAL and a busy timeout so the API thread
    and the worker thread can write concurrently, and FULL sync so a committed pending push
    survives power loss) with the oracle tables created."""
    engine = database.make_engine(url)
    OracleModel.metadata.create_all(engine, tables=TABLES)
    return engine


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def get_meta(db: Session, key: str) -> str | None:
    row = db.get(Meta, key)
    return row.value if row else None


def set_meta(db: Session, key: str, value: str) -> None:
    row = db.get(Meta, key)
    if row is None:
        db.add(Meta(key=key, value=value))
    else:
        row.value = value
        db.add(row)


def bind_deployment(engine: Engine, chain_id: int, oracle_address: str) -> None:
    """Refuses a database that belongs to another chain or oracle contract (its cursor and
    pending pushes would be wrong there)."""
    identity = f"{chain_id}:{oracle_address.lower()}"
    with session(engine) as db:
        stored = get_meta(db, "deployment")
        check_database_deployment(stored, identity, remedy="use another PEERLEND_ORACLE_DB_URL")
        if stored is None:
            set_meta(db, "deployment", identity)


def latest_request(db: Session, account: str) -> ScoreRequest | None:
    return db.exec(
        select(ScoreRequest).where(ScoreRequest.account == account).order_by(ScoreRequest.id.desc())
    ).first()
