"""Python port of LoanBook's loan arithmetic, exact to the base unit.

Ported line by line from `contracts/lib/schedule_math.vy` (schedule) and `contracts/LoanBook.vy`
(`_check_loan_terms`, `_skip_settled`, `_pending_penalty`, `_payoff_parts`, `amount_due`,
`_claimable`). One rounding rule, as on-chain: every division rounds down, and the last
installment's principal is whatever scheduled principal remains.

Both services use it (the indexer's derived state, the oracle's lateness history).
`tests/backend/test_loanmath.py` checks `schedule` against the contract's `schedule` view
and `amount_due` against the contract's `amount_due` view.
"""

from __future__ import annotations

from dataclasses import dataclass

from peerlend.vocabulary import (  # noqa: F401  (the limits `check_loan_terms` enforces)
    BPS,
    DAY,
    MAX_APR_BPS,
    MAX_INSTALLMENTS,
    MAX_PERIOD_SECONDS,
    MAX_PRINCIPAL,
    MAX_TERM_SECONDS,
    MIN_PERIOD_SECONDS,
    YEAR,
    Method,
)

PRECISION = 10**36
ACC_SCALE = 10**27

EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET = Method
METHODS = tuple(method.name for method in Method)


class TermsError(ValueError):
    """Terms the contract rejects; the message is the contract's revert string."""


def check_loan_terms(
    principal: int, apr_bps: int, installments: int, period_seconds: int, method: int
) -> None:
    """`LoanBook._check_loan_terms`: same checks, same order, same messages."""
    if principal <= 0:
        raise TermsError("loanbook: zero principal")
    if principal > MAX_PRINCIPAL:
        raise TermsError("loanbook: principal too large")
    if apr_bps > MAX_APR_BPS:
        raise TermsError("loanbook: apr too high")
    if not 1 <= installments <= MAX_INSTALLMENTS:
        raise TermsError("loanbook: bad installments")
    if not MIN_PERIOD_SECONDS <= period_seconds <= MAX_PERIOD_SECONDS:
        raise TermsError("loanbook: bad period")
    if installments * period_seconds > MAX_TERM_SECONDS:
        raise TermsError("loanbook: term too long")
    if method > BULLET:
        raise TermsError("loanbook: bad method")


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


def annuity_payment(principal: int, apr_bps: int, installments: int, period_seconds: int) -> int:
    rate = apr_bps * period_seconds * PRECISION // (BPS * YEAR)
    if rate == 0:
        return principal // installments
    growth = ray_pow(PRECISION + rate, installments)
    factor = rate * growth // (growth - PRECISION)
    return principal * factor // PRECISION


def installment(
    method: int, principal: int, apr_bps: int, installments: int, period_seconds: int, annuity: int, k: int,
    remaining: int,
) -> tuple[int, int]:  # fmt: skip
    """(principal part, interest part) of installment k given scheduled principal `remaining` before it."""
    if method == BULLET:
        if k < installments:
            return 0, 0
        return remaining, period_interest(principal, apr_bps, period_seconds * installments)
    interest = period_interest(remaining, apr_bps, period_seconds)
    if k >= installments:
        return remaining, interest
    part = 0
    if method == EQUAL_INSTALLMENT:
        if annuity > interest:
            part = annuity - interest
    elif method == EQUAL_PRINCIPAL:
        part = principal // installments
    return min(part, remaining), interest


@dataclass(frozen=True)
class Installment:
    k: int
    due_offset: int
    principal: int
    interest: int

    @property
    def amount(self) -> int:
        return self.principal + self.interest


def schedule(
    principal: int, apr_bps: int, installments: int, period_seconds: int, method: int
) -> list[Installment]:
    """The contract's `schedule` view: validates the terms (TermsError) and lists every installment."""
    check_loan_terms(principal, apr_bps, installments, period_seconds, method)
    annuity = (
        annuity_payment(principal, apr_bps, installments, period_seconds)
        if method == EQUAL_INSTALLMENT
        else 0
    )
    rows, remaining = [], principal
    for k in range(1, installments + 1):
        part, interest = installment(
            method, principal, apr_bps, installments, period_seconds, annuity, k, remaining
        )
        rows.append(Installment(k, k * period_seconds, part, interest))
        remaining -= part
    return rows


# ---------------------------------------------------------------------------
# Active-loan arithmetic (the contract's ledger views)
# ---------------------------------------------------------------------------


@dataclass
class LoanState:
    """What `amount_due` reads: the loan record, its frozen terms and its ledger."""

    principal: int
    apr_bps: int
    installments: int
    period_seconds: int
    method: int
    start: int
    annuity: int
    penalty_bps_per_day: int
    penalty_cap_bps: int
    grace_seconds: int
    cursor: int
    scheduled_remaining: int
    interest_paid_current: int
    principal_paid_current: int
    penalty_owed: int
    penalty_charged: int
    accrued_until: int

    def part(self, k: int, remaining: int) -> tuple[int, int]:
        return installment(
            self.method, self.principal, self.apr_bps, self.installments, self.period_seconds, self.annuity, k,
            remaining,
        )  # fmt: skip

    def due_time(self, k: int) -> int:
        return self.start + k * self.period_seconds


def skip_settled(state: LoanState, cursor: int, remaining: int) -> int:
    k = cursor
    while k < state.installments:
        part, interest = state.part(k, remaining)
        if part + interest != 0:
            break
        k += 1
    return k


