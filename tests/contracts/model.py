"""The Python model the LoanBook state machine (test_invariants.py) checks the contract against.

What it keeps itself: every loan, note, balance and per-token total the contract keeps (status,
funding, notes and their owners, claims, fees, reserve, escrow, exposure per KYC identity, default
records), the lifecycle rules (who may do what when, deadlines, gates) and the audit trail the
invariants need (money in and out, the principal-time integral).

What it does not copy: the arithmetic of a live ledger (installment parts, penalty accrual, the
payoff, the repayment waterfall with its prepayment rule). That is `peerlend.loanmath`, the
indexer's line-by-line port of contracts/lib/loan_math.vy and LoanBook's `_waterfall`, already
held to the contract by tests/backend/test_loanmath.py; a third copy here would only be a third
place to keep in step. The machine still checks the port's results against the contract after
every step, and checks them against rules that need no ledger arithmetic at all: interest paid
never exceeds simple interest on the principal actually outstanding over time, what the notes
receive adds up to what was paid, the penalty cap, escrow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peerlend import loanmath
from tests.contracts.helpers import ACC_SCALE, DEFAULTED, EXPIRED, FUNDED, OPEN, TermsParams

BPS = loanmath.BPS
YEAR = loanmath.YEAR


@dataclass
class MNote:
    id: int
    loan_id: int
    share: int
    owner: str
    claimed: int = 0
    burned: bool = False
    operator: str | None = None


@dataclass
class MLoan:
    id: int
    borrower: str
    identity: bytes  # the KYC identity the loan's exposure counts on
    token: int  # index into world.tokens
    principal: int
    apr: int
    n: int
    period: int
    method: int
    terms: TermsParams
    deadline: int
    status: int = OPEN  # as stored (EXPIRED is stored only by `expire` or the first refund)
    funded: int = 0
    review_ends_at: int = 0
    start: int = 0
    annuity: int = 0
    notes: list = field(default_factory=list)
    ledger: loanmath.LoanState | None = None  # from disbursement
    acc: int = 0
    distributed: int = 0
    # default record
    debt: int = 0
    cover: int = 0
    recovered: int = 0
    default_principal: int = 0  # principal outstanding at default: counts in exposure until recovered
    # audit trail
    seen_status: int = OPEN
    repaid_amount: int = 0  # Σ what repay/repay_in_full took (return values)
    ev_amount: int = 0  # Σ Repayment.amount
    ev_principal: int = 0
    ev_interest: int = 0
    ev_penalty: int = 0
    ev_to_notes: int = 0
    ev_recovered_to_notes: int = 0
    distributed_at_default: int = 0
    # Σ principal outstanding x seconds, up to `integral_at`: interest may never exceed
    # integral x apr / (BPS x YEAR) (floors only ever round down from it).
    integral: int = 0
    integral_at: int = 0

    @property
    def cap(self) -> int:
        return self.principal * self.terms.penalty_cap_bps // BPS

    @property
    def disburse_deadline(self) -> int:
        return self.review_ends_at + self.terms.disburse_seconds

    def effective_status(self, now: int) -> int:
        if self.status == OPEN and now >= self.deadline:
            return EXPIRED
        if self.status == FUNDED and now >= self.disburse_deadline:
            return EXPIRED
        return self.status

    # The live ledger, read through the port.
    @property
    def cursor(self) -> int:
        return self.ledger.cursor if self.ledger else 0

    @property
    def outstanding(self) -> int:
        if not self.ledger:
            return 0
        return self.ledger.scheduled_remaining - self.ledger.principal_paid_current

    def disburse(self, now: int) -> None:
        level = loanmath.level_of(self.method, self.principal, self.apr, self.n, self.period)
        self.start = now
        self.annuity = level if self.method == loanmath.EQUAL_INSTALLMENT else 0
        self.ledger = loanmath.LoanState(
            principal=self.principal, apr_bps=self.apr, installments=self.n, period_seconds=self.period,
            method=self.method, start=now, annuity=self.annuity,
            penalty_bps_per_day=self.terms.penalty_bps_per_day, penalty_cap_bps=self.terms.penalty_cap_bps,
            grace_seconds=self.terms.grace_seconds, cursor=1, scheduled_remaining=self.principal,
            interest_paid_current=0, principal_paid_current=0, penalty_owed=0, penalty_charged=0,
            accrued_until=now, level=level, interest_from=now,
        )  # fmt: skip
        self.ledger.cursor = loanmath.initial_cursor(self.ledger)
        self.integral_at = now

    def pending_penalty(self, now: int) -> int:
        return loanmath.pending_penalty(self.ledger, now)

    def accrue(self, now: int) -> None:
        added = self.pending_penalty(now)
        self.ledger.accrued_until = now
        self.ledger.penalty_owed += added
        self.ledger.penalty_charged += added

    def payoff_parts(self, now: int) -> tuple[int, int]:
        return loanmath.payoff_parts(self.ledger, now)

    def payoff(self, now: int) -> int:
        interest, principal = self.payoff_parts(now)
        return self.ledger.penalty_owed + self.pending_penalty(now) + interest + principal

    def amount_due(self, now: int) -> loanmath.Due:
        return loanmath.amount_due(self.ledger, now)

    def integrate(self, now: int) -> None:
        """Adds the principal outstanding since the last change (call before it changes)."""
        self.integral += self.outstanding * (now - self.integral_at)
        self.integral_at = now

    def interest_bound(self) -> int:
        """Simple interest on the principal actually outstanding so far, rounded down."""
        return self.integral * self.apr // (BPS * YEAR)

    def default_eligible(self, now: int) -> bool:
        return now > self.start + self.cursor * self.period + self.terms.default_after_seconds

    def credit(self, amount: int) -> None:
        self.acc += amount * ACC_SCALE // self.principal
        self.distributed += amount

    @property
    def closed_by_default(self) -> bool:
        return self.status == DEFAULTED


def entitled(note: MNote, loan: MLoan) -> int:
    """Everything the note has been credited: claimed + claimable."""
    if note.share == 0:
        return note.claimed
    return note.share * loan.acc // ACC_SCALE


def claimable(note: MNote, loan: MLoan) -> int:
    return 0 if note.share == 0 else entitled(note, loan) - note.claimed
