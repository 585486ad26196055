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

# @dev Bounds on the parameters the admin sets (LoanBook enforces them).
MAX_ORIGINATION_FEE_BPS: constant(uint256) = 500
MAX_SERVICE_FEE_BPS: constant(uint256) = 2_000
MAX_PENALTY_BPS_PER_DAY: constant(uint256) = 50
MAX_PENALTY_CAP_BPS: constant(uint256) = 5_000
MAX_GRACE_SECONDS: constant(uint256) = 30 * DAY
MAX_DEFAULT_AFTER_SECONDS: constant(uint256) = 365 * DAY
# @dev The risk officer's veto window can be short but never zero.
MIN_REVIEW_SECONDS: constant(uint256) = 3_600
MAX_REVIEW_SECONDS: constant(uint256) = 7 * DAY
# @dev After the review, disbursement may wait at least an hour (so anyone
# can send it) and at most 7 days; then every note refunds in full.
MIN_DISBURSE_SECONDS: constant(uint256) = 3_600
MAX_DISBURSE_SECONDS: constant(uint256) = 7 * DAY
MIN_FUNDING_SECONDS: constant(uint256) = 3_600
MAX_FUNDING_SECONDS: constant(uint256) = 30 * DAY

# @dev Bounds on a loan's own terms (LoanBook publishes them).
MAX_APR_BPS: constant(uint256) = 3_600  # 36% a year: the ceiling Chinese courts enforce on private lending
MAX_INSTALLMENTS: constant(uint256) = 360
MIN_PERIOD_SECONDS: constant(uint256) = DAY
MAX_PERIOD_SECONDS: constant(uint256) = 366 * DAY
MAX_TERM_SECONDS: constant(uint256) = 3_660 * DAY
MAX_PRINCIPAL: constant(uint256) = 10**27  # a billion tokens of 18 decimals; keeps every amount of a loan below 2**96


# @dev Loan statuses, as `LoanBook.loan(id).status` reports them (LoanBook
# publishes them; 0 is no loan). EXPIRED is also reported, before anyone
# stores it, for an OPEN loan past its funding deadline and a FUNDED loan past
# its disbursement deadline.
OPEN: constant(uint256) = 1
FUNDED: constant(uint256) = 2
ACTIVE: constant(uint256) = 3
REPAID: constant(uint256) = 4
DEFAULTED: constant(uint256) = 5
CANCELLED: constant(uint256) = 6
EXPIRED: constant(uint256) = 7


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


# @dev A loan as LoanBook and LoanLens compute with it (memory only; storage
# holds it in LOAN_WORDS packed words, see `_pack_loan`).
struct Loan:
    borrower: address
    token: address
    grade: uint256  # borrower's credit grade at request (1 = A ... 5 = E)
    principal: uint256
    apr_bps: uint256
    installments: uint256
    period_seconds: uint256
    method: uint256
    status: uint256  # as stored: EXPIRED only once recorded
    terms: uint256  # packed Terms snapshot, see `_pack_terms`
    funding_deadline: uint256
    funded: uint256
    review_ends_at: uint256
    start: uint256
    annuity: uint256  # level payment at disbursement (EQUAL_INSTALLMENT)
    identity_id: uint256  # the borrower's KYC identity at request (IdentityRegistry id): exposure is counted on it
    note_total: uint256  # notes minted for this loan
    last_note: uint256  # the newest of them; each note links to the one before


# @dev Repayment progress of an active loan (memory; LEDGER_WORDS packed words in storage).
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


# @dev One note, as `LoanBook.note(id)` reports it: its loan, the principal it
# funded (0 once refunded), what its owners claimed, and the loan's note
# funded just before it (0 for the first). Storage holds it in one word, see
# `_pack_note`.
struct Note:
    loan_id: uint256
    share: uint256
    claimed: uint256
    previous: uint256