def first_cursor(
    principal: int,
    apr_bps: int,
    installments: int,
    period_seconds: int,
    method: int,
    annuity: int | None = None,
) -> int:
    """The ledger cursor `disburse` sets, from the loan's terms: the first installment with
    anything to pay (`_skip_settled` from 1), or the last for a bullet loan. On a 0%-APR
    interest-only loan or a loan too small for its first parts that is not installment 1.
    `annuity` is the loan record's (default: computed as `request_loan` does)."""
    if method == BULLET:
        return installments
    if annuity is None:
        annuity = (
            annuity_payment(principal, apr_bps, installments, period_seconds)
            if method == EQUAL_INSTALLMENT
            else 0
        )
    k = 1
    while k < installments:
        part, interest = installment(
            method, principal, apr_bps, installments, period_seconds, annuity, k, principal
        )
        if part + interest != 0:
            break
        k += 1
    return k


def initial_cursor(state: LoanState) -> int:
    """The ledger cursor `disburse` sets."""
    return first_cursor(
        state.principal, state.apr_bps, state.installments, state.period_seconds, state.method, state.annuity
    )


def pending_penalty(state: LoanState, now: int) -> int:
    if state.penalty_bps_per_day == 0 or now <= state.accrued_until:
        return 0
    cap = state.principal * state.penalty_cap_bps // BPS
    if state.penalty_charged >= cap:
        return 0
    added, k, remaining = 0, state.cursor, state.scheduled_remaining
    while k <= state.installments:
        late_from = state.due_time(k) + state.grace_seconds
        if late_from >= now:
            break
        part, interest = state.part(k, remaining)
        unpaid = part + interest
        if k == state.cursor:
            unpaid -= state.interest_paid_current + state.principal_paid_current
        elapsed = now - max(late_from, state.accrued_until)
        added += unpaid * state.penalty_bps_per_day * elapsed // (BPS * DAY)
        remaining -= part
        k += 1
    return min(added, cap - state.penalty_charged)


def payoff_parts(state: LoanState, now: int) -> tuple[int, int]:
    """(interest accrued to date, principal outstanding), as `repay_in_full` charges them."""
    interest, k, remaining = 0, state.cursor, state.scheduled_remaining
    while k <= state.installments:
        part, part_interest = state.part(k, remaining)
        paid = state.interest_paid_current if k == state.cursor else 0
        due_at = state.due_time(k)
        if due_at <= now:
            interest += part_interest - paid
        else:
            begin = state.start if state.method == BULLET else state.start + (k - 1) * state.period_seconds
            earned = part_interest * (now - begin) // (due_at - begin) if now > begin else 0
            if earned > paid:
                interest += earned - paid
            break
        remaining -= part
        k += 1
    return interest, state.scheduled_remaining - state.principal_paid_current


@dataclass(frozen=True)
class Due:
    past_due: int = 0
    penalty: int = 0
    next_due_time: int = 0
    next_due_amount: int = 0
    principal_outstanding: int = 0
    payoff: int = 0


def amount_due(state: LoanState, now: int) -> Due:
    """`LoanBook.amount_due` for an ACTIVE loan at block time `now`."""
    penalty = state.penalty_owed + pending_penalty(state, now)
    past_due, k, remaining = 0, state.cursor, state.scheduled_remaining
    while k <= state.installments and state.due_time(k) <= now:
        part, interest = state.part(k, remaining)
        unpaid = part + interest
        if k == state.cursor:
            unpaid -= state.interest_paid_current + state.principal_paid_current
        past_due += unpaid
        remaining -= part
        k += 1
    next_due_amount = 0
    if state.cursor <= state.installments:
        part, interest = state.part(state.cursor, state.scheduled_remaining)
        next_due_amount = part + interest - state.interest_paid_current - state.principal_paid_current
    interest_due, principal_due = payoff_parts(state, now)
    return Due(
        past_due=past_due,
        penalty=penalty,
        next_due_time=state.due_time(state.cursor),
        next_due_amount=next_due_amount,
        principal_outstanding=state.scheduled_remaining - state.principal_paid_current,
        payoff=penalty + interest_due + principal_due,
    )


def claimable(share: int, acc_per_share: int, claimed: int) -> int:
    """`LoanBook._claimable`: a note's pro-rata credit not yet claimed (0 once refunded)."""
    if share == 0:
        return 0
    return share * acc_per_share // ACC_SCALE - claimed


def owed_by_installment(state: LoanState, now: int) -> dict[int, int]:
    """What `_payoff_parts` charges at `now`, per installment from the cursor on: its scheduled
    principal plus the interest earned by then (all of it once due, the running installment's
    pro rata and never less than already paid, none after). Amounts already paid on the cursor
    installment are included, so the values minus what was paid sum to the payoff's interest
    and principal. A defaulted loan's debt is this at the default time, plus penalty."""
    owed: dict[int, int] = {}
    running_done = False
    k, remaining = state.cursor, state.scheduled_remaining
    while k <= state.installments:
        part, part_interest = state.part(k, remaining)
        interest = 0
        if not running_done:
            paid = state.interest_paid_current if k == state.cursor else 0
            due_at = state.due_time(k)
            if due_at <= now:
                interest = part_interest
            else:
                begin = (
                    state.start if state.method == BULLET else state.start + (k - 1) * state.period_seconds
                )
                earned = part_interest * (now - begin) // (due_at - begin) if now > begin else 0
                interest = max(earned, paid)
                running_done = True
        owed[k] = part + interest
        remaining -= part
        k += 1
    return owed
