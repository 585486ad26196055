# pragma version ~=0.4.3
# pragma optimize codesize
"""
@title Peerlend LoanBook
@custom:contract-name LoanBook
@license GNU Affero General Public License v3.0 only
@notice The Peerlend market and escrow (银行存管). Borrowers post loan
        requests (借款标的), lenders fund them in parts (投标) and receive
        an ERC-721 note (债权) each; a fully funded request waits out a
        review window (满标复审) and is then paid out (放款). Repayments
        follow the loan's schedule, late amounts accrue a penalty, loans
        past the default threshold can be marked defaulted by anyone and
        are partly covered by the risk reserve (风险准备金). Repaid money
        is credited to notes pro rata through a per-loan accumulator and
        each note's owner pulls it with `claim` (回款分发).

        Every token the contract holds belongs to a lender, a borrower, the
        risk reserve or the treasury's earned fees; no role can move user
        funds. Terms (fees, penalty, grace, default threshold, review window,
        reserve coverage) are frozen into each loan when it is requested.
        See docs/contracts.md for the full rules, math and rounding.
@dev Statuses only move forward: OPEN -> FUNDED -> ACTIVE -> REPAID |
     DEFAULTED; OPEN -> CANCELLED | EXPIRED; FUNDED -> CANCELLED (veto).
"""


from ethereum.ercs import IERC20

from snekmate.auth import access_control
from snekmate.utils import pausable

from .interfaces import ICreditOracle
from .interfaces import IIdentityRegistry
from .lib import schedule_math

initializes: access_control
initializes: pausable

exports: (
    access_control.supportsInterface,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    pausable.paused,
)


interface ILoanNote:
    def mint(receiver: address, note_id: uint256): nonpayable
    def burn(note_id: uint256): nonpayable
    def authorized_owner(spender: address, note_id: uint256) -> address: view


# @dev Roles beside snekmate's DEFAULT_ADMIN_ROLE (parameters, tokens, roles).
RISK_OFFICER_ROLE: public(constant(bytes32)) = keccak256("RISK_OFFICER_ROLE")
PAUSER_ROLE: public(constant(bytes32)) = keccak256("PAUSER_ROLE")


# @dev Loan statuses.
OPEN: constant(uint256) = 1
FUNDED: constant(uint256) = 2
ACTIVE: constant(uint256) = 3
REPAID: constant(uint256) = 4
DEFAULTED: constant(uint256) = 5
CANCELLED: constant(uint256) = 6
EXPIRED: constant(uint256) = 7


# @dev Hard limits no admin can exceed.
BPS: constant(uint256) = 10_000
DAY: constant(uint256) = 86_400
MAX_ORIGINATION_FEE_BPS: public(constant(uint256)) = 500
MAX_SERVICE_FEE_BPS: public(constant(uint256)) = 2_000
MAX_PENALTY_BPS_PER_DAY: public(constant(uint256)) = 50
MAX_PENALTY_CAP_BPS: public(constant(uint256)) = 5_000
MAX_GRACE_SECONDS: public(constant(uint256)) = 30 * DAY
MAX_DEFAULT_AFTER_SECONDS: public(constant(uint256)) = 365 * DAY
MAX_REVIEW_SECONDS: public(constant(uint256)) = 7 * DAY
# @dev 36% a year: the ceiling Chinese courts enforce on private lending.
MAX_APR_BPS: public(constant(uint256)) = 3_600
MAX_INSTALLMENTS: public(constant(uint256)) = 360
MIN_PERIOD_SECONDS: public(constant(uint256)) = DAY
MAX_PERIOD_SECONDS: public(constant(uint256)) = 366 * DAY
MAX_TERM_SECONDS: public(constant(uint256)) = 3_660 * DAY
MIN_FUNDING_SECONDS: public(constant(uint256)) = 3_600
MAX_FUNDING_SECONDS: public(constant(uint256)) = 30 * DAY
MAX_PRINCIPAL: public(constant(uint256)) = 10**30
GRADES: constant(uint256) = 5
# @dev Fixed-point scale of the distribution accumulator.
ACC_SCALE: constant(uint256) = 10**27


# @dev Fees, penalty, grace, default and review parameters. The admin sets
# the current set; each loan freezes a packed copy at request time.
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


# @dev What a credit grade may borrow in one token: the largest single loan,
# the most principal outstanding at once (借款上限) and the lowest APR.
struct GradeLimits:
    max_principal: uint256
    max_exposure: uint256
    min_apr_bps: uint256


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
    annuity: uint256


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


struct DefaultRecord:
    debt: uint256  # what the borrower owed when the loan defaulted
    cover: uint256  # what the reserve paid noteholders
    recovered: uint256  # what the borrower has paid since
    principal: uint256  # principal outstanding at default; counts in exposure until recovered


struct Note:
    loan_id: uint256
    share: uint256  # principal this note funded; 0 once refunded
    claimed: uint256


struct Installment:
    due_offset: uint256  # seconds after disbursement
    principal: uint256
    interest: uint256


struct Due:
    past_due: uint256  # installment amounts due by now and unpaid (penalty excluded)
    penalty: uint256  # penalty owed by now, including not yet recorded accrual
    next_due_time: uint256  # due time of the oldest installment with anything unpaid
    next_due_amount: uint256  # unpaid amount of that installment
    principal_outstanding: uint256
    payoff: uint256  # what `repay_in_full` would take now


# @dev The ERC-721 collection of this book's notes (LoanNote.vy).
notes: public(immutable(address))
# @dev KYC attestations and the risk officer's blocklist.
identity: public(immutable(address))
# @dev Credit scores and grades pushed by the oracle service.
oracle: public(immutable(address))

