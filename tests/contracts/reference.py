"""Python reference of LoanBook's schedule math, written from docs/contracts.md.

Two versions:
- `schedule_int`: the documented integer algorithm (floor everywhere, last installment
  absorbs), which the contract must match to the unit;
- `schedule_exact`: the same schedule in exact `Decimal` arithmetic with no rounding,
  which the integer schedule must stay within a few base units of.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

EXACT = Context(prec=80)

BPS = 10_000
YEAR = 365 * 86_400
PRECISION = 10**36
EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET = range(4)


def period_interest(balance: int, apr_bps: int, seconds: int) -> int:
    return balance * apr_bps * seconds // (BPS * YEAR)


def ray_pow(base: int, exponent: int) -> int:
    result, b, e = PRECISION, base, exponent
    while e:
        if e & 1:
            result = result * b // PRECISION
        e >>= 1
        if e:
            b = b * b // PRECISION
    return result


def annuity_payment(principal: int, apr_bps: int, n: int, period: int) -> int:
    rate = apr_bps * period * PRECISION // (BPS * YEAR)
    if rate == 0:
        return principal // n
    growth = ray_pow(PRECISION + rate, n)
    return principal * (rate * growth // (growth - PRECISION)) // PRECISION


def installment(method, principal, apr_bps, n, period, annuity, k, remaining) -> tuple[int, int]:
    if method == BULLET:
        if k < n:
            return 0, 0
        return remaining, period_interest(principal, apr_bps, period * n)
    interest = period_interest(remaining, apr_bps, period)
    if k >= n:
        return remaining, interest
    part = 0
    if method == EQUAL_INSTALLMENT:
        part = max(annuity - interest, 0)
    elif method == EQUAL_PRINCIPAL:
        part = principal // n
    return min(part, remaining), interest


def schedule_int(principal, apr_bps, n, period, method) -> list[tuple[int, int, int]]:
    """[(due_offset, principal_part, interest_part)] exactly as the contract computes it."""
    annuity = annuity_payment(principal, apr_bps, n, period) if method == EQUAL_INSTALLMENT else 0
    rows, remaining = [], principal
    for k in range(1, n + 1):
        part, interest = installment(method, principal, apr_bps, n, period, annuity, k, remaining)
        rows.append((k * period, part, interest))
        remaining -= part
    return rows


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