# @dev Storage layout. Vyper gives every struct member its own slot, so loans,
# ledgers and notes are packed by hand into words. Field widths follow from
# the hard limits: amounts of one loan stay below 2**96 (principal <=
# MAX_PRINCIPAL < 2**90; interest over the longest term at the highest rate,
# the penalty cap and the reserve cover add at most 6.1x the principal),
# timestamps fit 40 bits (until the year 36812), durations 28 bits (caps of
# at most 365 days), basis points 16 bits.
LOAN_WORDS: constant(uint256) = 4
LEDGER_WORDS: constant(uint256) = 4
_ADDRESS: constant(uint256) = 2**160 - 1
_AMOUNT: constant(uint256) = 2**96 - 1
_ACC: constant(uint256) = 2**104 - 1
_TIME: constant(uint256) = 2**40 - 1
_ID: constant(uint256) = 2**32 - 1
_BPS_FIELD: constant(uint256) = 2**16 - 1
_DURATION: constant(uint256) = 2**28 - 1
_BYTE: constant(uint256) = 255
_TERMS: constant(uint256) = 2**208 - 1

# @dev Flags in ledger word 1: words 2 and 3 are nonzero.
LEDGER_PARTIAL: constant(uint256) = 2**232
LEDGER_PENALTY: constant(uint256) = 2**233


# @dev Revert reasons. A check passes one of these codes and the reason text
# ("loanbook: " + the text after the code) is stored once, in _REASON_TEXT:
# a string literal at each of ~70 call sites cost LoanBook ~1.1 kB of code.
# tests/contracts/test_reasons.py checks every code against its comment.
E_ZERO_NOTES: constant(uint256) = 0  # "zero notes"
E_ZERO_GATE: constant(uint256) = 1  # "zero gate"
E_ZERO_TREASURY: constant(uint256) = 2  # "zero treasury"
E_NO_SUCH_NOTE: constant(uint256) = 3  # "no such note"
E_TOKEN_NOT_ALLOWED: constant(uint256) = 4  # "token not allowed"
E_BAD_FUNDING_WINDOW: constant(uint256) = 5  # "bad funding window"
E_NOT_OPEN: constant(uint256) = 6  # "not open"
E_FUNDING_CLOSED: constant(uint256) = 7  # "funding closed"
E_BORROWER_CANNOT_FUND: constant(uint256) = 8  # "borrower cannot fund"
E_ZERO_AMOUNT: constant(uint256) = 9  # "zero amount"
E_FEE_ON_TRANSFER_TOKEN: constant(uint256) = 10  # "fee-on-transfer token"
E_EXPIRED: constant(uint256) = 11  # "expired"
E_NOT_ALLOWED: constant(uint256) = 12  # "not allowed"
E_FUNDED_ONLY_THE_RISK_OFFICER_CAN_VETO: constant(uint256) = 13  # "funded, only the risk officer can veto"
E_REVIEW_OVER: constant(uint256) = 14  # "review over"
E_NOT_CANCELLABLE: constant(uint256) = 15  # "not cancellable"
E_NOT_EXPIRED: constant(uint256) = 16  # "not expired"
E_NOT_REFUNDABLE: constant(uint256) = 17  # "not refundable"
E_NOT_FUNDED: constant(uint256) = 18  # "not funded"
E_IN_REVIEW: constant(uint256) = 19  # "in review"
E_DISBURSEMENT_DEADLINE_PASSED: constant(uint256) = 20  # "disbursement deadline passed"
E_NOT_ACTIVE: constant(uint256) = 21  # "not active"
E_NOT_IN_DEFAULT: constant(uint256) = 22  # "not in default"
E_NOTHING_TO_CLAIM: constant(uint256) = 23  # "nothing to claim"
E_GRADE_CAP_OVER_MAX: constant(uint256) = 24  # "grade cap over max"
E_EXPOSURE_BELOW_LOAN_CAP: constant(uint256) = 25  # "exposure below loan cap"
E_EXPOSURE_CAP_OVER_MAX: constant(uint256) = 26  # "exposure cap over max"
E_GRADE_FLOOR_OVER_MAX_APR: constant(uint256) = 27  # "grade floor over max apr"
E_ZERO_TOKEN: constant(uint256) = 28  # "zero token"
E_NO_FEES: constant(uint256) = 29  # "no fees"
E_NO_SUCH_LOAN: constant(uint256) = 30  # "no such loan"
E_BORROWER_NOT_VERIFIED: constant(uint256) = 31  # "borrower not verified"
E_BORROWER_BLOCKED: constant(uint256) = 32  # "borrower blocked"
E_NOT_SCORED: constant(uint256) = 33  # "not scored"
E_SCORE_EXPIRED: constant(uint256) = 34  # "score expired"
E_GRADE_NOT_ELIGIBLE: constant(uint256) = 35  # "grade not eligible"
E_OVER_GRADE_CAP: constant(uint256) = 36  # "over grade cap"
E_OVER_EXPOSURE_CAP: constant(uint256) = 37  # "over exposure cap"
E_APR_BELOW_GRADE_FLOOR: constant(uint256) = 38  # "apr below grade floor"
E_LENDER_BLOCKED: constant(uint256) = 39  # "lender blocked"
E_LENDER_NOT_VERIFIED: constant(uint256) = 40  # "lender not verified"
E_NOTHING_OWED: constant(uint256) = 41  # "nothing owed"
E_ORIGINATION_FEE_OVER_CAP: constant(uint256) = 42  # "origination fee over cap"
E_SERVICE_FEE_OVER_CAP: constant(uint256) = 43  # "service fee over cap"
E_RESERVE_SHARE_OVER_100: constant(uint256) = 44  # "reserve share over 100%"
E_PENALTY_OVER_CAP: constant(uint256) = 45  # "penalty over cap"
E_PENALTY_CAP_OVER_CAP: constant(uint256) = 46  # "penalty cap over cap"
E_COVERAGE_OVER_100: constant(uint256) = 47  # "coverage over 100%"
E_GRACE_TOO_LONG: constant(uint256) = 48  # "grace too long"
E_DEFAULT_BEFORE_GRACE: constant(uint256) = 49  # "default before grace"
E_DEFAULT_TOO_LATE: constant(uint256) = 50  # "default too late"
E_REVIEW_TOO_SHORT: constant(uint256) = 51  # "review too short"
E_REVIEW_TOO_LONG: constant(uint256) = 52  # "review too long"
E_DISBURSEMENT_WINDOW_TOO_SHORT: constant(uint256) = 53  # "disbursement window too short"
E_DISBURSEMENT_WINDOW_TOO_LONG: constant(uint256) = 54  # "disbursement window too long"
E_TRANSFER_FAILED: constant(uint256) = 55  # "transfer failed"
E_ZERO_PRINCIPAL: constant(uint256) = 56  # "zero principal"
E_PRINCIPAL_TOO_LARGE: constant(uint256) = 57  # "principal too large"
E_APR_TOO_HIGH: constant(uint256) = 58  # "apr too high"
E_BAD_INSTALLMENTS: constant(uint256) = 59  # "bad installments"
E_BAD_PERIOD: constant(uint256) = 60  # "bad period"
E_TERM_TOO_LONG: constant(uint256) = 61  # "term too long"
E_BAD_METHOD: constant(uint256) = 62  # "bad method"