# @dev Per token, per grade (1 = A ... 5 = E): borrowing limits.
grade_limits: public(HashMap[address, HashMap[uint256, GradeLimits]])
# @dev Per token: funding above this amount needs a KYC-verified lender.
lender_kyc_threshold: public(HashMap[address, uint256])
# @dev Per borrower, per token: principal of open, funded and active loans.
exposure: public(HashMap[address, HashMap[address, uint256]])

# @dev Current parameters for new loans.
params: public(Terms)

# @dev Tokens loans may be requested in.
token_allowed: public(HashMap[address, bool])

# @dev Receiver of the treasury's share of fees.
treasury: public(address)

loan_count: public(uint256)
note_count: public(uint256)

_loans: HashMap[uint256, Loan]
_ledgers: HashMap[uint256, Ledger]
_defaults: HashMap[uint256, DefaultRecord]
_notes: HashMap[uint256, Note]

# @dev Per token: money owed to lenders and borrowers (escrowed principal,
# noteholder credit not yet claimed).
held: public(HashMap[address, uint256])
# @dev Per token: the risk reserve.
reserve: public(HashMap[address, uint256])
# @dev Per token: the treasury's fees not yet withdrawn.
fees: public(HashMap[address, uint256])


event LoanRequested:
    loan_id: indexed(uint256)
    borrower: indexed(address)
    token: indexed(address)
    grade: uint256
    score: uint256
    principal: uint256
    apr_bps: uint256
    installments: uint256
    period_seconds: uint256
    method: uint256
    funding_deadline: uint256

event LoanTerms:
    loan_id: indexed(uint256)
    origination_fee_bps: uint256
    service_fee_bps: uint256
    reserve_share_bps: uint256
    penalty_bps_per_day: uint256
    penalty_cap_bps: uint256
    coverage_bps: uint256
    grace_seconds: uint256
    default_after_seconds: uint256
    review_seconds: uint256

event LoanFunded:
    loan_id: indexed(uint256)
    note_id: indexed(uint256)
    lender: indexed(address)
    amount: uint256
    total_funded: uint256

event LoanFullyFunded:
    loan_id: indexed(uint256)
    review_ends_at: uint256

event LoanCancelled:
    loan_id: indexed(uint256)
    by: indexed(address)
    previous_status: uint256

event LoanExpired:
    loan_id: indexed(uint256)

event NoteRefunded:
    note_id: indexed(uint256)
    loan_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256

event LoanDisbursed:
    loan_id: indexed(uint256)
    borrower: indexed(address)
    amount: uint256
    origination_fee: uint256
    start: uint256
    annuity: uint256

event PenaltyAccrued:
    loan_id: indexed(uint256)
    amount: uint256
    penalty_owed: uint256

event Repayment:
    loan_id: indexed(uint256)
    payer: indexed(address)
    amount: uint256
    principal: uint256
    interest: uint256
    penalty: uint256
    fee_treasury: uint256
    fee_reserve: uint256
    to_noteholders: uint256
    principal_outstanding: uint256
    next_installment: uint256

event LoanRepaid:
    loan_id: indexed(uint256)

event LoanDefaulted:
    loan_id: indexed(uint256)
    debt: uint256
    principal_outstanding: uint256
    cover: uint256

event Recovery:
    loan_id: indexed(uint256)
    payer: indexed(address)
    amount: uint256
    to_noteholders: uint256
    to_reserve: uint256

event Claimed:
    note_id: indexed(uint256)
    loan_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256

event ParamsUpdated:
    origination_fee_bps: uint256
    service_fee_bps: uint256
    reserve_share_bps: uint256
    penalty_bps_per_day: uint256
    penalty_cap_bps: uint256
    coverage_bps: uint256
    grace_seconds: uint256
    default_after_seconds: uint256
    review_seconds: uint256

event GradeLimitsSet:
    token: indexed(address)
    limits: GradeLimits[GRADES]

event LenderKycThresholdSet:
    token: indexed(address)
    amount: uint256

event TokenAllowed:
    token: indexed(address)
    allowed: bool

event TreasurySet:
    treasury: indexed(address)

event ReserveDeposited:
    token: indexed(address)
    sender: indexed(address)
    amount: uint256

event FeesWithdrawn:
    token: indexed(address)
    treasury: indexed(address)
    amount: uint256


@deploy
def __init__(notes_: address, identity_: address, oracle_: address, treasury_: address, terms_: Terms):
    """
    @notice Deploys the book; the deployer becomes admin (and nothing else).
            No grade may borrow until the admin sets grade limits.
    @param notes_ The LoanNote collection; its deployer binds it to this book.
    @param identity_ The IdentityRegistry (KYC and blocklist).
    @param oracle_ The CreditOracle (scores and grades).
    @param treasury_ Receiver of the treasury's share of fees.
    @param terms_ Initial parameters for new loans, checked against the caps.
    """
    access_control.__init__()
    pausable.__init__()
    assert notes_ != empty(address), "loanbook: zero notes"
    assert identity_ != empty(address) and oracle_ != empty(address), "loanbook: zero gate"
    notes = notes_
    identity = identity_
    oracle = oracle_
    assert treasury_ != empty(address), "loanbook: zero treasury"
    self.treasury = treasury_
    log TreasurySet(treasury=treasury_)
    self._set_params(terms_)


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@external
@view
def loan(loan_id: uint256) -> Loan:
    """
    @notice A loan's terms and status. An OPEN loan past its funding deadline
            is reported as EXPIRED even before anyone records the expiry.
    @param loan_id The loan id (from 1).
    @return The loan; `terms` is the packed snapshot (see `loan_terms`).
    """
    record: Loan = self._loans[loan_id]
    if record.status == OPEN and block.timestamp >= record.funding_deadline:
        record.status = EXPIRED
    return record


@external
@view
def loan_terms(loan_id: uint256) -> Terms:
    """
    @notice The fee, penalty, grace, default, review and coverage terms frozen
            into a loan when it was requested.
    @param loan_id The loan id.
    @return The unpacked terms.
    """
    return self._unpack_terms(self._loans[loan_id].terms)


