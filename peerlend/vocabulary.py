"""The words of the lending book, with the numbers the contracts use for them.

One place for every piece of domain vocabulary the Python side shares: loan statuses,
repayment methods, credit grades, the ten frozen terms fields, time units and the contracts'
hard caps. `tests/test_vocabulary.py` parses the Vyper sources and fails if any number here
drifts from its contract constant.
"""

from __future__ import annotations

from enum import IntEnum

# ---------------------------------------------------------------- units

BPS = 10_000  # basis points in 1
DAY = 86_400  # seconds
YEAR = 365 * DAY  # the contracts' interest year (no leap days)


# ---------------------------------------------------------------- loan status


class LoanStatus(IntEnum):
    """`LoanBook` status constants (0 means no such loan)."""

    OPEN = 1
    FUNDED = 2
    ACTIVE = 3
    REPAID = 4
    DEFAULTED = 5
    CANCELLED = 6
    EXPIRED = 7

    @property
    def label(self) -> str:
        """Lower-case name, as the wallet CLI prints and accepts it: `open`, `defaulted`."""
        return self.name.lower()

    @property
    def disbursed(self) -> bool:
        """The borrower received the principal: a schedule runs (or ran)."""
        return self in DISBURSED

    @property
    def refunds_notes(self) -> bool:
        """Never disbursed and over: each note takes its principal back (`refund`)."""
        return self in REFUNDED

    @property
    def accrues(self) -> bool:
        """Installments fall due and penalties accrue: `amount_due` is meaningful."""
        return self in ACCRUING


DISBURSED = frozenset({LoanStatus.ACTIVE, LoanStatus.REPAID, LoanStatus.DEFAULTED})
UNDISBURSED = frozenset({LoanStatus.OPEN, LoanStatus.FUNDED, LoanStatus.CANCELLED, LoanStatus.EXPIRED})
REFUNDED = frozenset({LoanStatus.CANCELLED, LoanStatus.EXPIRED})
ACCRUING = frozenset({LoanStatus.ACTIVE, LoanStatus.DEFAULTED})


# ---------------------------------------------------------------- repayment method


class Method(IntEnum):
    """`schedule_math` method constants (DESIGN §3 Methods)."""

    EQUAL_INSTALLMENT = 0  # 等额本息: annuity
    EQUAL_PRINCIPAL = 1  # 等额本金
    INTEREST_ONLY = 2  # 先息后本: principal with the last installment
    BULLET = 3  # 到期还本付息: one payment at maturity

    @property
    def label(self) -> str:
        """The CLI spelling: `equal-installment`."""
        return self.name.lower().replace("_", "-")

    @property
    def words(self) -> str:
        """Plain words for prose: `equal installment`."""
        return self.name.lower().replace("_", " ")

    @classmethod
    def parse(cls, text: str) -> Method:
        """`EQUAL_INSTALLMENT`, `equal-installment` or `equal installment` → the method."""
        key = text.strip().upper().replace("-", "_").replace(" ", "_")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown method {text!r}") from None


# ---------------------------------------------------------------- credit grade


class Grade(IntEnum):
    """`CreditOracle` grades: 1 = A (best) … 5 = E; 0 is an account the policy makes ineligible
    (a past default), or one with no score at all."""

    INELIGIBLE = 0
    A = 1
    B = 2
    C = 3
    D = 4
    E = 5

    @property
    def letter(self) -> str | None:
        """`A`…`E`; None for grade 0, which has no letter (JSON `null`)."""
        return None if self is Grade.INELIGIBLE else self.name

    @property
    def label(self) -> str:
        """How people read the grade: `A`…`E`, and `ineligible` for grade 0."""
        return self.letter or "ineligible"


GRADES = tuple(grade for grade in Grade if grade is not Grade.INELIGIBLE)  # the five scored grades
GRADE_LETTERS: dict[int, str | None] = {int(grade): grade.letter for grade in Grade}


# ---------------------------------------------------------------- frozen terms

# `LoanBook.Terms`, in struct order: frozen into every loan at request time, and the tuple
# `LoanBook.set_params` and the constructor take.
TERMS_FIELDS = (
    "origination_fee_bps",
    "service_fee_bps",
    "reserve_share_bps",
    "penalty_bps_per_day",
    "penalty_cap_bps",
    "coverage_bps",
    "grace_seconds",
    "default_after_seconds",
    "review_seconds",
    "disburse_seconds",
)


# ---------------------------------------------------------------- hard caps (no admin can exceed them)

# LoanBook
MAX_ORIGINATION_FEE_BPS = 500
MAX_SERVICE_FEE_BPS = 2_000
MAX_PENALTY_BPS_PER_DAY = 50
MAX_PENALTY_CAP_BPS = 5_000
MAX_GRACE_SECONDS = 30 * DAY
MAX_DEFAULT_AFTER_SECONDS = 365 * DAY
MIN_REVIEW_SECONDS = 3_600
MAX_REVIEW_SECONDS = 7 * DAY
MIN_DISBURSE_SECONDS = 3_600
MAX_DISBURSE_SECONDS = 7 * DAY
MAX_APR_BPS = 3_600
MAX_INSTALLMENTS = 360
MIN_PERIOD_SECONDS = DAY
MAX_PERIOD_SECONDS = 366 * DAY
MAX_TERM_SECONDS = 3_660 * DAY
MIN_FUNDING_SECONDS = 3_600
MAX_FUNDING_SECONDS = 30 * DAY
MAX_PRINCIPAL = 10**27

# CreditOracle
MIN_SCORE = 300
MAX_SCORE = 850
MIN_TTL = 3_600
MAX_TTL = 365 * DAY
MAX_BATCH = 256
MAX_REQUEST_COOLDOWN = 7 * DAY
