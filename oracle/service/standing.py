"""Feedback from early warning to scoring: no usable new score while a borrower is behind.

The rule (docs/risk_operations.md, "Feedback to scoring"), applied after the model and its
repayment policy (`oracle.model.policy`):

- **Active delinquency** — a disbursed loan of the account, not defaulted, has an installment
  past due on chain at the block read (`BorrowerHistory.delinquent_loans` > 0): the new score
  is capped at `WITHHELD_SCORE` (499), which every grade table on Peerlend maps to grade 0, so
  the push replaces any older, better score and the borrower cannot request a new loan until
  the arrears are paid and a new score is requested. Reason code `peerlend_active_delinquency`.
- **Unrecovered default** — already stricter in the model's policy: any default on Peerlend,
  recovered or not, caps the score below grade E (`peerlend_default`).

Pushing a grade-0 score, rather than pushing nothing, is deliberate: withholding alone would
leave the borrower's previous, still fresh score usable on chain.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oracle.service.history import BorrowerHistory
    from oracle.service.scorer import Scored

WITHHELD_SCORE = 499
REASON_DELINQUENT = "peerlend_active_delinquency"


def apply_standing(scored: Scored, history: BorrowerHistory) -> Scored:
    """`scored` lowered to a grade-0 score if the account is delinquent now; else unchanged."""
    if history.delinquent_loans <= 0:
        return scored
    return replace(
        scored,
        score=min(scored.score, WITHHELD_SCORE),
        grade=0,
        reasons=[REASON_DELINQUENT, *(r for r in scored.reasons if r != REASON_DELINQUENT)],
    )