@external
@view
def ledger(loan_id: uint256) -> Ledger:
    """
    @notice Repayment progress of a loan (cursor, penalty, accumulator).
    @param loan_id The loan id.
    @return The ledger.
    """
    return self._ledgers[loan_id]


@external
@view
def default_record(loan_id: uint256) -> DefaultRecord:
    """
    @notice Debt, reserve cover and recoveries of a defaulted loan.
    @param loan_id The loan id.
    @return The default record (all zero if the loan never defaulted).
    """
    return self._defaults[loan_id]


@external
@view
def note(note_id: uint256) -> Note:
    """
    @notice A note's loan, principal share and amount claimed so far.
    @param note_id The note (ERC-721 token) id.
    @return The note.
    """
    return self._notes[note_id]


@external
@view
def claimable(note_id: uint256) -> uint256:
    """
    @notice What the note's owner can `claim` now.
    @param note_id The note id.
    @return Amount in token base units.
    """
    return self._claimable(note_id)


@external
@view
def schedule(
    principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256, method: uint256
) -> DynArray[Installment, 360]:
    """
    @notice The full repayment schedule for the given terms: the same math a
            loan with these terms charges.
    @param principal Principal in token base units.
    @param apr_bps Annual rate in basis points.
    @param installments Number of installments (1 to 360).
    @param period_seconds Seconds between installments.
    @param method 0 EQUAL_INSTALLMENT, 1 EQUAL_PRINCIPAL, 2 INTEREST_ONLY, 3 BULLET.
    @return Installments with due offset from disbursement, principal and interest parts.
    """
    self._check_loan_terms(principal, apr_bps, installments, period_seconds, method)
    annuity: uint256 = 0
    if method == schedule_math.EQUAL_INSTALLMENT:
        annuity = schedule_math._annuity_payment(principal, apr_bps, installments, period_seconds)
    result: DynArray[Installment, 360] = []
    remaining: uint256 = principal
    for k: uint256 in range(1, 361):
        if k > installments:
            break
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = schedule_math._installment(
            method, principal, apr_bps, installments, period_seconds, annuity, k, remaining
        )
        result.append(Installment(due_offset=k * period_seconds, principal=part, interest=interest))
        remaining -= part
    return result


@external
@view
def amount_due(loan_id: uint256) -> Due:
    """
    @notice What a borrower owes now: past-due installments, penalty so far,
            the next due time and amount, principal outstanding and the
            payoff that `repay_in_full` would take.
    @param loan_id The loan id.
    @return The amounts (all zero unless the loan is ACTIVE or DEFAULTED).
    """
    record: Loan = self._loans[loan_id]
    due: Due = empty(Due)
    if record.status == DEFAULTED:
        debt: DefaultRecord = self._defaults[loan_id]
        due.payoff = debt.debt - debt.recovered
        return due
    if record.status != ACTIVE:
        return due

    state: Ledger = self._ledgers[loan_id]
    terms: Terms = self._unpack_terms(record.terms)
    due.penalty = state.penalty_owed + self._pending_penalty(record, terms, state)
    due.principal_outstanding = state.scheduled_remaining - state.principal_paid_current
    due.next_due_time = record.start + state.cursor * record.period_seconds

    k: uint256 = state.cursor
    remaining: uint256 = state.scheduled_remaining
    for _: uint256 in range(360):
        if k > record.installments:
            break
        if record.start + k * record.period_seconds > block.timestamp:
            break
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = self._installment_of(record, k, remaining)
        unpaid: uint256 = part + interest
        if k == state.cursor:
            unpaid -= state.interest_paid_current + state.principal_paid_current
        due.past_due += unpaid
        remaining -= part
        k += 1

    if state.cursor <= record.installments:
        part: uint256 = 0
        interest: uint256 = 0
        part, interest = self._installment_of(record, state.cursor, state.scheduled_remaining)
        due.next_due_amount = part + interest - state.interest_paid_current - state.principal_paid_current

    interest_due: uint256 = 0
    principal_due: uint256 = 0
    interest_due, principal_due = self._payoff_parts(record, state)
    due.payoff = due.penalty + interest_due + principal_due
    return due


# ---------------------------------------------------------------------------
# Borrower and lender actions
# ---------------------------------------------------------------------------


@external
@nonreentrant
def request_loan(
    token: address,
    principal: uint256,
    apr_bps: uint256,
    installments: uint256,
    period_seconds: uint256,
    method: uint256,
    funding_seconds: uint256,
) -> uint256:
    """
    @notice Posts a loan request (借款标的). The current fee, penalty, grace,
            default, review and coverage parameters are frozen into it.
    @param token An allow-listed ERC-20.
    @param principal Amount asked, in token base units.
    @param apr_bps Annual rate in basis points (at most MAX_APR_BPS).
    @param installments Number of installments, 1 to 360.
    @param period_seconds Seconds between installments, 1 to 366 days.
    @param method 0 EQUAL_INSTALLMENT, 1 EQUAL_PRINCIPAL, 2 INTEREST_ONLY, 3 BULLET.
    @param funding_seconds How long lenders may fund, 1 hour to 30 days.
    @return The new loan id.
    """
    pausable._require_not_paused()
    assert self.token_allowed[token], "loanbook: token not allowed"
    self._check_loan_terms(principal, apr_bps, installments, period_seconds, method)
    assert funding_seconds >= MIN_FUNDING_SECONDS and funding_seconds <= MAX_FUNDING_SECONDS, "loanbook: bad funding window"
    credit: ICreditOracle.Score = self._check_borrower(msg.sender, token, principal, apr_bps)
    self.exposure[msg.sender][token] += principal

    loan_id: uint256 = self.loan_count + 1
    self.loan_count = loan_id
    terms: Terms = self.params
    deadline: uint256 = block.timestamp + funding_seconds
    self._loans[loan_id] = Loan(
        borrower=msg.sender,
        token=token,
        grade=credit.grade,
        principal=principal,
        apr_bps=apr_bps,
        installments=installments,
        period_seconds=period_seconds,
        method=method,
        status=OPEN,
        terms=self._pack_terms(terms),
        funding_deadline=deadline,
        funded=0,
        review_ends_at=0,
        start=0,
        annuity=0,
    )
    log LoanRequested(
        loan_id=loan_id,
        borrower=msg.sender,
        token=token,
        grade=credit.grade,
        score=credit.score,
        principal=principal,
        apr_bps=apr_bps,
        installments=installments,
        period_seconds=period_seconds,
        method=method,
        funding_deadline=deadline,
    )
    log LoanTerms(
        loan_id=loan_id,
        origination_fee_bps=terms.origination_fee_bps,
        service_fee_bps=terms.service_fee_bps,
        reserve_share_bps=terms.reserve_share_bps,
        penalty_bps_per_day=terms.penalty_bps_per_day,
        penalty_cap_bps=terms.penalty_cap_bps,
        coverage_bps=terms.coverage_bps,
        grace_seconds=terms.grace_seconds,
        default_after_seconds=terms.default_after_seconds,
        review_seconds=terms.review_seconds,
    )
    return loan_id


