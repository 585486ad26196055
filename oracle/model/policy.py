"""The on-chain behaviour overlay: the model's score adjusted by the borrower's Peerlend record.

The scorecard knows the application; Peerlend also knows how the account has repaid. The rules
(:func:`apply_policy`, a pure function; parameters in :class:`PolicyParams`, stored in the model
artifact so that the on-chain model id covers them too):

1. **Default**: any past default on Peerlend makes the account ineligible: grade 0, and the score
   is capped at ``default_cap`` (499), below the E threshold, because CreditOracle grades the
   pushed score itself and must arrive at grade 0 too.
2. **Late payments**: each repayment made after its due time costs ``late_penalty`` (25) points.
3. **On-time payments**: each repayment made on or before its due time adds ``on_time_bonus``
   (5) points, at most ``on_time_cap`` (25) in total — under half a grade, so a thin good record
   cannot buy a grade, and one late payment outweighs five on-time ones.

The adjusted score is clipped into [300, 850] and graded with the same thresholds as the
contract. Counts are of repayments (installments), as the service reads them from LoanBook
events (``oracle.service.history.BorrowerHistory``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from oracle.model.scorecard import GRADE_THRESHOLDS, MAX_SCORE, MIN_SCORE, grade_of

#: Reason codes the policy adds in front of the model's.
REASON_DEFAULT = "peerlend_default"
REASON_LATE = "peerlend_late_payments"


@dataclass(frozen=True)
class PolicyParams:
    late_penalty: int = 25
    on_time_bonus: int = 5
    on_time_cap: int = 25
    default_cap: int = 499


@dataclass(frozen=True)
class RepaymentRecord:
    """A borrower's Peerlend record: repayments on time, repayments late, loans defaulted."""

    on_time: int = 0
    late: int = 0
    defaults: int = 0

    def __post_init__(self) -> None:
        for name in ("on_time", "late", "defaults"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: must be a non-negative integer, got {value!r}")

    @classmethod
    def of(cls, history: Any) -> RepaymentRecord:
        """From a RepaymentRecord, a mapping, or any object with the service's attribute names
        (``repayments_on_time``, ``repayments_late``, ``defaults``) or these (``on_time``,
        ``late``, ``defaults``)."""
        if isinstance(history, cls):
            return history
        get = history.get if isinstance(history, Mapping) else lambda k, d=None: getattr(history, k, d)

        def first(*names: str) -> int:
            for name in names:
                value = get(name)
                if value is not None:
                    return value
            return 0

        return cls(
            on_time=first("on_time", "repayments_on_time", "repaid_on_time"),
            late=first("late", "repayments_late", "late_payments"),
            defaults=first("defaults"),
        )


@dataclass(frozen=True)
class PolicyOutcome:
    score: int
    grade: int
    adjustment: int  # points added (negative: removed) before clipping and the default cap
    reasons: tuple[str, ...]  # policy reason codes, most severe first


def apply_policy(
    score: int,
    record: RepaymentRecord,
    params: PolicyParams | None = None,
    thresholds: Sequence[int] = GRADE_THRESHOLDS,
) -> PolicyOutcome:
    """The model ``score`` adjusted by the Peerlend ``record`` (see the module docstring)."""
    params = params or PolicyParams()
    if not MIN_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"score: {score} outside [{MIN_SCORE}, {MAX_SCORE}]")
    bonus = min(params.on_time_bonus * record.on_time, params.on_time_cap)
    adjustment = bonus - params.late_penalty * record.late
    adjusted = max(MIN_SCORE, min(MAX_SCORE, score + adjustment))
    reasons: list[str] = []
    if record.defaults > 0:
        adjusted = min(adjusted, params.default_cap)
        reasons.append(REASON_DEFAULT)
    if record.late > 0:
        reasons.append(REASON_LATE)
    grade = 0 if record.defaults > 0 else grade_of(adjusted, thresholds)
    return PolicyOutcome(score=adjusted, grade=grade, adjustment=adjustment, reasons=tuple(reasons))