_REASON_TEXT: constant(String[1005]) = "zero noteszero gatezero treasuryno such notetoken not allowedbad funding windownot openfunding closedborrower cannot fundzero amountfee-on-transfer tokenexpirednot allowedfunded, only the risk officer can vetoreview overnot cancellablenot expirednot refundablenot fundedin reviewdisbursement deadline passednot activenot in defaultnothing to claimgrade cap over maxexposure below loan capexposure cap over maxgrade floor over max aprzero tokenno feesno such loanborrower not verifiedborrower blockednot scoredscore expiredgrade not eligibleover grade capover exposure capapr below grade floorlender blockedlender not verifiednothing owedorigination fee over capservice fee over capreserve share over 100%penalty over cappenalty cap over capcoverage over 100%grace too longdefault before gracedefault too latereview too shortreview too longdisbursement window too shortdisbursement window too longtransfer failedzero principalprincipal too largeapr too highbad installmentsbad periodterm too longbad method"
# @dev Per code: offset into _REASON_TEXT (high bits) and length (low 8 bits).
_REASON_AT: constant(uint256[63]) = [10, 2569, 4877, 8204, 11281, 15634, 20232, 22286, 25876, 30987, 33813, 39175, 40971, 43814, 53515, 56335, 60171, 62990, 66570, 69129, 71452, 78602, 81166, 84752, 88850, 93463, 99349, 104728, 110858, 113415, 115212, 118293, 123664, 127754, 130317, 133650, 138254, 141841, 146197, 151566, 155155, 160012, 163096, 169236, 174359, 180240, 184340, 189458, 194062, 197652, 202768, 206864, 210959, 214813, 222236, 229391, 233230, 236819, 241676, 244752, 248842, 251405, 254730]