@external
@nonreentrant
def fund(loan_id: uint256, amount: uint256) -> uint256:
    """
    @notice Funds part of an open request (投标) and mints a note for it.
            Only what is still missing is taken; the request becomes FUNDED
            when the principal is reached and the review window starts.
    @param loan_id The loan id.
    @param amount The most the lender wants to commit, in base units.
    @return The id of the minted note.
    """
    pausable._require_not_paused()
    record: Loan = self._loans[loan_id]
    assert record.status == OPEN, "loanbook: not open"
    assert block.timestamp < record.funding_deadline, "loanbook: funding closed"
    assert msg.sender != record.borrower, "loanbook: borrower cannot fund"
    assert amount > 0, "loanbook: zero amount"
    take: uint256 = min(amount, record.principal - record.funded)
    self._check_lender(msg.sender, record.token, take)
    funded: uint256 = record.funded + take
    self._loans[loan_id].funded = funded
    self.held[record.token] += take

    note_id: uint256 = self.note_count + 1
    self.note_count = note_id
    self._notes[note_id] = Note(loan_id=loan_id, share=take, claimed=0)

    if funded == record.principal:
        review_ends_at: uint256 = block.timestamp + self._unpack_terms(record.terms).review_seconds
        self._loans[loan_id].status = FUNDED
        self._loans[loan_id].review_ends_at = review_ends_at
        log LoanFullyFunded(loan_id=loan_id, review_ends_at=review_ends_at)

    log LoanFunded(loan_id=loan_id, note_id=note_id, lender=msg.sender, amount=take, total_funded=funded)
    self._pull(record.token, msg.sender, take)
    extcall ILoanNote(notes).mint(msg.sender, note_id)
    return note_id


@external
@nonreentrant
def cancel(loan_id: uint256):
    """
    @notice Withdraws a request. The borrower may cancel while it is OPEN;
            the risk officer while it is OPEN or FUNDED inside the review
            window (veto). Lenders then `refund` their notes.
    @param loan_id The loan id.
    """
    record: Loan = self._loans[loan_id]
    is_officer: bool = access_control.hasRole[RISK_OFFICER_ROLE][msg.sender]
    if record.status == OPEN:
        assert block.timestamp < record.funding_deadline, "loanbook: expired"
        assert msg.sender == record.borrower or is_officer, "loanbook: not allowed"
    elif record.status == FUNDED:
        assert is_officer, "loanbook: not allowed"
        assert block.timestamp < record.review_ends_at, "loanbook: review over"
    else:
        raise "loanbook: not cancellable"
    self._loans[loan_id].status = CANCELLED
    self.exposure[record.borrower][record.token] -= record.principal
    log LoanCancelled(loan_id=loan_id, by=msg.sender, previous_status=record.status)


@external
@nonreentrant
def expire(loan_id: uint256):
    """
    @notice Records that an OPEN request passed its funding deadline (流标).
            Anyone may call it; `refund` also does it on first use. It frees
            the borrower's exposure so they can request again.
    @param loan_id The loan id.
    """
    record: Loan = self._loans[loan_id]
    assert record.status == OPEN and block.timestamp >= record.funding_deadline, "loanbook: not expired"
    self._expire(loan_id, record)


@external
@nonreentrant
def refund(note_id: uint256):
    """
    @notice Returns a note's principal in full to its owner after the loan was
            cancelled or expired (流标), and burns the note. The first refund
            after the funding deadline records the expiry.
    @param note_id The note id; the caller must own it or be approved for it.
    """
    owner: address = staticcall ILoanNote(notes).authorized_owner(msg.sender, note_id)
    position: Note = self._notes[note_id]
    record: Loan = self._loans[position.loan_id]
    if record.status == OPEN and block.timestamp >= record.funding_deadline:
        self._expire(position.loan_id, record)
    elif record.status != CANCELLED and record.status != EXPIRED:
        raise "loanbook: not refundable"

    self._notes[note_id].share = 0
    self.held[record.token] -= position.share
    extcall ILoanNote(notes).burn(note_id)
    log NoteRefunded(note_id=note_id, loan_id=position.loan_id, owner=owner, amount=position.share)
    self._push(record.token, owner, position.share)


