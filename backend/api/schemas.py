"""Response models (they are the OpenAPI schema at /docs).

Token amounts and other uint256 values are decimal strings of base units: they do not fit a
JSON number. Times are unix seconds (block timestamps). Addresses are EIP-55.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from backend.core.vocabulary import METHOD_NAMES, STATUS_NAMES

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
    token_symbol: str | None = Field(description="The token's symbol (see /tokens for decimals)")
    token_decimals: int | None = Field(description="Amounts are base units: divide by 10^token_decimals")
    grade: int
    grade_letter: str | None
    score: int
    principal: Amount
    apr_bps: int
    installments: int
    period_seconds: int
    method: Literal[METHOD_NAMES]
    method_id: int = Field(description="The contract's number for the method (0–3)")
    status: Literal[STATUS_NAMES]
    status_id: int = Field(description="The contract's number for the status (1–7)")
    funded: Amount
    lender_count: int = Field(description="Distinct accounts that funded a note of the loan")
    note_count: int = Field(description="Notes funded (an account may fund several)")
    funding_deadline: int
    requested_at: int
    disbursed_at: int | None
    principal_outstanding: Amount = Field(
        description="Active: not yet repaid. Defaulted: principal at default until the debt is fully "
        "recovered (as the contract's exposure counts it). Else 0"
    )
    next_due_time: int | None = Field(
        description="Oldest installment with anything unpaid; null unless ACTIVE"
    )
    next_due_amount: Amount | None
    past_due: Amount = Field(
        description="Installments due and unpaid (penalty excluded); a defaulted loan's remaining debt"
    )
    days_past_due: int = Field(
        description="Days since the oldest unpaid installment fell due; a defaulted loan counts until recovered"
    )


class NoteOut(BaseModel):
    id: int
    loan_id: int
    token: str = Field(description="The loan's token")
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
    paid: Amount = Field(
        description="Paid by repayments (they pay each installment's interest, then principal)"
    )
    paid_principal: Amount
    paid_interest: Amount
    waived: Amount = Field(
        description="Interest never owed: the loan was settled early (repay_in_full charges interest to date) "
        "or defaulted (the debt froze interest at the default time)"
    )
    recovered: Amount = Field(description="A defaulted loan's recoveries, applied to installments in order")
    unpaid: Amount = Field(description="amount − paid − waived − recovered")
    status: Literal[
        "PAID", "SETTLED", "DUE", "OVERDUE", "SCHEDULED", "DEFAULTED", "RECOVERED", "NOT_DISBURSED"
    ]
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


class Terms(BaseModel):
    """Terms frozen when the loan was requested (the contract's `loan_terms`)."""

    origination_fee_bps: int
    service_fee_bps: int
    reserve_share_bps: int
    penalty_bps_per_day: int
    penalty_cap_bps: int
    coverage_bps: int
    grace_seconds: int
    default_after_seconds: int
    review_seconds: int
    disburse_seconds: int = Field(
        description="After the review, how long disbursement may wait before the notes refund"
    )


class Paid(BaseModel):
    principal: Amount
    interest: Amount
    penalty: Amount
    recovered: Amount = Field(description="Paid on the defaulted loan (Recovery events)")


class AmountDue(BaseModel):
    """The contract's `amount_due` view at as_of (all 0 unless ACTIVE; DEFAULTED: payoff only)."""

    past_due: Amount
    penalty: Amount
    next_due_time: int | None = Field(description="null where the contract returns 0 (not ACTIVE)")
    next_due_amount: Amount
    principal_outstanding: Amount
    payoff: Amount = Field(description="What repay_in_full would take now")


class LedgerOut(BaseModel):
    """The contract's `ledger` view."""

    cursor: int
    scheduled_remaining: Amount
    interest_paid_current: Amount
    principal_paid_current: Amount
    penalty_owed: Amount
    penalty_charged: Amount
    accrued_until: int
    acc_per_share: Amount
    distributed: Amount


class DefaultRecordOut(BaseModel):
    """The contract's `default_record` view."""

    debt: Amount
    cover: Amount
    recovered: Amount
    principal: Amount = Field(description="Principal outstanding at default")


class LoanDetail(LoanSummary):
    as_of: AsOf
    status_recorded: str = Field(
        description="Status stored on-chain (an OPEN loan past its deadline reads EXPIRED)"
    )
    terms: Terms
    review_ends_at: int | None
    fully_funded_at: int | None
    start: int | None
    closed_at: int | None
    cancelled_by: str | None
    annuity: Amount
    origination_fee: Amount
    disbursed_amount: Amount
    paid: Paid
    amount_due: AmountDue
    ledger: LedgerOut
    default: DefaultRecordOut | None
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
    method_id: int
    annuity: Amount | None
    total_principal: Amount
    total_interest: Amount
    total: Amount
    schedule: list[dict[str, Any]]


class MismatchOut(BaseModel):
    scope: Literal["totals", "token", "loan", "note", "exposure", "account"]
    key: str = Field(description="Loan or note id, token address, borrower/token, account")
    field: str
    sql: Any = Field(description="What the database serves (amounts as decimal strings)")
    chain: Any = Field(description="What the chain's view returns at the block")


class ReconcileReport(BaseModel):
    block: int = Field(description="The indexed block the views were called at")
    timestamp: int
    ok: bool
    checked: dict[str, int] = Field(description="Fields compared, by scope")
    calls: int = Field(description="eth_calls made")
    rpc_requests: int = Field(description="JSON-RPC batch requests they were sent in")
    mismatches: list[MismatchOut]


# ---------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------

ByToken = dict[str, Amount]


class Kyc(BaseModel):
    verified: bool = Field(description="Attested and not expired at as_of")
    identity_hash: str | None
    expires_at: int | None
    attested_at: int | None
    revoked_at: int | None
    blocked: bool
    blocked_changed_at: int | None


class AsBorrower(BaseModel):
    loans: list[LoanSummary]
    borrowed: ByToken = Field(description="Principal of disbursed loans, per token")
    principal_outstanding: ByToken = Field(description="Active loans, and defaulted ones until recovered")
    exposure: ByToken = Field(description="The contract's exposure(account, token)")
    payoff: ByToken = Field(description="What repay_in_full would take now, all loans")
    past_due: ByToken
    scores: list[ScoreOut]


class AsLender(BaseModel):
    notes: list[NoteOut] = Field(description="Notes owned now (bought ones included)")
    funded_notes: list[int] = Field(description="Ids of the notes this account funded")
    invested: ByToken = Field(description="Every note it funded, refunded ones included")
    lent: ByToken = Field(description="Notes of loans that were disbursed")
    principal_outstanding: ByToken = Field(description="Pro rata share of owned notes' unpaid principal")
    received: ByToken = Field(description="Claims paid to it")
    refunded: ByToken
    claimable: ByToken
    realised_return: ByToken


class AccountOut(BaseModel):
    address: str
    as_of: AsOf
    kyc: Kyc
    borrower: AsBorrower
    lender: AsLender
    event_count: int
    is_known: bool
    roles: list[Literal["borrower", "lender"]]


# ---------------------------------------------------------------------------
# Stats
# ---------------------------------------------------------------------------

Statuses = dict[Literal[STATUS_NAMES], int]


class CountAmount(BaseModel):
    count: int
    principal: Amount


class Bucket(BaseModel):
    loans: int
    past_due: Amount
    principal_outstanding: Amount
    rate: float | None = Field(description="Bucket outstanding / all outstanding")


class Overdue(BaseModel):
    buckets: dict[Literal["1-30", "31-90", "90+"], Bucket]
    loans: int
    past_due: Amount
    principal_outstanding: Amount
    rate: float | None


class DefaultStats(BaseModel):
    count: int
    principal: Amount = Field(description="Principal outstanding at default")
    rate: float | None = Field(description="By amount: principal at default / disbursed principal")
    rate_by_count: float | None


class ReserveStats(BaseModel):
    balance: Amount
    deposits: Amount
    fees_in: Amount
    cover_paid: Amount
    recovered: Amount


class FeeStats(BaseModel):
    collected: Amount
    to_treasury: Amount
    to_reserve: Amount
    withdrawn: Amount
    balance: Amount


class Repaid(BaseModel):
    principal: Amount
    interest: Amount
    penalty: Amount
    recovered: Amount


class GradeStats(BaseModel):
    grade: int
    grade_letter: str | None
    requested: int
    disbursed: int
    volume: Amount
    principal_outstanding: Amount
    defaulted: int
    default_rate: float | None
    average_apr_bps: float


class MonthStats(BaseModel):
    month: str | None = Field(description="YYYY-MM (UTC)")
    requested: int
    requested_principal: Amount
    disbursed: int
    volume: Amount
    repaid_amount: Amount
    defaulted: int
    defaulted_principal: Amount
    outstanding_end: Amount = Field(
        description="Principal outstanding at the end of the month (the last month's: now), as `principal_outstanding`"
    )


class TokenStats(BaseModel):
    token: str
    symbol: str | None = Field(description="The token's ERC-20 symbol, read from the chain once")
    decimals: int | None = Field(description="Its decimals: amounts are base units, divide by 10^decimals")
    volume: CountAmount
    requested: CountAmount
    principal_outstanding: Amount
    active_loans: int
    loans_by_status: Statuses
    borrowers: int
    lenders: int
    repaid: Repaid
    overdue: Overdue
    default: DefaultStats
    reserve: ReserveStats
    fees: FeeStats
    escrow_held: Amount
    by_grade: list[GradeStats]
    by_month: list[MonthStats]


class StatsOut(BaseModel):
    as_of: AsOf
    borrowers: int
    lenders: int
    noteholders: int
    loans: int
    loans_by_status: Statuses
    overdue_loans: dict[Literal["1-30", "31-90", "90+"], int]
    default_rate_by_count: float | None
    tokens: list[TokenStats]


class TokenOut(BaseModel):
    address: str
    symbol: str
    name: str
    decimals: int = Field(description="Amounts are base units: divide by 10^decimals to show them")
    allowed: bool = Field(description="Accepted by the book for new loans")


class Ping(BaseModel):
    ok: bool