@internal
@pure
def _check(ok: bool, reason: uint256):
    """
    @dev `assert ok, "loanbook: " + <the text of code reason>` with one shared
         revert path (an inline assert costs ~100 bytes of code).
    """
    if not ok:
        at: uint256 = _REASON_AT[reason]
        raw_revert(abi_encode(concat("loanbook: ", slice(_REASON_TEXT, at >> 8, at & 255)), method_id=method_id("Error(string)")))


@internal
@pure
def _check_loan_terms(
    principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256, method: uint256
):
    self._check(principal > 0, E_ZERO_PRINCIPAL)
    self._check(principal <= MAX_PRINCIPAL, E_PRINCIPAL_TOO_LARGE)
    self._check(apr_bps <= MAX_APR_BPS, E_APR_TOO_HIGH)
    self._check(installments >= 1 and installments <= MAX_INSTALLMENTS, E_BAD_INSTALLMENTS)
    self._check(period_seconds >= MIN_PERIOD_SECONDS and period_seconds <= MAX_PERIOD_SECONDS, E_BAD_PERIOD)
    self._check(installments * period_seconds <= MAX_TERM_SECONDS, E_TERM_TOO_LONG)
    self._check(method <= schedule_math.BULLET, E_BAD_METHOD)


@internal
@pure
def _pack_terms(terms_: Terms) -> uint256:
    """
    @dev Six 16-bit basis-point fields, then four 28-bit durations (208
         bits): one part of a word per loan instead of ten slots. Caps keep
         every field in range.
    """
    return (
        terms_.origination_fee_bps
        | (terms_.service_fee_bps << 16)
        | (terms_.reserve_share_bps << 32)
        | (terms_.penalty_bps_per_day << 48)
        | (terms_.penalty_cap_bps << 64)
        | (terms_.coverage_bps << 80)
        | (terms_.grace_seconds << 96)
        | (terms_.default_after_seconds << 124)
        | (terms_.review_seconds << 152)
        | (terms_.disburse_seconds << 180)
    )


@internal
@pure
def _unpack_terms(packed: uint256) -> Terms:
    return Terms(
        origination_fee_bps=packed & _BPS_FIELD,
        service_fee_bps=(packed >> 16) & _BPS_FIELD,
        reserve_share_bps=(packed >> 32) & _BPS_FIELD,
        penalty_bps_per_day=(packed >> 48) & _BPS_FIELD,
        penalty_cap_bps=(packed >> 64) & _BPS_FIELD,
        coverage_bps=(packed >> 80) & _BPS_FIELD,
        grace_seconds=(packed >> 96) & _DURATION,
        default_after_seconds=(packed >> 124) & _DURATION,
        review_seconds=(packed >> 152) & _DURATION,
        disburse_seconds=(packed >> 180) & _DURATION,
    )


@internal
@pure
def _pack_loan(record: Loan) -> uint256[LOAN_WORDS]:
    """
    @dev Word 0: borrower, funding deadline, review end, status, grade.
         Word 1: token, identity id, newest note, note count.
         Word 2: terms, period, installments.
         Word 3: principal, funded (the annuity once disbursed), start, APR, method.
         Repay, fund and disburse read all four (four cold slots, not 17).
    """
    carried: uint256 = record.funded
    # From disbursement on (ACTIVE, REPAID, DEFAULTED) the loan was funded in
    # full, so the word that held `funded` holds the annuity.
    if record.status >= ACTIVE and record.status <= DEFAULTED:
        carried = record.annuity
    return [
        convert(record.borrower, uint256)
        | (record.funding_deadline << 160)
        | (record.review_ends_at << 200)
        | (record.status << 240)
        | (record.grade << 248),
        convert(record.token, uint256)
        | (record.identity_id << 160)
        | (record.last_note << 192)
        | (record.note_total << 224),
        record.terms | (record.period_seconds << 208) | (record.installments << 240),
        record.principal | (carried << 96) | (record.start << 192) | (record.apr_bps << 232) | (record.method << 248),
    ]


