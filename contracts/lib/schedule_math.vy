# pragma version ~=0.4.3
"""
@title Peerlend schedule math
@custom:contract-name schedule_math
@license GNU Affero General Public License v3.0 only
@notice Pure, stateless repayment-schedule arithmetic shared by LoanBook's
        loans and LoanLens's `schedule` calculator, so the quote a borrower
        sees and the amounts the loan charges are the same code.

        Rounding rule (one rule, everywhere): every division rounds down,
        i.e. in the borrower's favour, and the last installment's principal
        part is whatever scheduled principal remains, so principal parts sum
        to the principal exactly.

        Period rate: r = apr_bps / 10_000 * period_seconds / 365 days.
        Interest of installment k = floor(remaining_k * apr_bps * window_k
        / (10_000 * 365 days)) where remaining_k is the scheduled principal
        outstanding before installment k and window_k the seconds its interest
        runs (one period; the whole term for BULLET; shorter for the running
        installment after a principal prepayment). The annuity payment uses r
        in 36-decimal fixed point (PRECISION = 10**36) with floor rounding at
        every step.
"""


# @dev Repayment methods, in the order of the public ABI.
EQUAL_INSTALLMENT: constant(uint256) = 0  # 等额本息: annuity
EQUAL_PRINCIPAL: constant(uint256) = 1  # 等额本金
INTEREST_ONLY: constant(uint256) = 2  # 先息后本
BULLET: constant(uint256) = 3  # 到期还本付息


# @dev Basis points and time constants.
BPS: constant(uint256) = 10_000
YEAR: constant(uint256) = 365 * 86_400
# @dev 36-decimal fixed point: with APR <= 36% and terms <= 10 years
# (1 + r)^n stays below 37 * 10**36, so squaring it fits in 256 bits.
PRECISION: constant(uint256) = 10**36
MAX_INSTALLMENTS: constant(uint256) = 360


@internal
@pure
def _period_interest(balance: uint256, apr_bps: uint256, seconds: uint256) -> uint256:
    """
    @dev Simple interest on `balance` over `seconds`, rounded down.
    """
    return balance * apr_bps * seconds // (BPS * YEAR)


@internal
@pure
def _ray_pow(base: uint256, exponent: uint256) -> uint256:
    """
    @dev `base ** exponent` for a PRECISION-scaled `base`, by squaring,
         rounding down after every multiplication.
    """
    result: uint256 = PRECISION
    b: uint256 = base
    e: uint256 = exponent
    for _: uint256 in range(9):  # 2**9 > MAX_INSTALLMENTS
        if e == 0:
            break
        if e & 1 == 1:
            result = result * b // PRECISION
        e = e >> 1
        if e != 0:
            b = b * b // PRECISION
    return result


@internal
@pure
def _annuity_payment(principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256) -> uint256:
    """
    @dev The level payment of an EQUAL_INSTALLMENT loan:
         A = P * r * (1 + r)^n / ((1 + r)^n - 1), or P / n when r = 0.
    """
    rate: uint256 = apr_bps * period_seconds * PRECISION // (BPS * YEAR)
    if rate == 0:
        return principal // installments
    growth: uint256 = self._ray_pow(PRECISION + rate, installments)
    factor: uint256 = rate * growth // (growth - PRECISION)
    return principal * factor // PRECISION


@internal
@pure
def _level(method: uint256, principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256) -> uint256:
    """
    @dev What stays level over the installments of `principal`: the annuity
         payment (EQUAL_INSTALLMENT) or the principal part (EQUAL_PRINCIPAL,
         P / n); 0 for the other methods.
    """
    if method == EQUAL_INSTALLMENT:
        return self._annuity_payment(principal, apr_bps, installments, period_seconds)
    if method == EQUAL_PRINCIPAL:
        return principal // installments
    return 0


@internal
@pure
def _installment(
    method: uint256,
    level: uint256,
    apr_bps: uint256,
    installments: uint256,
    period_seconds: uint256,
    k: uint256,
    remaining: uint256,
    window: uint256,
) -> (uint256, uint256):
    """
    @dev Principal and interest parts of installment `k` (1-based), given the
         scheduled principal `remaining` before it and the seconds `window`
         its interest runs. An annuity's principal part is the level payment
         less a full period's interest, whatever the window.
    @return (principal part, interest part).
    """
    interest: uint256 = self._period_interest(remaining, apr_bps, window)
    if method == BULLET:
        if k < installments:
            return 0, 0
        return remaining, interest
    if k >= installments:
        return remaining, interest

    part: uint256 = 0
    if method == EQUAL_INSTALLMENT:
        full: uint256 = interest
        if window != period_seconds:
            full = self._period_interest(remaining, apr_bps, period_seconds)
        if level > full:
            part = level - full
    elif method == EQUAL_PRINCIPAL:
        part = level
    # INTEREST_ONLY: no principal before the last installment.
    return min(part, remaining), interest
