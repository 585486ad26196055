# pragma version ~=0.4.3
"""
@title Peerlend loan math
@custom:contract-name loan_math
@license GNU Affero General Public License v3.0 only
@notice The records LoanBook keeps per loan and the stateless arithmetic on
        them that both LoanBook (to charge) and LoanLens (to show) need:
        interest windows, installments of a live loan, penalty accrual and
        the payoff. One copy, so a view can never disagree with a charge.
        backend/loanmath.py ports it line by line.
"""

from . import schedule_math


BPS: constant(uint256) = 10_000
DAY: constant(uint256) = 86_400

# @dev Bounds on a loan's own terms (LoanBook publishes them).
MAX_APR_BPS: constant(uint256) = 3_600  # 36% a year: the ceiling Chinese courts enforce on private lending
MAX_INSTALLMENTS: constant(uint256) = 360
MIN_PERIOD_SECONDS: constant(uint256) = DAY
MAX_PERIOD_SECONDS: constant(uint256) = 366 * DAY
MAX_TERM_SECONDS: constant(uint256) = 3_660 * DAY
MAX_PRINCIPAL: constant(uint256) = 10**30


# @dev Fees, penalty, grace, default, review and disbursement parameters. The
# admin sets the current set; each loan freezes a packed copy at request time.
struct Terms:
    origination_fee_bps: uint256
    service_fee_bps: uint256
    reserve_share_bps: uint256
    penalty_bps_per_day: uint256
    penalty_cap_bps: uint256
    coverage_bps: uint256
    grace_seconds: uint256
    default_after_seconds: uint256
    review_seconds: uint256
    disburse_seconds: uint256  # after the review, how long disbursement may wait


struct Loan:
    borrower: address
    token: address
    grade: uint256  # borrower's credit grade at request (1 = A ... 5 = E)
    principal: uint256
    apr_bps: uint256
    installments: uint256
    period_seconds: uint256
    method: uint256
    status: uint256
    terms: uint256  # packed Terms snapshot, see `_pack_terms`
    funding_deadline: uint256
    funded: uint256
    review_ends_at: uint256
    start: uint256
    annuity: uint256  # level payment at disbursement (EQUAL_INSTALLMENT)
    identity_hash: bytes32  # the borrower's KYC identity at request: exposure is counted on it
    note_total: uint256  # notes minted for this loan


# @dev Repayment progress of an active loan.
struct Ledger:
    cursor: uint256  # next installment with anything unpaid (1-based); n + 1 when done
    scheduled_remaining: uint256  # scheduled principal outstanding before `cursor`
    interest_paid_current: uint256  # interest already paid on `cursor`
    principal_paid_current: uint256  # principal already paid on `cursor`
    penalty_owed: uint256
    penalty_charged: uint256  # all penalty ever charged, for the cap
    accrued_until: uint256  # penalty is accrued up to this timestamp
    acc_per_share: uint256  # cumulative noteholder credit per principal unit, x ACC_SCALE
    distributed: uint256  # total credited to noteholders
    level: uint256  # annuity payment or principal part of the remaining installments
    interest_from: uint256  # last principal prepayment: the running installment's interest starts here


@internal
@pure
def _check(ok: bool, reason: String[64]):
    """
    @dev `assert ok, reason` with one shared revert path (an inline assert
         costs ~100 bytes of code; LoanBook has dozens).
    """
    if not ok:
        raw_revert(abi_encode(reason, method_id=method_id("Error(string)")))


@internal
@pure
def _check_loan_terms(
    principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256, method: uint256
):
    self._check(principal > 0, "loanbook: zero principal")
    self._check(principal <= MAX_PRINCIPAL, "loanbook: principal too large")
    self._check(apr_bps <= MAX_APR_BPS, "loanbook: apr too high")
    self._check(installments >= 1 and installments <= MAX_INSTALLMENTS, "loanbook: bad installments")
    self._check(period_seconds >= MIN_PERIOD_SECONDS and period_seconds <= MAX_PERIOD_SECONDS, "loanbook: bad period")
    self._check(installments * period_seconds <= MAX_TERM_SECONDS, "loanbook: term too long")
    self._check(method <= schedule_math.BULLET, "loanbook: bad method")


@internal
@pure
def _pack_terms(terms_: Terms) -> uint256:
    """
    @dev Six 16-bit basis-point fields, then four 40-bit durations: one
         storage slot per loan instead of ten. Caps keep every field in range.
    """
    return (
        terms_.origination_fee_bps
        | (terms_.service_fee_bps << 16)
        | (terms_.reserve_share_bps << 32)
        | (terms_.penalty_bps_per_day << 48)
        | (terms_.penalty_cap_bps << 64)
        | (terms_.coverage_bps << 80)
        | (terms_.grace_seconds << 96)
        | (terms_.default_after_seconds << 136)
        | (terms_.review_seconds << 176)
        | (terms_.disburse_seconds << 216)
    )


