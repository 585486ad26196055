"""Response models (they are the OpenAPI schema at /docs).

Token amounts and other uint256 values are decimal strings of base units: they do not fit a
JSON number. Times are unix seconds (block timestamps). Addresses are EIP-55.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
Amount = str


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Rows matching the filters")
    limit: int
    offset: int


class AsOf(BaseModel):
    block: int = Field(description="Last indexed block")
    timestamp: int = Field(description="Its timestamp: 'now' for statuses, penalties and days past due")


class Health(BaseModel):
    ok: bool = Field(
        description="Indexed, within the confirmations of the head, and no RPC error on the last poll"
    )
    chain_id: int | None
    head: int | None = Field(description="Chain head at the indexer's last poll")
    indexed_block: int | None
    indexed_timestamp: int | None
    lag: int | None = Field(description="head − indexed_block")
    confirmations: int | None
    indexer: dict[str, Any] | None = Field(description="In-process indexer status (serve), else null")


class LoanSummary(BaseModel):
    id: int
    borrower: str
    token: str
    grade: int
    grade_letter: str | None
    score: int
    principal: Amount
    apr_bps: int
    installments: int
    period_seconds: int
    method: Literal["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_ONLY", "BULLET"]
    status: Literal["OPEN", "FUNDED", "ACTIVE", "REPAID", "DEFAULTED", "CANCELLED", "EXPIRED"]
    funded: Amount
    lender_count: int
    funding_deadline: int
    requested_at: int
    disbursed_at: int | None
    principal_outstanding: Amount
    next_due_time: int | None
    next_due_amount: Amount | None
    past_due: Amount
    days_past_due: int


class NoteOut(BaseModel):
    id: int
    loan_id: int
    lender: str = Field(description="Who funded it")
    owner: str | None = Field(
        description="Current ERC-721 owner (buyers included); null once refunded and burned"
    )
    amount: Amount = Field(description="Principal funded")
    share: Amount = Field(description="As the contract's note.share: 0 once refunded")
    claimed: Amount
    claimable: Amount = Field(description="What the owner can claim now")
    refunded: Amount
    transfers: int
    funded_at: int
    burned: bool


class InstallmentOut(BaseModel):
    installment: int
    due_offset: int
    due_time: int | None
    principal: Amount
    interest: Amount
    amount: Amount
    paid: Amount
    unpaid: Amount
    status: Literal["PAID", "DUE", "OVERDUE", "SCHEDULED", "DEFAULTED", "NOT_DISBURSED"]
    days_overdue: int


class RepaymentOut(BaseModel):
    event_id: int
    loan_id: int
    kind: Literal["repayment", "recovery"]
    payer: str
    block_number: int
    timestamp: int
    tx_hash: str
    amount: Amount
    principal: Amount
    interest: Amount
    penalty: Amount
    fee_treasury: Amount
    fee_reserve: Amount
    to_noteholders: Amount
    to_reserve: Amount
    principal_outstanding: Amount
    next_installment: int


class EventOut(BaseModel):
    id: int
    block_number: int
    block_timestamp: int
    tx_hash: str
    log_index: int
    contract: str
    address: str
    name: str
    loan_id: int | None
    note_id: int | None
    args: dict[str, Any]


class LoanDetail(LoanSummary):
    as_of: AsOf
    status_recorded: str = Field(
        description="Status stored on-chain (an OPEN loan past its deadline reads EXPIRED)"
    )
    method_id: int
    terms: dict[str, int] = Field(description="Terms frozen at request time")
    review_ends_at: int | None
    fully_funded_at: int | None
    start: int | None
    closed_at: int | None
    cancelled_by: str | None
    annuity: Amount
    origination_fee: Amount
    disbursed_amount: Amount
    paid: dict[str, Amount]
    amount_due: dict[str, Any] = Field(description="As the contract's amount_due view at as_of")
    ledger: dict[str, Any]
    default: dict[str, Amount] | None
    schedule: list[InstallmentOut]
    notes: list[NoteOut]
    repayments: list[RepaymentOut]
    events: list[EventOut]


class ClaimOut(BaseModel):
    event_id: int
    note_id: int
    loan_id: int
    owner: str
    amount: Amount
    block_number: int
    timestamp: int
    tx_hash: str


class NoteDetail(NoteOut):
    as_of: AsOf
    loan: LoanSummary
    claims: list[ClaimOut]
    events: list[EventOut]


class ScoreOut(BaseModel):
    score: int
    grade: int
    grade_letter: str | None
    model: str
    expires_at: int
    block_number: int
    timestamp: int


class CalculatorOut(BaseModel):
    principal: Amount
    apr_bps: int
    installments: int
    period_seconds: int
    method: str
    annuity: Amount | None
    total_principal: Amount
    total_interest: Amount
    total: Amount
    schedule: list[dict[str, Any]]