@external
@nonreentrant
def disburse(loan_id: uint256):
    """
    @notice Pays a fully funded loan out to the borrower (放款) once its review
            window is over: principal minus the origination fee. The repayment
            schedule starts now. Anyone may call it.
    @param loan_id The loan id.
    """
    pausable._require_not_paused()
    record: Loan = self._loans[loan_id]
    assert record.status == FUNDED, "loanbook: not funded"
    assert block.timestamp >= record.review_ends_at, "loanbook: in review"

    terms: Terms = self._unpack_terms(record.terms)
    fee: uint256 = record.principal * terms.origination_fee_bps // BPS
    annuity: uint256 = 0
    if record.method == schedule_math.EQUAL_INSTALLMENT:
        annuity = schedule_math._annuity_payment(
            record.principal, record.apr_bps, record.installments, record.period_seconds
        )
    record.annuity = annuity
    record.start = block.timestamp
    self._loans[loan_id].status = ACTIVE
    self._loans[loan_id].start = block.timestamp
    self._loans[loan_id].annuity = annuity

    cursor: uint256 = 1
    if record.method == schedule_math.BULLET:
        cursor = record.installments
    else:
        cursor = self._skip_settled(record, 1, record.principal)
    self._ledgers[loan_id] = Ledger(
        cursor=cursor,
        scheduled_remaining=record.principal,
        interest_paid_current=0,
        principal_paid_current=0,
        penalty_owed=0,
        penalty_charged=0,
        accrued_until=block.timestamp,
        acc_per_share=0,
        distributed=0,
    )
    self.held[record.token] -= record.principal
    self._take_fee(record.token, fee, terms.reserve_share_bps)
    log LoanDisbursed(
        loan_id=loan_id,
        borrower=record.borrower,
        amount=record.principal - fee,
        origination_fee=fee,
        start=block.timestamp,
        annuity=annuity,
    )
    self._push(record.token, record.borrower, record.principal - fee)


@external
@nonreentrant
def repay(loan_id: uint256, amount: uint256) -> uint256:
    """
    @notice Pays towards a loan; anyone may pay for the borrower. Waterfall:
            penalty, then interest, then principal, oldest installment first;
            paying ahead settles later installments in schedule order. Only
            what is owed is taken. On a DEFAULTED loan the payment is a
            recovery: noteholders first, then the reserve's cover is refilled.
    @param loan_id The loan id.
    @param amount The most to pay, in base units.
    @return The amount actually taken.
    """
    assert amount > 0, "loanbook: zero amount"
    record: Loan = self._loans[loan_id]
    if record.status == DEFAULTED:
        return self._recover(loan_id, record, amount)
    assert record.status == ACTIVE, "loanbook: not active"

    terms: Terms = self._unpack_terms(record.terms)
    state: Ledger = self._accrue(loan_id, record, terms)

    penalty: uint256 = min(amount, state.penalty_owed)
    state.penalty_owed -= penalty
    budget: uint256 = amount - penalty
    interest: uint256 = 0
    principal: uint256 = 0

    for _: uint256 in range(361):
        if state.cursor > record.installments or budget == 0:
            break
        part: uint256 = 0
        part_interest: uint256 = 0
        part, part_interest = self._installment_of(record, state.cursor, state.scheduled_remaining)
        pay: uint256 = min(budget, part_interest - state.interest_paid_current)
        state.interest_paid_current += pay
        interest += pay
        budget -= pay
        pay = min(budget, part - state.principal_paid_current)
        state.principal_paid_current += pay
        principal += pay
        budget -= pay
        if state.interest_paid_current == part_interest and state.principal_paid_current == part:
            state.scheduled_remaining -= part
            state.interest_paid_current = 0
            state.principal_paid_current = 0
            state.cursor = self._skip_settled(record, state.cursor + 1, state.scheduled_remaining)

    paid: uint256 = penalty + interest + principal
    assert paid > 0, "loanbook: nothing owed"
    self._settle(loan_id, record, terms, state, paid, principal, interest, penalty)
    return paid


@external
@nonreentrant
def repay_in_full(loan_id: uint256) -> uint256:
    """
    @notice Settles a loan now: principal outstanding, interest accrued to
            date (past-due interest plus the running period's interest pro
            rata) and penalties. On a DEFAULTED loan it pays the remaining debt.
    @param loan_id The loan id.
    @return The amount taken.
    """
    record: Loan = self._loans[loan_id]
    if record.status == DEFAULTED:
        debt: DefaultRecord = self._defaults[loan_id]
        return self._recover(loan_id, record, debt.debt - debt.recovered)
    assert record.status == ACTIVE, "loanbook: not active"

    terms: Terms = self._unpack_terms(record.terms)
    state: Ledger = self._accrue(loan_id, record, terms)
    interest: uint256 = 0
    principal: uint256 = 0
    interest, principal = self._payoff_parts(record, state)
    penalty: uint256 = state.penalty_owed

    state.penalty_owed = 0
    state.cursor = record.installments + 1
    state.scheduled_remaining = 0
    state.interest_paid_current = 0
    state.principal_paid_current = 0
    paid: uint256 = penalty + interest + principal
    self._settle(loan_id, record, terms, state, paid, principal, interest, penalty)
    return paid