@internal
@pure
def _unpack_loan(words: uint256[LOAN_WORDS]) -> Loan:
    record: Loan = Loan(
        borrower=convert(words[0] & _ADDRESS, address),
        token=convert(words[1] & _ADDRESS, address),
        grade=words[0] >> 248,
        principal=words[3] & _AMOUNT,
        apr_bps=(words[3] >> 232) & _BPS_FIELD,
        installments=words[2] >> 240,
        period_seconds=(words[2] >> 208) & _ID,
        method=words[3] >> 248,
        status=(words[0] >> 240) & _BYTE,
        terms=words[2] & _TERMS,
        funding_deadline=(words[0] >> 160) & _TIME,
        funded=(words[3] >> 96) & _AMOUNT,
        review_ends_at=(words[0] >> 200) & _TIME,
        start=(words[3] >> 192) & _TIME,
        annuity=0,
        identity_id=(words[1] >> 160) & _ID,
        note_total=words[1] >> 224,
        last_note=(words[1] >> 192) & _ID,
    )
    if record.status >= ACTIVE and record.status <= DEFAULTED:
        record.annuity = record.funded
        record.funded = record.principal
    return record


@internal
@pure
def _pack_ledger(state: Ledger) -> uint256[LEDGER_WORDS]:
    """
    @dev Words 0 and 1 change on every payment and are nonzero from
         disbursement on, so a repayment never pays for a new slot: principal
         scheduled, accumulator, interest start, cursor; level, credited
         total, penalty accrual time. Word 2 (partial payment of the running
         installment) and word 3 (penalty) stay zero on a loan paid on time;
         flags in word 1 (LEDGER_PARTIAL, LEDGER_PENALTY) say whether they are
         nonzero, so LoanBook reads and writes them only then.
    """
    partial: uint256 = state.interest_paid_current | (state.principal_paid_current << 96)
    penalty: uint256 = state.penalty_owed | (state.penalty_charged << 96)
    return [
        state.scheduled_remaining | (state.acc_per_share << 96) | (state.interest_from << 200) | (state.cursor << 240),
        state.level
        | (state.distributed << 96)
        | (state.accrued_until << 192)
        | (convert(partial != 0, uint256) << 232)
        | (convert(penalty != 0, uint256) << 233),
        partial,
        penalty,
    ]


@internal
@pure
def _unpack_ledger(words: uint256[LEDGER_WORDS]) -> Ledger:
    return Ledger(
        cursor=words[0] >> 240,
        scheduled_remaining=words[0] & _AMOUNT,
        interest_paid_current=words[2] & _AMOUNT,
        principal_paid_current=words[2] >> 96,
        penalty_owed=words[3] & _AMOUNT,
        penalty_charged=words[3] >> 96,
        accrued_until=(words[1] >> 192) & _TIME,
        acc_per_share=(words[0] >> 96) & _ACC,
        distributed=(words[1] >> 96) & _AMOUNT,
        level=words[1] & _AMOUNT,
        interest_from=(words[0] >> 200) & _TIME,
    )


@internal
@pure
def _token_of(loan_word_1: uint256) -> address:
    """
    @dev The token from a loan's word 1 alone (claim reads nothing else of the loan).
    """
    return convert(loan_word_1 & _ADDRESS, address)


@internal
@pure
def _acc_per_share_of(ledger_word_0: uint256) -> uint256:
    """
    @dev The accumulator from a ledger's word 0 alone (claim reads nothing else).
    """
    return (ledger_word_0 >> 96) & _ACC


@internal
@pure
def _pack_note(loan_id: uint256, share: uint256, claimed: uint256, previous: uint256) -> uint256:
    """
    @dev A note in one word: loan id (32 bits), share (96), claimed (96; a
         note's claims stay below 6.1x its share) and the loan's previous
         note (32), which links a loan's notes without a list of its own.
    """
    return loan_id | (share << 32) | (claimed << 128) | (previous << 224)


@internal
@pure
def _unpack_note(word: uint256) -> Note:
    return Note(loan_id=word & _ID, share=(word >> 32) & _AMOUNT, claimed=(word >> 128) & _AMOUNT, previous=word >> 224)


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
