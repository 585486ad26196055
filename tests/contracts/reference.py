"""Python references of LoanBook's schedule math (docs/contracts.md).

- `schedule_int`: the documented integer algorithm (floor everywhere, last installment
  absorbs), which the contract must match to the unit — the indexer's own port;
- `schedule_exact`: the same schedule in exact `Decimal` arithmetic with no rounding,
  which the integer schedule must stay within the rounding bound of.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

from peerlend import loanmath
from peerlend.loanmath import BPS, YEAR, annuity_payment

EXACT = Context(prec=80)

EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET = range(4)

__all__ = ["annuity_payment", "exact_interest_total", "schedule_exact", "schedule_int"]


def schedule_int(principal, apr_bps, n, period, method) -> list[tuple[int, int, int]]:
    """[(due_offset, principal_part, interest_part)] by the documented integer algorithm.

    This is the indexer's port (peerlend/loanmath.py), so every contract test that compares
    against it also proves the API's calculator equals the contract to the unit.
    """
    return [
        (row.due_offset, row.principal, row.interest)
        for row in loanmath.schedule(principal, apr_bps, n, period, method)
    ]


def schedule_exact(principal, apr_bps, n, period, method) -> list[tuple[Decimal, Decimal]]:
    """[(principal_part, interest_part)] with exact rational arithmetic and no rounding."""
    with localcontext(EXACT):
        return _schedule_exact(principal, apr_bps, n, period, method)


def exact_interest_total(principal, apr_bps, n, period, method) -> Decimal:
    """Total interest of the exact schedule, summed without rounding (the default Decimal
    context keeps only 28 digits, which loses units on 30-digit principals)."""
    with localcontext(EXACT):
        return sum(
            (interest for _, interest in _schedule_exact(principal, apr_bps, n, period, method)), Decimal(0)
        )


def _schedule_exact(principal, apr_bps, n, period, method) -> list[tuple[Decimal, Decimal]]:
    p = Decimal(principal)
    r = Decimal(apr_bps) / BPS * Decimal(period) / YEAR
    rows, remaining = [], p
    if method == BULLET:
        return [(Decimal(0), Decimal(0))] * (n - 1) + [(p, p * r * n)]
    if method == EQUAL_INSTALLMENT:
        payment = p / n if r == 0 else p * r / (1 - (1 + r) ** -n)
    for k in range(1, n + 1):
        interest = remaining * r
        if k == n:
            part = remaining
        elif method == EQUAL_INSTALLMENT:
            part = payment - interest
        elif method == EQUAL_PRINCIPAL:
            part = p / n
        else:
            part = Decimal(0)
        rows.append((part, interest))
        remaining -= part
    return rows