@internal
@pure
def _unpack_terms(packed: uint256) -> Terms:
    return Terms(
        origination_fee_bps=packed & 65_535,
        service_fee_bps=(packed >> 16) & 65_535,
        reserve_share_bps=(packed >> 32) & 65_535,
        penalty_bps_per_day=(packed >> 48) & 65_535,
        penalty_cap_bps=(packed >> 64) & 65_535,
        coverage_bps=(packed >> 80) & 65_535,
        grace_seconds=(packed >> 96) & 1_099_511_627_775,
        default_after_seconds=(packed >> 136) & 1_099_511_627_775,
        review_seconds=(packed >> 176) & 1_099_511_627_775,
        disburse_seconds=packed >> 216,
    )


@internal
@pure
def _window_start(record: Loan, state: Ledger, k: uint256) -> uint256:
    """
    @dev Where installment k's interest starts running: its period start, or
         disbursement for a BULLET loan (its one payment carries all interest),
         and for the running installment never before the last prepayment.
    """
    begin: uint256 = record.start
    if record.method != schedule_math.BULLET:
        begin += (k - 1) * record.period_seconds
    if k == state.cursor:
        begin = max(begin, state.interest_from)
    return begin


@internal
@pure
def _installment_at(record: Loan, state: Ledger, k: uint256, remaining: uint256) -> (uint256, uint256):
    """
    @dev Installment k of the live schedule: the current level, the remaining
         scheduled principal before k and k's interest window.
    """
    due_at: uint256 = record.start + k * record.period_seconds
    return schedule_math._installment(
        record.method,
        state.level,
        record.apr_bps,
        record.installments,
        record.period_seconds,
        k,
        remaining,
        due_at - self._window_start(record, state, k),
    )


@internal
@pure
def _skip_settled(record: Loan, state: Ledger, cursor: uint256, remaining: uint256) -> uint256:
    """
    @dev Moves the cursor past installments that owe nothing (interest-free
         periods, or the tail of a tiny annuity whose floors paid the principal
         off early), so the cursor is always the oldest installment with money
         due, and n + 1 once nothing is left.
    """
    k: uint256 = cursor
    for _: uint256 in range(361):
        if k > record.installments:
            break
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = self._installment_at(record, state, k, remaining)
        if part + interest != 0:
            break
        k += 1
    return k


@internal
@view
def _pending_penalty(record: Loan, terms: Terms, state: Ledger) -> uint256:
    """
    @dev Penalty accrued since `state.accrued_until`: every installment whose
         grace has run out accrues penalty_bps_per_day on its unpaid amount,
         linearly per second from max(due + grace, accrued_until); the total
         over the loan's life is capped at penalty_cap_bps of the principal.
    """
    if terms.penalty_bps_per_day == 0 or block.timestamp <= state.accrued_until:
        return 0
    cap: uint256 = record.principal * terms.penalty_cap_bps // BPS
    if state.penalty_charged >= cap:
        return 0
    added: uint256 = 0
    k: uint256 = state.cursor
    remaining: uint256 = state.scheduled_remaining
    for _: uint256 in range(360):
        if k > record.installments:
            break
        late_from: uint256 = record.start + k * record.period_seconds + terms.grace_seconds
        if late_from >= block.timestamp:
            break
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = self._installment_at(record, state, k, remaining)
        unpaid: uint256 = part + interest
        if k == state.cursor:
            unpaid -= state.interest_paid_current + state.principal_paid_current
        elapsed: uint256 = block.timestamp - max(late_from, state.accrued_until)
        added += unpaid * terms.penalty_bps_per_day * elapsed // (BPS * DAY)
        remaining -= part
        k += 1
    return min(added, cap - state.penalty_charged)


@internal
@view
def _earned(record: Loan, state: Ledger, k: uint256, remaining: uint256) -> uint256:
    """
    @dev Interest the running (not yet due) installment k has earned by now:
         simple interest on its scheduled principal over the elapsed part of
         its window. The same formula whether it is paid ahead or paid off.
    """
    begin: uint256 = self._window_start(record, state, k)
    if block.timestamp <= begin:
        return 0
    return schedule_math._period_interest(remaining, record.apr_bps, block.timestamp - begin)


@internal
@view
def _payoff_parts(record: Loan, state: Ledger) -> (uint256, uint256):
    """
    @dev Interest accrued to date and principal outstanding: unpaid interest of
         installments due by now, plus what the running installment has earned
         (less interest already paid on it).
    @return (interest due, principal outstanding).
    """
    interest: uint256 = 0
    k: uint256 = state.cursor
    remaining: uint256 = state.scheduled_remaining
    for _: uint256 in range(360):
        if k > record.installments:
            break
        paid: uint256 = 0
        if k == state.cursor:
            paid = state.interest_paid_current
        if record.start + k * record.period_seconds > block.timestamp:
            earned: uint256 = self._earned(record, state, k, remaining)
            if earned > paid:
                interest += earned - paid
            break
        part: uint256 = 0
        part_interest: uint256 = 0
        part, part_interest = self._installment_at(record, state, k, remaining)
        interest += part_interest - paid
        remaining -= part
        k += 1
    return interest, state.scheduled_remaining - state.principal_paid_current
