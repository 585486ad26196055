"""Revert strings in plain words: what the contract refused and, where there is one, the limit.

`explain(reason, facts)` turns "loanbook: over grade cap" into "over grade cap: grade D may
borrow at most 5,000 tUSD in one loan". `facts` carries what the command already knows (the
borrower's grade and limits, the loan's dates); a reason this table does not know is shown as
the contract wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

APPLY = "apply for one with `peerlend --account ALIAS score apply --fields application.json`"

PLAIN: dict[str, str] = {
    "loanbook: token not allowed": "the book does not accept this token",
    "loanbook: zero principal": "the principal must be more than zero",
    "loanbook: principal too large": "the principal is above the contract's maximum (10^30 base units)",
    "loanbook: apr too high": "APR above the contract's ceiling of 36% a year",
    "loanbook: bad installments": "installments must be 1 to 360",
    "loanbook: bad period": "the period must be 1 to 366 days",
    "loanbook: term too long": "installments × period may be at most 3,660 days",
    "loanbook: bad method": "unknown repayment method",
    "loanbook: bad funding window": "the funding window must be 1 hour to 30 days",
    "loanbook: borrower not verified": "this account has no valid KYC attestation (the platform's KYC "
    "provider attests accounts in IdentityRegistry)",
    "loanbook: borrower blocked": "this account is blocked from borrowing",
    "loanbook: score expired": f"this account has no valid credit score (none yet, or it expired): {APPLY}",
    "loanbook: not scored": f"this account has no credit score yet: {APPLY}",
    "loanbook: grade not eligible": "this account's credit grade is not eligible to borrow",
    "loanbook: over grade cap": "over grade cap: the principal is above this grade's largest loan",
    "loanbook: over exposure cap": "over exposure cap: this grade's total of open loans would be exceeded",
    "loanbook: apr below grade floor": "APR below this grade's floor",
    "loanbook: not open": "the loan is not open for funding",
    "loanbook: funding closed": "the loan's funding window has closed",
    "loanbook: borrower cannot fund": "a borrower cannot fund their own loan",
    "loanbook: lender blocked": "this account is blocked from lending",
    "loanbook: lender not verified": "funding this much needs a KYC-verified lender",
    "loanbook: zero amount": "the amount must be more than zero",
    "loanbook: expired": "the request's funding window is over: `peerlend expire LOAN` records it",
    "loanbook: not allowed": "only the borrower (while the loan is open) or the risk officer (also during "
    "review) may cancel it",
    "loanbook: funded, only the risk officer can veto": "the loan is fully funded: only the risk officer "
    "can still veto it, during review",
    "loanbook: review over": "the review window is over: the loan can no longer be vetoed",
    "loanbook: not cancellable": "only an open or an in-review loan can be cancelled",
    "loanbook: not expired": "the loan has not expired: it is still open for funding, or not open at all",
    "loanbook: not refundable": "only notes of cancelled or expired loans are refunded; claim instead",
    "loanbook: not funded": "the loan is not fully funded, so there is nothing to disburse",
    "loanbook: in review": "the loan is still in review",
    "loanbook: disbursement deadline passed": "the disbursement deadline passed: the loan expired and "
    "its notes are refunded",
    "loanbook: not active": "the loan is not being repaid (it is not active)",
    "loanbook: nothing owed": "nothing is owed on this loan",
    "loanbook: not in default": "no installment is late by more than the loan's default threshold yet",
    "loanbook: nothing to claim": "this note has nothing to claim right now",
    "loanbook: transfer failed": "the token transfer failed: balance or allowance too low",
    "loanbook: fee-on-transfer token": "the token delivered less than was sent (a transfer fee)",
    "loanbook: no such loan": "no such loan",
    "loanbook: no such note": "no such note",
    "note: not owner or approved": "this account neither owns the note nor is approved for it",
    "note: no such note": "no such note",
    "note: receiver does not accept notes": "the receiving contract does not answer onERC721Received, "
    "so the transfer is refused",
    "note: transfer to zero address": "a note cannot be sent to the zero address",
    "note: owner mismatch": "that account does not own the note",
    "pausable: contract is paused": "the platform is paused: new loans, funding and disbursement wait",
    "oracle: request cooldown": "a score was requested a moment ago: wait for the cooldown, then request again",
}


def explain(reason: str, facts: dict[str, Callable[[], str | None] | str] | None = None) -> str:
    """Plain words for `reason`; `facts[reason]` (a string or a function computing one) adds
    the limit or date that applies."""
    extra: Any = (facts or {}).get(reason)
    if callable(extra):
        try:
            extra = extra()
        except Exception:  # a fact is a courtesy: never hide the reason behind a second failure
            extra = None
    words = PLAIN.get(reason, reason or "the contract refused without a reason")
    if extra and reason not in PLAIN:
        return extra
    if extra:
        head = words.split(":", 1)[0] if ":" in words and reason in _HEADED else words
        return f"{head}: {extra}"
    return words


_HEADED = {
    "loanbook: over grade cap",
    "loanbook: over exposure cap",
}
