"""Python port of LoanBook's loan arithmetic, exact to the base unit.

Ported line by line from `contracts/lib/schedule_math.vy` (schedule), `contracts/lib/loan_math.vy`
(`_check_loan_terms`, `_skip_settled`, `_pending_penalty`, `_payoff_parts`), `contracts/LoanBook.vy`
(`_waterfall`, `_claimable`) and `contracts/LoanLens.vy` (`amount_due`). One rounding rule, as
on-chain: every division rounds down, and the last installment's principal is whatever scheduled
principal remains.

Both services use it (the indexer's derived state, the oracle's lateness history).
`tests/backend/test_loanmath.py` checks `schedule` against LoanLens's `schedule` view and
`amount_due` against LoanLens's `amount_due` view; the contract test state machine uses
`waterfall` and `payoff_parts` as its model of what a payment settles.
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


def level_of(method: int, principal: int, apr_bps: int, installments: int, period_seconds: int) -> int:
    """`schedule_math._level`: the annuity payment, or the principal part of EQUAL_PRINCIPAL."""
    if method == EQUAL_INSTALLMENT:
        return annuity_payment(principal, apr_bps, installments, period_seconds)
    if method == EQUAL_PRINCIPAL:
        return principal // installments
    return 0


def installment(
    method: int, level: int, apr_bps: int, installments: int, period_seconds: int, k: int, remaining: int,
    window: int,
) -> tuple[int, int]:  # fmt: skip
    """(principal part, interest part) of installment k given scheduled principal `remaining` before it
    and the seconds `window` its interest runs."""
    interest = period_interest(remaining, apr_bps, window)
    if method == BULLET:
        if k < installments:
            return 0, 0
        return remaining, interest
    if k >= installments:
        return remaining, interest
    part = 0
    if method == EQUAL_INSTALLMENT:
        full = interest if window == period_seconds else period_interest(remaining, apr_bps, period_seconds)
        if level > full:
            part = level - full
    elif method == EQUAL_PRINCIPAL:
        part = level
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
    level = level_of(method, principal, apr_bps, installments, period_seconds)
    window = period_seconds * installments if method == BULLET else period_seconds
    rows, remaining = [], principal
    for k in range(1, installments + 1):
        part, interest = installment(
            method, level, apr_bps, installments, period_seconds, k, remaining, window
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
    level: int
    interest_from: int

    def window_start(self, k: int) -> int:
        """`loan_math._window_start`: where installment k's interest starts running."""
        begin = self.start if self.method == BULLET else self.start + (k - 1) * self.period_seconds
        return max(begin, self.interest_from) if k == self.cursor else begin

    def part(self, k: int, remaining: int) -> tuple[int, int]:
        return installment(
            self.method, self.level, self.apr_bps, self.installments, self.period_seconds, k, remaining,
            self.due_time(k) - self.window_start(k),
        )  # fmt: skip

    def earned(self, k: int, remaining: int, now: int) -> int:
        """`loan_math._earned`: interest the running installment has earned by `now`."""
        begin = self.window_start(k)
        return period_interest(remaining, self.apr_bps, now - begin) if now > begin else 0

    def due_time(self, k: int) -> int:
        return self.start + k * self.period_seconds


def skip_settled(state: LoanState, cursor: int, remaining: int) -> int:
    k = cursor
    while k <= state.installments:
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
    level = level_of(method, principal, apr_bps, installments, period_seconds)
    if annuity is not None and method == EQUAL_INSTALLMENT:
        level = annuity
    k = 1
    while k < installments:
        part, interest = installment(
            method, level, apr_bps, installments, period_seconds, k, principal, period_seconds
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
        paid = state.interest_paid_current if k == state.cursor else 0
        if state.due_time(k) > now:
            interest += max(state.earned(k, remaining, now) - paid, 0)
            break
        part, part_interest = state.part(k, remaining)
        interest += part_interest - paid
        remaining -= part
        k += 1
    return interest, state.scheduled_remaining - state.principal_paid_current


@dataclass(frozen=True)
class Split:
    """What one payment settled (`LoanBook._waterfall`)."""

    penalty: int = 0
    interest: int = 0
    principal: int = 0

    @property
    def paid(self) -> int:
        return self.penalty + self.interest + self.principal


def waterfall(state: LoanState, now: int, amount: int) -> Split:
    """`LoanBook._waterfall` on an accrued ledger: mutates `state` to the ledger after paying
    `amount` at `now` and returns the split. Penalty first; then each installment already due
    (interest, then principal); then a prepayment: the running installment's earned interest,
    then principal, after which the level of the remaining installments is recomputed on the
    same due dates and the running installment's interest restarts at `now`."""
    penalty = min(amount, state.penalty_owed)
    state.penalty_owed -= penalty
    budget, interest, principal = amount - penalty, 0, 0
    while state.cursor <= state.installments and budget:
        if state.due_time(state.cursor) > now:
            earned = state.earned(state.cursor, state.scheduled_remaining, now)
            pay = min(budget, max(earned - state.interest_paid_current, 0))
            state.interest_paid_current += pay
            interest += pay
            budget -= pay
            if not budget:
                break
            pay = min(budget, state.scheduled_remaining)
            state.scheduled_remaining -= pay
            principal += pay
            state.interest_paid_current = 0
            state.interest_from = now
            state.level = level_of(
                state.method, state.scheduled_remaining, state.apr_bps, state.installments + 1 - state.cursor,
                state.period_seconds,
            )  # fmt: skip
            if state.scheduled_remaining == 0:
                state.cursor = state.installments + 1
            else:
                state.cursor = skip_settled(state, state.cursor, state.scheduled_remaining)
            break
        part, part_interest = state.part(state.cursor, state.scheduled_remaining)
        pay = min(budget, part_interest - state.interest_paid_current)
        state.interest_paid_current += pay
        interest += pay
        budget -= pay
        pay = min(budget, part - state.principal_paid_current)
        state.principal_paid_current += pay
        principal += pay
        budget -= pay
        if state.interest_paid_current == part_interest and state.principal_paid_current == part:
            state.scheduled_remaining -= part
            state.interest_paid_current = state.principal_paid_current = 0
            state.cursor = skip_settled(state, state.cursor + 1, state.scheduled_remaining)
    return Split(penalty, interest, principal)


@dataclass(frozen=True)
class Due:
    past_due: int = 0
    penalty: int = 0
    next_due_time: int = 0
    next_due_amount: int = 0
    principal_outstanding: int = 0
    payoff: int = 0


def amount_due(state: LoanState, now: int) -> Due:
    """`LoanLens.amount_due` for an ACTIVE loan at block time `now`."""
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
    simple interest to date and never less than already paid, none after). Amounts already paid on the cursor
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
                interest = max(state.earned(k, remaining, now), paid)
                running_done = True
        owed[k] = part + interest
        remaining -= part
        k += 1
    return owed