@external
@nonreentrant
def mark_default(loan_id: uint256):
    """
    @notice Declares a loan defaulted once an installment is more than the
            loan's default threshold past due; anyone may call it. The
            borrower's debt is frozen at principal outstanding + interest to
            date + penalties, and the risk reserve pays noteholders
            min(reserve, coverage_bps x principal outstanding). The unpaid
            principal keeps counting in the borrower's exposure until the
            debt is fully recovered.
    @param loan_id The loan id.
    """
    record: Loan = self._loans[loan_id]
    assert record.status == ACTIVE, "loanbook: not active"
    terms: Terms = self._unpack_terms(record.terms)
    state: Ledger = self._accrue(loan_id, record, terms)
    oldest_due: uint256 = record.start + state.cursor * record.period_seconds
    assert block.timestamp > oldest_due + terms.default_after_seconds, "loanbook: not in default"

    interest: uint256 = 0
    principal: uint256 = 0
    interest, principal = self._payoff_parts(record, state)
    debt: uint256 = state.penalty_owed + interest + principal
    cover: uint256 = min(self.reserve[record.token], principal * terms.coverage_bps // BPS)

    self.reserve[record.token] -= cover
    self.held[record.token] += cover
    self._ledgers[loan_id] = self._credit_notes(state, record.principal, cover)
    self._defaults[loan_id] = DefaultRecord(debt=debt, cover=cover, recovered=0, principal=principal)
    self._loans[loan_id].status = DEFAULTED
    log LoanDefaulted(loan_id=loan_id, debt=debt, principal_outstanding=principal, cover=cover)


@external
@nonreentrant
def claim(note_id: uint256) -> uint256:
    """
    @notice Pays a note's owner its share of everything credited to the loan's
            notes so far (repayments, reserve cover, recoveries).
    @param note_id The note id; the caller must own it or be approved for it.
    @return The amount paid.
    """
    owner: address = staticcall ILoanNote(notes).authorized_owner(msg.sender, note_id)
    amount: uint256 = self._claimable(note_id)
    assert amount > 0, "loanbook: nothing to claim"
    position: Note = self._notes[note_id]
    token: address = self._loans[position.loan_id].token
    self._notes[note_id].claimed = position.claimed + amount
    self.held[token] -= amount
    log Claimed(note_id=note_id, loan_id=position.loan_id, owner=owner, amount=amount)
    self._push(token, owner, amount)
    return amount


@external
@nonreentrant
def deposit_reserve(token: address, amount: uint256):
    """
    @notice Adds money to a token's risk reserve (anyone may, e.g. the
            platform seeding it). Deposits cannot be withdrawn: the reserve is
            only ever paid out to noteholders of defaulted loans.
    @param token An allow-listed token.
    @param amount Amount in base units.
    """
    assert self.token_allowed[token], "loanbook: token not allowed"
    assert amount > 0, "loanbook: zero amount"
    self.reserve[token] += amount
    log ReserveDeposited(token=token, sender=msg.sender, amount=amount)
    self._pull(token, msg.sender, amount)


# ---------------------------------------------------------------------------
# Admin, risk officer and pauser
# ---------------------------------------------------------------------------


@external
def set_params(terms_: Terms):
    """
    @notice Sets the parameters for loans requested from now on; existing
            loans keep the terms they were requested with.
    @param terms_ The new parameters; each is checked against its hard cap.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self._set_params(terms_)


@external
def set_grade_limits(token: address, limits: GradeLimits[GRADES]):
    """
    @notice Sets what each credit grade may borrow in `token`: largest loan,
            most principal outstanding per borrower, lowest APR. Index 0 is
            grade A. A zero max_principal closes a grade. Loans already
            requested are not affected.
    @param token The token the limits apply to.
    @param limits Limits for grades A, B, C, D, E.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    for i: uint256 in range(GRADES):
        assert limits[i].max_principal <= MAX_PRINCIPAL, "loanbook: grade cap over max"
        assert limits[i].max_exposure >= limits[i].max_principal, "loanbook: exposure below loan cap"
        assert limits[i].min_apr_bps <= MAX_APR_BPS, "loanbook: grade floor over max apr"
        self.grade_limits[token][i + 1] = limits[i]
    log GradeLimitsSet(token=token, limits=limits)


@external
def set_lender_kyc_threshold(token: address, amount: uint256):
    """
    @notice Funding more than `amount` of `token` in one go requires a
            KYC-verified lender (0: every lender must be verified).
    @param token The token.
    @param amount Threshold in base units.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self.lender_kyc_threshold[token] = amount
    log LenderKycThresholdSet(token=token, amount=amount)


@external
def set_token_allowed(token: address, allowed: bool):
    """
    @notice Adds a token to, or removes it from, the allow-list for new requests.
    @param token The ERC-20.
    @param allowed Whether new loans may use it.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert token != empty(address), "loanbook: zero token"
    self.token_allowed[token] = allowed
    log TokenAllowed(token=token, allowed=allowed)


@external
def set_treasury(treasury_: address):
    """
    @notice Changes where withdrawn treasury fees go.
    @param treasury_ The new treasury address.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert treasury_ != empty(address), "loanbook: zero treasury"
    self.treasury = treasury_
    log TreasurySet(treasury=treasury_)


@external
@nonreentrant
def withdraw_fees(token: address) -> uint256:
    """
    @notice Sends the treasury's earned fees in `token` to the treasury. Only
            fees: escrow, noteholder credit and the reserve cannot be moved.
    @param token The token.
    @return The amount sent.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    amount: uint256 = self.fees[token]
    assert amount > 0, "loanbook: no fees"
    self.fees[token] = 0
    log FeesWithdrawn(token=token, treasury=self.treasury, amount=amount)
    self._push(token, self.treasury, amount)
    return amount


@external
def pause():
    """
    @notice Stops new requests, funding and disbursement. Repay, claim, refund
            and mark_default keep working so no money is ever trapped.
    """
    access_control._check_role(PAUSER_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    """
    @notice Lifts a pause.
    """
    access_control._check_role(PAUSER_ROLE, msg.sender)
    pausable._unpause()


# ---------------------------------------------------------------------------
# Internal: gating hooks
# ---------------------------------------------------------------------------


@internal
@view
def _check_borrower(borrower: address, token: address, principal: uint256, apr_bps: uint256) -> ICreditOracle.Score:
    """
    @dev A borrower must be KYC-verified, not blocked, and hold an unexpired
         score whose grade allows the principal, the exposure and the APR.
    """
    assert staticcall IIdentityRegistry(identity).is_verified(borrower), "loanbook: borrower not verified"
    assert not staticcall IIdentityRegistry(identity).is_blocked(borrower), "loanbook: borrower blocked"
    credit: ICreditOracle.Score = staticcall ICreditOracle(oracle).score_of(borrower)
    assert block.timestamp < credit.expires_at, "loanbook: score expired"
    assert credit.grade >= 1 and credit.grade <= GRADES, "loanbook: grade not eligible"
    limits: GradeLimits = self.grade_limits[token][credit.grade]
    assert principal <= limits.max_principal, "loanbook: over grade cap"
    assert self.exposure[borrower][token] + principal <= limits.max_exposure, "loanbook: over exposure cap"
    assert apr_bps >= limits.min_apr_bps, "loanbook: apr below grade floor"
    return credit


@internal
@view
def _check_lender(lender: address, token: address, amount: uint256):
    """
    @dev Blocked accounts cannot fund; large fundings need KYC.
    """
    assert not staticcall IIdentityRegistry(identity).is_blocked(lender), "loanbook: lender blocked"
    if amount > self.lender_kyc_threshold[token]:
        assert staticcall IIdentityRegistry(identity).is_verified(lender), "loanbook: lender not verified"


@internal
def _expire(loan_id: uint256, record: Loan):
    self._loans[loan_id].status = EXPIRED
    self.exposure[record.borrower][record.token] -= record.principal
    log LoanExpired(loan_id=loan_id)


# ---------------------------------------------------------------------------
# Internal: schedule, penalty and settlement
# ---------------------------------------------------------------------------


@internal
@view
def _check_loan_terms(
    principal: uint256, apr_bps: uint256, installments: uint256, period_seconds: uint256, method: uint256
):
    assert principal > 0, "loanbook: zero principal"
    assert principal <= MAX_PRINCIPAL, "loanbook: principal too large"
    assert apr_bps <= MAX_APR_BPS, "loanbook: apr too high"
    assert installments >= 1 and installments <= MAX_INSTALLMENTS, "loanbook: bad installments"
    assert period_seconds >= MIN_PERIOD_SECONDS and period_seconds <= MAX_PERIOD_SECONDS, "loanbook: bad period"
    assert installments * period_seconds <= MAX_TERM_SECONDS, "loanbook: term too long"
    assert method <= schedule_math.BULLET, "loanbook: bad method"


@internal
@pure
def _installment_of(record: Loan, k: uint256, remaining: uint256) -> (uint256, uint256):
    return schedule_math._installment(
        record.method,
        record.principal,
        record.apr_bps,
        record.installments,
        record.period_seconds,
        record.annuity,
        k,
        remaining,
    )


@internal
@pure
def _skip_settled(record: Loan, cursor: uint256, remaining: uint256) -> uint256:
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
        part, interest = self._installment_of(record, k, remaining)
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
        part, interest = self._installment_of(record, k, remaining)
        unpaid: uint256 = part + interest
        if k == state.cursor:
            unpaid -= state.interest_paid_current + state.principal_paid_current
        elapsed: uint256 = block.timestamp - max(late_from, state.accrued_until)
        added += unpaid * terms.penalty_bps_per_day * elapsed // (BPS * DAY)
        remaining -= part
        k += 1
    return min(added, cap - state.penalty_charged)


@internal
def _accrue(loan_id: uint256, record: Loan, terms: Terms) -> Ledger:
    state: Ledger = self._ledgers[loan_id]
    added: uint256 = self._pending_penalty(record, terms, state)
    state.accrued_until = block.timestamp
    if added != 0:
        state.penalty_owed += added
        state.penalty_charged += added
        log PenaltyAccrued(loan_id=loan_id, amount=added, penalty_owed=state.penalty_owed)
    return state


@internal
@pure
def _window_start(record: Loan, k: uint256) -> uint256:
    """
    @dev Where installment k's interest starts accruing: its period start, or
         disbursement for a BULLET loan (its one payment carries all interest).
    """
    if record.method == schedule_math.BULLET:
        return record.start
    return record.start + (k - 1) * record.period_seconds


@internal
@view
def _payoff_parts(record: Loan, state: Ledger) -> (uint256, uint256):
    """
    @dev Interest accrued to date and principal outstanding: unpaid interest of
         installments due by now, plus the running installment's interest pro
         rata to time elapsed in its window (never less than already paid).
    @return (interest due, principal outstanding).
    """
    interest: uint256 = 0
    k: uint256 = state.cursor
    remaining: uint256 = state.scheduled_remaining
    for _: uint256 in range(360):
        if k > record.installments:
            break
        part: uint256 = 0
        part_interest: uint256 = 0
        part, part_interest = self._installment_of(record, k, remaining)
        paid: uint256 = 0
        if k == state.cursor:
            paid = state.interest_paid_current
        due_at: uint256 = record.start + k * record.period_seconds
        if due_at <= block.timestamp:
            interest += part_interest - paid
        else:
            begin: uint256 = self._window_start(record, k)
            earned: uint256 = 0
            if block.timestamp > begin:
                earned = part_interest * (block.timestamp - begin) // (due_at - begin)
            if earned > paid:
                interest += earned - paid
            break
        remaining -= part
        k += 1
    return interest, state.scheduled_remaining - state.principal_paid_current


@internal
def _settle(
    loan_id: uint256,
    record: Loan,
    terms: Terms,
    state: Ledger,
    paid: uint256,
    principal: uint256,
    interest: uint256,
    penalty: uint256,
):
    """
    @dev Takes the service fee on interest and penalty, credits the rest to the
         notes, stores the ledger, pulls the payment and logs it.
    """
    fee: uint256 = (interest + penalty) * terms.service_fee_bps // BPS
    fee_reserve: uint256 = fee * terms.reserve_share_bps // BPS
    to_notes: uint256 = paid - fee
    self.exposure[record.borrower][record.token] -= principal
    self._take_fee(record.token, fee, terms.reserve_share_bps)
    self.held[record.token] += to_notes
    self._ledgers[loan_id] = self._credit_notes(state, record.principal, to_notes)
    log Repayment(
        loan_id=loan_id,
        payer=msg.sender,
        amount=paid,
        principal=principal,
        interest=interest,
        penalty=penalty,
        fee_treasury=fee - fee_reserve,
        fee_reserve=fee_reserve,
        to_noteholders=to_notes,
        principal_outstanding=state.scheduled_remaining - state.principal_paid_current,
        next_installment=state.cursor,
    )
    if state.cursor > record.installments:
        self._loans[loan_id].status = REPAID
        log LoanRepaid(loan_id=loan_id)
    self._pull(record.token, msg.sender, paid)


@internal
def _recover(loan_id: uint256, record: Loan, amount: uint256) -> uint256:
    """
    @dev A payment on a defaulted loan: noteholders get recoveries until cover
         plus recoveries equal the debt, then the reserve gets its cover back.
         No fee is taken on recoveries.
    """
    debt: DefaultRecord = self._defaults[loan_id]
    take: uint256 = min(amount, debt.debt - debt.recovered)
    assert take > 0, "loanbook: nothing owed"
    notes_cap: uint256 = debt.debt - debt.cover
    to_notes: uint256 = min(debt.recovered + take, notes_cap) - min(debt.recovered, notes_cap)
    to_reserve: uint256 = take - to_notes

    self._defaults[loan_id].recovered = debt.recovered + take
    if debt.recovered + take == debt.debt:
        # Unpaid defaulted principal keeps counting against the borrower's cap until recovered.
        self.exposure[record.borrower][record.token] -= debt.principal
    self._ledgers[loan_id] = self._credit_notes(self._ledgers[loan_id], record.principal, to_notes)
    self.held[record.token] += to_notes
    self.reserve[record.token] += to_reserve
    log Recovery(loan_id=loan_id, payer=msg.sender, amount=take, to_noteholders=to_notes, to_reserve=to_reserve)
    self._pull(record.token, msg.sender, take)
    return take


@internal
@pure
def _credit_notes(state: Ledger, principal: uint256, amount: uint256) -> Ledger:
    """
    @dev O(1) pro-rata credit to every note of the loan. Rounding down here
         means the notes together are never owed more than was credited.
    """
    credited: Ledger = state
    credited.acc_per_share += amount * ACC_SCALE // principal
    credited.distributed += amount
    return credited


@internal
@view
def _claimable(note_id: uint256) -> uint256:
    position: Note = self._notes[note_id]
    if position.share == 0:
        return 0
    acc: uint256 = self._ledgers[position.loan_id].acc_per_share
    return position.share * acc // ACC_SCALE - position.claimed


@internal
def _take_fee(token: address, fee: uint256, reserve_share_bps: uint256):
    if fee == 0:
        return
    to_reserve: uint256 = fee * reserve_share_bps // BPS
    self.reserve[token] += to_reserve
    self.fees[token] += fee - to_reserve


# ---------------------------------------------------------------------------
# Internal: parameters
# ---------------------------------------------------------------------------


@internal
def _set_params(terms_: Terms):
    assert terms_.origination_fee_bps <= MAX_ORIGINATION_FEE_BPS, "loanbook: origination fee over cap"
    assert terms_.service_fee_bps <= MAX_SERVICE_FEE_BPS, "loanbook: service fee over cap"
    assert terms_.reserve_share_bps <= BPS, "loanbook: reserve share over 100%"
    assert terms_.penalty_bps_per_day <= MAX_PENALTY_BPS_PER_DAY, "loanbook: penalty over cap"
    assert terms_.penalty_cap_bps <= MAX_PENALTY_CAP_BPS, "loanbook: penalty cap over cap"
    assert terms_.coverage_bps <= BPS, "loanbook: coverage over 100%"
    assert terms_.grace_seconds <= MAX_GRACE_SECONDS, "loanbook: grace too long"
    assert terms_.default_after_seconds >= terms_.grace_seconds, "loanbook: default before grace"
    assert terms_.default_after_seconds <= MAX_DEFAULT_AFTER_SECONDS, "loanbook: default too late"
    assert terms_.review_seconds <= MAX_REVIEW_SECONDS, "loanbook: review too long"
    self.params = terms_
    log ParamsUpdated(
        origination_fee_bps=terms_.origination_fee_bps,
        service_fee_bps=terms_.service_fee_bps,
        reserve_share_bps=terms_.reserve_share_bps,
        penalty_bps_per_day=terms_.penalty_bps_per_day,
        penalty_cap_bps=terms_.penalty_cap_bps,
        coverage_bps=terms_.coverage_bps,
        grace_seconds=terms_.grace_seconds,
        default_after_seconds=terms_.default_after_seconds,
        review_seconds=terms_.review_seconds,
    )


@internal
@pure
def _pack_terms(terms_: Terms) -> uint256:
    """
    @dev Six 16-bit basis-point fields, then three 40-bit durations: one
         storage slot per loan instead of nine. Caps keep every field in range.
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
    )


# ---------------------------------------------------------------------------
# Internal: token transfers
# ---------------------------------------------------------------------------


@internal
def _pull(token: address, sender: address, amount: uint256):
    """
    @dev transferFrom that tolerates tokens returning nothing and rejects
         tokens that deliver less than asked (fee-on-transfer).
    """
    if amount == 0:
        return
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    assert extcall IERC20(token).transferFrom(sender, self, amount, default_return_value=True), "loanbook: transfer failed"
    assert staticcall IERC20(token).balanceOf(self) == before + amount, "loanbook: fee-on-transfer token"


@internal
def _push(token: address, receiver: address, amount: uint256):
    if amount == 0:
        return
    assert extcall IERC20(token).transfer(receiver, amount, default_return_value=True), "loanbook: transfer failed"
