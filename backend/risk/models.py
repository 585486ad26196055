"""Tables of the risk package, on the indexer's registry (one migration history).

`risk_transfer` and `risk_transfer_cursor` mirror chain data the indexer does not keep (ERC-20
transfers of the allow-listed tokens); `alert_ack` and `reminder_delivery` are operator and
delivery records: they are not derived from events, so a reorg replay leaves them alone.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field

from backend.db.models import U256, BackendModel, Big


class RiskTransfer(BackendModel, table=True):
    """One ERC-20 `Transfer` log of an allow-listed token."""

    __tablename__ = "risk_transfer"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_risk_transfer_tx_log"),
        Index("ix_risk_transfer_token_block", "token", "block_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    token: str
    block_number: int = Big()
    block_hash: str
    timestamp: int = Big()
    tx_hash: str = Field(index=True)
    log_index: int
    sender: str = Field(index=True)
    receiver: str = Field(index=True)
    amount: int = U256()


class RiskTransferCursor(BackendModel, table=True):
    """Per token, the last block whose transfers are stored (and its hash, to notice reorgs)."""

    __tablename__ = "risk_transfer_cursor"

    token: str = Field(primary_key=True)
    last_block: int = Big()
    last_block_hash: str | None = None


class AlertAck(BackendModel, table=True):
    """A risk officer's acknowledgement of one AML alert (alert ids are stable across blocks)."""

    __tablename__ = "alert_ack"

    alert_id: str = Field(primary_key=True)
    rule: str
    action: str = Field(description="dismissed | escalated | blocklisted")
    note: str = ""
    by: str
    acked_at: int = Big(description="Wall-clock unix seconds")
    alert: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReminderDelivery(BackendModel, table=True):
    """The delivery log: one row per reminder and endpoint, created before the first attempt."""

    __tablename__ = "reminder_delivery"
    __table_args__ = (
        UniqueConstraint("reminder_id", "url", name="uq_reminder_delivery_reminder_url"),
        Index("ix_reminder_delivery_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reminder_id: str
    url: str
    kind: str
    account: str = Field(index=True)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(description="pending | delivered | failed")
    attempts: int = 0
    next_attempt_at: int = Big()
    created_at: int = Big()
    delivered_at: int | None = Field(default=None, sa_type=BigInteger)
    last_status_code: int | None = None
    last_error: str | None = None


RISK_TABLES = (RiskTransfer, RiskTransferCursor, AlertAck, ReminderDelivery)
