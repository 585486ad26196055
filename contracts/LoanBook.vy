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
        funds, and no state, role or pause holds escrow past the loan's
        disbursement deadline. Terms (fees, penalty, grace, default threshold,
        review window, disbursement window, reserve coverage) are frozen into
        each loan when it is requested. LoanLens shows schedules and amounts
        due. See docs/contracts.md for the full rules, math and rounding.
@dev Statuses only move forward: OPEN -> FUNDED -> ACTIVE -> REPAID |
     DEFAULTED; OPEN -> CANCELLED | EXPIRED; FUNDED -> CANCELLED (veto, or
     the borrower blocked or unverified at disbursement) | EXPIRED (not
     disbursed by the disbursement deadline). EXPIRED is reported by `loan`
     as soon as the deadline passes and stored by `expire` or the first
     `refund`.
"""


from ethereum.ercs import IERC20

from snekmate.auth import access_control

from .interfaces import ICreditOracle
from .interfaces import IIdentityRegistry
from .lib import schedule_math
from .lib import loan_math

initializes: access_control

exports: (
    access_control.supportsInterface,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
)


interface ILoanNote:
    def mint(receiver: address, note_id: uint256): nonpayable
    def burn(note_id: uint256): nonpayable
    def authorized_owner(spender: address, note_id: uint256) -> address: view


# @dev Roles beside snekmate's DEFAULT_ADMIN_ROLE (parameters, tokens, roles).
RISK_OFFICER_ROLE: public(constant(bytes32)) = keccak256("RISK_OFFICER_ROLE")
PAUSER_ROLE: public(constant(bytes32)) = keccak256("PAUSER_ROLE")


# @dev Loan statuses, as `loan(id).status` reports them (defined in loan_math,
# which LoanLens shares). EXPIRED is also reported (before anyone stores it)
# for an OPEN loan past its funding deadline and a FUNDED loan past its
# disbursement deadline.
OPEN: public(constant(uint256)) = loan_math.OPEN
FUNDED: public(constant(uint256)) = loan_math.FUNDED
ACTIVE: public(constant(uint256)) = loan_math.ACTIVE
REPAID: public(constant(uint256)) = loan_math.REPAID
DEFAULTED: public(constant(uint256)) = loan_math.DEFAULTED
CANCELLED: public(constant(uint256)) = loan_math.CANCELLED
EXPIRED: public(constant(uint256)) = loan_math.EXPIRED

# @dev Repayment methods, as `request_loan` takes them.
EQUAL_INSTALLMENT: public(constant(uint256)) = schedule_math.EQUAL_INSTALLMENT
EQUAL_PRINCIPAL: public(constant(uint256)) = schedule_math.EQUAL_PRINCIPAL
INTEREST_ONLY: public(constant(uint256)) = schedule_math.INTEREST_ONLY
BULLET: public(constant(uint256)) = schedule_math.BULLET


# @dev Hard limits no admin can exceed (defined in loan_math and published by
# LoanLens, which keeps this contract's code small).
BPS: constant(uint256) = 10_000
DAY: constant(uint256) = 86_400
MAX_ORIGINATION_FEE_BPS: constant(uint256) = loan_math.MAX_ORIGINATION_FEE_BPS
MAX_SERVICE_FEE_BPS: constant(uint256) = loan_math.MAX_SERVICE_FEE_BPS
MAX_PENALTY_BPS_PER_DAY: constant(uint256) = loan_math.MAX_PENALTY_BPS_PER_DAY
MAX_PENALTY_CAP_BPS: constant(uint256) = loan_math.MAX_PENALTY_CAP_BPS
MAX_GRACE_SECONDS: constant(uint256) = loan_math.MAX_GRACE_SECONDS
MAX_DEFAULT_AFTER_SECONDS: constant(uint256) = loan_math.MAX_DEFAULT_AFTER_SECONDS
MIN_REVIEW_SECONDS: constant(uint256) = loan_math.MIN_REVIEW_SECONDS
MAX_REVIEW_SECONDS: constant(uint256) = loan_math.MAX_REVIEW_SECONDS
MIN_DISBURSE_SECONDS: constant(uint256) = loan_math.MIN_DISBURSE_SECONDS
MAX_DISBURSE_SECONDS: constant(uint256) = loan_math.MAX_DISBURSE_SECONDS
MAX_APR_BPS: constant(uint256) = loan_math.MAX_APR_BPS
MAX_INSTALLMENTS: constant(uint256) = loan_math.MAX_INSTALLMENTS
MIN_PERIOD_SECONDS: constant(uint256) = loan_math.MIN_PERIOD_SECONDS
MAX_PERIOD_SECONDS: constant(uint256) = loan_math.MAX_PERIOD_SECONDS
MAX_TERM_SECONDS: constant(uint256) = loan_math.MAX_TERM_SECONDS
MIN_FUNDING_SECONDS: constant(uint256) = loan_math.MIN_FUNDING_SECONDS
MAX_FUNDING_SECONDS: constant(uint256) = loan_math.MAX_FUNDING_SECONDS
MAX_PRINCIPAL: constant(uint256) = loan_math.MAX_PRINCIPAL
GRADES: constant(uint256) = 5
# @dev Fixed-point scale of the distribution accumulator.
ACC_SCALE: constant(uint256) = 10**27


# @dev What a credit grade may borrow in one token: the largest single loan,
# the most principal outstanding at once per identity (借款上限) and the lowest APR.
struct GradeLimits:
    max_principal: uint256
    max_exposure: uint256
    min_apr_bps: uint256


struct DefaultRecord:
    debt: uint256  # what the borrower owed when the loan defaulted
    cover: uint256  # what the reserve paid noteholders
    recovered: uint256  # what the borrower has paid since
    principal: uint256  # principal outstanding at default; counts in exposure until recovered


# @dev A loan as `loan` reports it.
struct LoanInfo:
    borrower: address
    token: address
    grade: uint256
    principal: uint256
    apr_bps: uint256
    installments: uint256
    period_seconds: uint256
    method: uint256
    status: uint256
    terms: uint256  # packed Terms snapshot (see `loan_terms`)
    funding_deadline: uint256
    funded: uint256
    review_ends_at: uint256
    start: uint256
    annuity: uint256
    identity_hash: bytes32  # the borrower's KYC identity at request: exposure is counted on it
    note_total: uint256


# @dev The ERC-721 collection of this book's notes (LoanNote.vy).
notes: public(immutable(address))
# @dev KYC attestations and the risk officer's blocklist.
identity: public(immutable(address))
# @dev Credit scores and grades pushed by the oracle service.
oracle: public(immutable(address))

# @dev Per token, per grade (1 = A ... 5 = E): packed GradeLimits (see `grade_limits`).
_grade_limits: HashMap[address, HashMap[uint256, uint256]]
# @dev Per token: an unverified lender may fund at most this much of one loan.
lender_kyc_threshold: public(HashMap[address, uint256])
# @dev Per KYC identity id, per token: principal of open, funded and active
# loans plus unrecovered defaulted principal (see `exposure`).
_exposure: HashMap[uint256, HashMap[address, uint256]]
# @dev Per loan, per unverified lender: principal funded so far (the KYC
# threshold applies to this total, not to each call).
unverified_funded: public(HashMap[uint256, HashMap[address, uint256]])

# @dev Current parameters for new loans, packed (see `params`).
_params: uint256

# @dev Tokens loans may be requested in.
token_allowed: public(HashMap[address, bool])

# @dev Receiver of the treasury's share of fees.
treasury: public(address)

# @dev Loans requested (low 64 bits), notes minted (next 64) and the pause
# flag (bit 128): request and fund read the pause flag with their counter.
_counters: uint256
_COUNT: constant(uint256) = 2**64 - 1
_NOTE_UNIT: constant(uint256) = 2**64
_PAUSED: constant(uint256) = 2**128

_loans: HashMap[uint256, uint256[loan_math.LOAN_WORDS]]
_ledgers: HashMap[uint256, uint256[loan_math.LEDGER_WORDS]]
_defaults: HashMap[uint256, DefaultRecord]
# @dev Per note: loan id (32 bits), share (96), claimed (96), previous note (32).
_notes: HashMap[uint256, uint256]
# @dev Per token: the risk reserve (low 128 bits) and the treasury's fees not
# yet withdrawn (high 128 bits): one word a payment updates, not two.
_pools: HashMap[address, uint256]

_AMOUNT: constant(uint256) = 2**96 - 1
_HALF: constant(uint256) = 2**128 - 1


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
    identity_hash: bytes32

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
    disburse_seconds: uint256

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

# @dev The ledger fields after the payment come with it, so an indexer never
# re-derives a schedule that a prepayment changed.
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
    scheduled_remaining: uint256
    interest_paid_current: uint256
    level: uint256
    interest_from: uint256

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

event Paused:
    account: address

event Unpaused:
    account: address

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
    disburse_seconds: uint256

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
def __init__(notes_blueprint: address, identity_: address, oracle_: address, treasury_: address, terms_: loan_math.Terms):
    """
    @notice Deploys the book; the deployer becomes admin (and nothing else).
            No grade may borrow until the admin sets grade limits.
    @param notes_blueprint A LoanNote blueprint (ERC-5202): the book creates
           its own note collection from it, bound to this book for good.
    @param identity_ The IdentityRegistry (KYC and blocklist).
    @param oracle_ The CreditOracle (scores and grades).
    @param treasury_ Receiver of the treasury's share of fees.
    @param terms_ Initial parameters for new loans, checked against the caps.
    """
    access_control.__init__()
    loan_math._check(notes_blueprint != empty(address), loan_math.E_ZERO_NOTES)
    loan_math._check(identity_ != empty(address) and oracle_ != empty(address), loan_math.E_ZERO_GATE)
    notes = create_from_blueprint(notes_blueprint)
    identity = identity_
    oracle = oracle_
    loan_math._check(treasury_ != empty(address), loan_math.E_ZERO_TREASURY)
    self.treasury = treasury_
    log TreasurySet(treasury=treasury_)
    self._set_params(terms_)


# ---------------------------------------------------------------------------
# Views (schedules and amounts due: LoanLens)
# ---------------------------------------------------------------------------


@external
@view
def loan(loan_id: uint256) -> LoanInfo:
    """
    @notice A loan's terms and status. A loan past its funding deadline (OPEN)
            or disbursement deadline (FUNDED) is reported as EXPIRED even
            before anyone records the expiry.
    @param loan_id The loan id (from 1); reverts "no such loan" otherwise.
    @return The loan; `terms` is the packed snapshot (see `loan_terms`).
    """
    record: loan_math.Loan = self._loan_of(loan_id)
    return LoanInfo(
        borrower=record.borrower,
        token=record.token,
        grade=record.grade,
        principal=record.principal,
        apr_bps=record.apr_bps,
        installments=record.installments,
        period_seconds=record.period_seconds,
        method=record.method,
        status=self._status(record),
        terms=record.terms,
        funding_deadline=record.funding_deadline,
        funded=record.funded,
        review_ends_at=record.review_ends_at,
        start=record.start,
        annuity=record.annuity,
        identity_hash=staticcall IIdentityRegistry(identity).identity_hash_of(record.identity_id),
        note_total=record.note_total,
    )


@external
@view
def packed(loan_id: uint256) -> (uint256[loan_math.LOAN_WORDS], uint256[loan_math.LEDGER_WORDS]):
    """
    @notice A loan's and its ledger's storage words, as loan_math packs them
            (LoanLens decodes them with the same module). Status as stored.
    @param loan_id The loan id; reverts "no such loan" otherwise.
    @return (loan words, ledger words).
    """
    self._loan_of(loan_id)
    return self._loans[loan_id], self._ledgers[loan_id]


@external
@view
def loan_terms(loan_id: uint256) -> loan_math.Terms:
    """
    @notice The fee, penalty, grace, default, review, disbursement and coverage
            terms frozen into a loan when it was requested.
    @param loan_id The loan id.
    @return The unpacked terms.
    """
    return loan_math._unpack_terms(self._loan_of(loan_id).terms)


@external
@view
def ledger(loan_id: uint256) -> loan_math.Ledger:
    """
    @notice Repayment progress of a loan (cursor, penalty, accumulator, level).
    @param loan_id The loan id.
    @return The ledger (all zero before disbursement).
    """
    self._loan_of(loan_id)
    return loan_math._unpack_ledger(self._ledgers[loan_id])


@external
@view
def default_record(loan_id: uint256) -> DefaultRecord:
    """
    @notice Debt, reserve cover and recoveries of a defaulted loan.
    @param loan_id The loan id.
    @return The default record (all zero if the loan never defaulted).
    """
    self._loan_of(loan_id)
    return self._defaults[loan_id]


@external
@view
def note(note_id: uint256) -> loan_math.Note:
    """
    @notice A note's loan, principal share, amount claimed so far and the
            loan's previous note (walk `previous` from the loan's newest note,
            or use LoanLens.loan_notes, to list a loan's notes).
    @param note_id The note (ERC-721 token) id; reverts "no such note" otherwise.
    @return The note.
    """
    loan_math._check(note_id >= 1 and note_id <= (self._counters >> 64) & _COUNT, loan_math.E_NO_SUCH_NOTE)
    return loan_math._unpack_note(self._notes[note_id])


@external
@view
def claimable(note_id: uint256) -> uint256:
    """
    @notice What the note's owner can `claim` now. Unclaimed credit travels
            with the note: a buyer should read this at the moment of sale.
    @param note_id The note id.
    @return Amount in token base units.
    """
    return self._claimable(loan_math._unpack_note(self._notes[note_id]))


@external
@view
def loan_count() -> uint256:
    """
    @notice Loans requested so far; ids run from 1 to this.
    @return The count.
    """
    return self._counters & _COUNT


@external
@view
def note_count() -> uint256:
    """
    @notice Notes minted so far (refunded ones included); ids run from 1 to this.
    @return The count.
    """
    return (self._counters >> 64) & _COUNT


@external
@view
def paused() -> bool:
    """
    @notice Whether the pauser has stopped new requests, funding and disbursement.
    @return True while paused.
    """
    return self._counters & _PAUSED != 0


@external
@view
def params() -> loan_math.Terms:
    """
    @notice The parameters frozen into loans requested from now on.
    @return The current terms.
    """
    return loan_math._unpack_terms(self._params)


@external
@view
def grade_limits(token: address, grade: uint256) -> GradeLimits:
    """
    @notice What a grade may borrow in `token` (all zero: the grade is closed).
    @param token The token.
    @param grade 1 = A ... 5 = E.
    @return Largest loan, most principal outstanding per identity, lowest APR.
    """
    return self._limits_of(self._grade_limits[token][grade])


@external
@view
def exposure(identity_hash: bytes32, token: address) -> uint256:
    """
    @notice Principal of the identity's open, funded and active loans in
            `token` plus its unrecovered defaulted principal: the total its
            grade's max_exposure caps. Shared by every wallet of the identity.
    @param identity_hash The KYC identity hash (IdentityRegistry).
    @param token The token.
    @return Amount in base units.
    """
    return self._exposure[staticcall IIdentityRegistry(identity).identity_id_of(identity_hash)][token]


@external
@view
def reserve(token: address) -> uint256:
    """
    @notice The risk reserve in `token`: paid out only to noteholders of defaulted loans.
    @param token The token.
    @return Amount in base units.
    """
    return self._pools[token] & _HALF


@external
@view
def fees(token: address) -> uint256:
    """
    @notice The treasury's fees in `token` not yet withdrawn.
    @param token The token.
    @return Amount in base units.
    """
    return self._pools[token] >> 128


@external
@view
def held(token: address) -> uint256:
    """
    @notice What the book holds in `token` for lenders and borrowers: escrowed
            principal and noteholder credit not yet claimed (plus rounding dust
            and anything sent to the contract directly). Its balance less the
            reserve and the fees; the book keeps no separate total.
    @param token The token.
    @return Amount in base units.
    """
    pools: uint256 = self._pools[token]
    return staticcall IERC20(token).balanceOf(self) - (pools & _HALF) - (pools >> 128)


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
            default, review, disbursement and coverage parameters are frozen
            into it. Its principal counts in the exposure of the borrower's
            KYC identity (shared by every wallet of that identity).
    @param token An allow-listed ERC-20.
    @param principal Amount asked, in token base units.
    @param apr_bps Annual rate in basis points (at most MAX_APR_BPS).
    @param installments Number of installments, 1 to 360.
    @param period_seconds Seconds between installments, 1 to 366 days.
    @param method 0 EQUAL_INSTALLMENT, 1 EQUAL_PRINCIPAL, 2 INTEREST_ONLY, 3 BULLET.
    @param funding_seconds How long lenders may fund, 1 hour to 30 days.
    @return The new loan id.
    """
    counters: uint256 = self._not_paused()
    loan_math._check(self.token_allowed[token], loan_math.E_TOKEN_NOT_ALLOWED)
    loan_math._check_loan_terms(principal, apr_bps, installments, period_seconds, method)
    loan_math._check(funding_seconds >= MIN_FUNDING_SECONDS and funding_seconds <= MAX_FUNDING_SECONDS, loan_math.E_BAD_FUNDING_WINDOW)
    identity_id: uint256 = 0
    grade: uint256 = 0
    score: uint256 = 0
    exposure_after: uint256 = 0
    identity_id, grade, score, exposure_after = self._check_borrower(msg.sender, token, principal, apr_bps)
    self._exposure[identity_id][token] = exposure_after

    loan_id: uint256 = (counters & _COUNT) + 1
    self._counters = counters + 1
    packed_terms: uint256 = self._params
    deadline: uint256 = block.timestamp + funding_seconds
    self._loans[loan_id] = loan_math._pack_loan(loan_math.Loan(
        borrower=msg.sender,
        token=token,
        grade=grade,
        principal=principal,
        apr_bps=apr_bps,
        installments=installments,
        period_seconds=period_seconds,
        method=method,
        status=OPEN,
        terms=packed_terms,
        funding_deadline=deadline,
        funded=0,
        review_ends_at=0,
        start=0,
        annuity=0,
        identity_id=identity_id,
        note_total=0,
        last_note=0,
    ))
    terms: loan_math.Terms = loan_math._unpack_terms(packed_terms)
    log LoanRequested(
        loan_id=loan_id,
        borrower=msg.sender,
        token=token,
        grade=grade,
        score=score,
        principal=principal,
        apr_bps=apr_bps,
        installments=installments,
        period_seconds=period_seconds,
        method=method,
        funding_deadline=deadline,
        identity_hash=staticcall IIdentityRegistry(identity).identity_hash_of(identity_id),
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
        disburse_seconds=terms.disburse_seconds,
    )
    return loan_id


@external
@nonreentrant
def fund(loan_id: uint256, amount: uint256) -> uint256:
    """
    @notice Funds part of an open request (投标) and mints a note for it.
            Only what is still missing is taken; the request becomes FUNDED
            when the principal is reached and the review window starts.
            Rejects tokens that deliver less than sent (fee-on-transfer).
    @param loan_id The loan id.
    @param amount The most the lender wants to commit, in base units.
    @return The id of the minted note.
    """
    counters: uint256 = self._not_paused()
    record: loan_math.Loan = self._loan_of(loan_id)
    loan_math._check(record.status == OPEN, loan_math.E_NOT_OPEN)
    loan_math._check(block.timestamp < record.funding_deadline, loan_math.E_FUNDING_CLOSED)
    loan_math._check(msg.sender != record.borrower, loan_math.E_BORROWER_CANNOT_FUND)
    loan_math._check(amount > 0, loan_math.E_ZERO_AMOUNT)
    take: uint256 = min(amount, record.principal - record.funded)
    self._check_lender(loan_id, msg.sender, record.token, take)
    note_id: uint256 = ((counters >> 64) & _COUNT) + 1
    self._counters = counters + _NOTE_UNIT
    self._notes[note_id] = loan_math._pack_note(loan_id, take, 0, record.last_note)
    record.funded += take
    record.note_total += 1
    record.last_note = note_id
    log LoanFunded(loan_id=loan_id, note_id=note_id, lender=msg.sender, amount=take, total_funded=record.funded)

    if record.funded == record.principal:
        record.status = FUNDED
        record.review_ends_at = block.timestamp + loan_math._unpack_terms(record.terms).review_seconds
        log LoanFullyFunded(loan_id=loan_id, review_ends_at=record.review_ends_at)
    self._loans[loan_id] = loan_math._pack_loan(record)

    loan_math._check(self._pull(record.token, msg.sender, take) == take, loan_math.E_FEE_ON_TRANSFER_TOKEN)
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
    record: loan_math.Loan = self._loan_of(loan_id)
    is_officer: bool = access_control.hasRole[RISK_OFFICER_ROLE][msg.sender]
    if record.status == OPEN:
        loan_math._check(block.timestamp < record.funding_deadline, loan_math.E_EXPIRED)
        loan_math._check(msg.sender == record.borrower or is_officer, loan_math.E_NOT_ALLOWED)
    elif record.status == FUNDED:
        loan_math._check(is_officer or msg.sender != record.borrower, loan_math.E_FUNDED_ONLY_THE_RISK_OFFICER_CAN_VETO)
        loan_math._check(is_officer, loan_math.E_NOT_ALLOWED)
        loan_math._check(block.timestamp < record.review_ends_at, loan_math.E_REVIEW_OVER)
    else:
        loan_math._check(False, loan_math.E_NOT_CANCELLABLE)
    self._close(loan_id, record, CANCELLED)
    log LoanCancelled(loan_id=loan_id, by=msg.sender, previous_status=record.status)


@external
@nonreentrant
def expire(loan_id: uint256):
    """
    @notice Records that an OPEN request passed its funding deadline (流标), or
            a FUNDED one its disbursement deadline. Anyone may call it, paused
            or not; `refund` also does it on first use. It frees the
            borrower's exposure so they can request again.
    @param loan_id The loan id.
    """
    record: loan_math.Loan = self._loan_of(loan_id)
    loan_math._check(record.status != EXPIRED and self._status(record) == EXPIRED, loan_math.E_NOT_EXPIRED)
    self._expire(loan_id, record)


@external
@nonreentrant
def refund(note_id: uint256):
    """
    @notice Returns a note's principal in full to its owner after the loan was
            cancelled or expired (流标, or not disbursed by its disbursement
            deadline), and burns the note. Works while paused. The first refund
            after a deadline records the expiry.
    @param note_id The note id; the caller must own it or be approved for it.
    """
    owner: address = staticcall ILoanNote(notes).authorized_owner(msg.sender, note_id)
    position: loan_math.Note = loan_math._unpack_note(self._notes[note_id])
    record: loan_math.Loan = self._loan_of(position.loan_id)
    status: uint256 = self._status(record)
    if status == EXPIRED and record.status != EXPIRED:
        self._expire(position.loan_id, record)
    elif status != CANCELLED and status != EXPIRED:
        loan_math._check(False, loan_math.E_NOT_REFUNDABLE)

    self._notes[note_id] = loan_math._pack_note(position.loan_id, 0, position.claimed, position.previous)
    extcall ILoanNote(notes).burn(note_id)
    log NoteRefunded(note_id=note_id, loan_id=position.loan_id, owner=owner, amount=position.share)
    self._push(record.token, owner, position.share)


@external
@nonreentrant
def disburse(loan_id: uint256):
    """
    @notice Pays a fully funded loan out to the borrower (放款) between the end
            of its review window and its disbursement deadline: principal
            minus the origination fee. The repayment schedule starts now.
            Anyone may call it. If the borrower has been blocked or lost KYC
            since the request, the loan is cancelled instead (nothing is paid
            out; the notes refund in full).
    @param loan_id The loan id.
    """
    self._not_paused()
    record: loan_math.Loan = self._loan_of(loan_id)
    loan_math._check(record.status == FUNDED, loan_math.E_NOT_FUNDED)
    loan_math._check(block.timestamp >= record.review_ends_at, loan_math.E_IN_REVIEW)
    terms: loan_math.Terms = loan_math._unpack_terms(record.terms)
    loan_math._check(block.timestamp < record.review_ends_at + terms.disburse_seconds, loan_math.E_DISBURSEMENT_DEADLINE_PASSED)
    verified: bool = False
    blocked: bool = False
    identity_id: uint256 = 0
    verified, blocked, identity_id = staticcall IIdentityRegistry(identity).standing(record.borrower)
    if blocked or not verified:
        self._close(loan_id, record, CANCELLED)
        log LoanCancelled(loan_id=loan_id, by=msg.sender, previous_status=FUNDED)
        return

    fee: uint256 = record.principal * terms.origination_fee_bps // BPS
    level: uint256 = schedule_math._level(
        record.method, record.principal, record.apr_bps, record.installments, record.period_seconds
    )
    annuity: uint256 = 0
    if record.method == schedule_math.EQUAL_INSTALLMENT:
        annuity = level
    record.annuity = annuity
    record.start = block.timestamp
    record.status = ACTIVE
    self._loans[loan_id] = loan_math._pack_loan(record)

    state: loan_math.Ledger = empty(loan_math.Ledger)
    state.scheduled_remaining = record.principal
    state.accrued_until = block.timestamp
    state.interest_from = block.timestamp
    state.level = level
    state.cursor = loan_math._skip_settled(record, state, 1, record.principal)
    self._store_ledger(loan_id, state)
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
            penalty, then each installment already due, oldest first (its
            interest, then its principal). Money beyond what is due now is a
            prepayment (提前还款): it pays the running installment's interest
            earned to date, then reduces principal; the remaining installments
            are recomputed on the same due dates (smaller installments), so it
            never pays interest for time the principal is not outstanding.
            Only what is owed is taken; paying `amount_due.payoff` equals
            `repay_in_full`. If the token delivers less than sent (a transfer
            fee switched on), what arrived is credited. On a DEFAULTED loan
            the payment is a recovery.
    @param loan_id The loan id.
    @param amount The most to pay, in base units.
    @return The amount credited.
    """
    loan_math._check(amount > 0, loan_math.E_ZERO_AMOUNT)
    return self._repay(loan_id, amount)


@external
@nonreentrant
def repay_in_full(loan_id: uint256) -> uint256:
    """
    @notice Settles a loan now: principal outstanding, interest accrued to
            date (unpaid interest of installments due plus what the running
            installment has earned) and penalties: exactly what `repay` takes
            when offered more than is owed. On a DEFAULTED loan it pays the
            remaining debt.
    @param loan_id The loan id.
    @return The amount credited.
    """
    return self._repay(loan_id, max_value(uint256))


@external
@nonreentrant
def mark_default(loan_id: uint256):
    """
    @notice Declares a loan defaulted once an installment is more than the
            loan's default threshold past due; anyone may call it. The
            borrower's debt is frozen at principal outstanding + interest to
            date + penalties, and the risk reserve pays noteholders
            min(reserve, coverage_bps x principal outstanding). The unpaid
            principal keeps counting in the borrower identity's exposure until
            the debt is fully recovered.
    @param loan_id The loan id.
    """
    record: loan_math.Loan = self._loan_of(loan_id)
    loan_math._check(record.status == ACTIVE, loan_math.E_NOT_ACTIVE)
    terms: loan_math.Terms = loan_math._unpack_terms(record.terms)
    state: loan_math.Ledger = self._accrue(loan_id, record, terms)
    oldest_due: uint256 = record.start + state.cursor * record.period_seconds
    loan_math._check(block.timestamp > oldest_due + terms.default_after_seconds, loan_math.E_NOT_IN_DEFAULT)

    interest: uint256 = 0
    principal: uint256 = 0
    interest, principal = loan_math._payoff_parts(record, state)
    debt: uint256 = state.penalty_owed + interest + principal
    pools: uint256 = self._pools[record.token]
    cover: uint256 = min(pools & _HALF, principal * terms.coverage_bps // BPS)

    self._pools[record.token] = pools - cover
    self._store_ledger(loan_id, self._credit_notes(state, record.principal, cover))
    self._defaults[loan_id] = DefaultRecord(debt=debt, cover=cover, recovered=0, principal=principal)
    record.status = DEFAULTED
    self._loans[loan_id] = loan_math._pack_loan(record)
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
    position: loan_math.Note = loan_math._unpack_note(self._notes[note_id])
    amount: uint256 = self._claimable(position)
    loan_math._check(amount > 0, loan_math.E_NOTHING_TO_CLAIM)
    token: address = loan_math._token_of(self._loans[position.loan_id][1])
    self._notes[note_id] = loan_math._pack_note(position.loan_id, position.share, position.claimed + amount, position.previous)
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
    loan_math._check(self.token_allowed[token], loan_math.E_TOKEN_NOT_ALLOWED)
    loan_math._check(amount > 0, loan_math.E_ZERO_AMOUNT)
    self._pools[token] += amount
    log ReserveDeposited(token=token, sender=msg.sender, amount=amount)
    loan_math._check(self._pull(token, msg.sender, amount) == amount, loan_math.E_FEE_ON_TRANSFER_TOKEN)


# ---------------------------------------------------------------------------
# Admin, risk officer and pauser
# ---------------------------------------------------------------------------


@external
def set_params(terms_: loan_math.Terms):
    """
    @notice Sets the parameters for loans requested from now on; existing
            loans keep the terms they were requested with.
    @param terms_ The new parameters; each is checked against its hard limits.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self._set_params(terms_)


@external
def set_grade_limits(token: address, limits: GradeLimits[GRADES]):
    """
    @notice Sets what each credit grade may borrow in `token`: largest loan,
            most principal outstanding per borrower identity, lowest APR. Index 0 is
            grade A. A zero max_principal closes a grade. Loans already
            requested are not affected.
    @param token The token the limits apply to.
    @param limits Limits for grades A, B, C, D, E.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    for i: uint256 in range(GRADES):
        loan_math._check(limits[i].max_principal <= MAX_PRINCIPAL, loan_math.E_GRADE_CAP_OVER_MAX)
        loan_math._check(limits[i].max_exposure >= limits[i].max_principal, loan_math.E_EXPOSURE_BELOW_LOAN_CAP)
        loan_math._check(limits[i].max_exposure <= _HALF, loan_math.E_EXPOSURE_CAP_OVER_MAX)
        loan_math._check(limits[i].min_apr_bps <= MAX_APR_BPS, loan_math.E_GRADE_FLOOR_OVER_MAX_APR)
        self._grade_limits[token][i + 1] = limits[i].max_principal | (limits[i].max_exposure << 96) | (limits[i].min_apr_bps << 224)
    log GradeLimitsSet(token=token, limits=limits)


@external
def set_lender_kyc_threshold(token: address, amount: uint256):
    """
    @notice An unverified lender may fund at most `amount` of `token` in
            total per loan; beyond it a KYC-verified lender is required
            (0: every lender must be verified).
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
    loan_math._check(token != empty(address), loan_math.E_ZERO_TOKEN)
    self.token_allowed[token] = allowed
    log TokenAllowed(token=token, allowed=allowed)


@external
def set_treasury(treasury_: address):
    """
    @notice Changes where withdrawn treasury fees go.
    @param treasury_ The new treasury address.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    loan_math._check(treasury_ != empty(address), loan_math.E_ZERO_TREASURY)
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
    pools: uint256 = self._pools[token]
    amount: uint256 = pools >> 128
    loan_math._check(amount > 0, loan_math.E_NO_FEES)
    self._pools[token] = pools & _HALF
    log FeesWithdrawn(token=token, treasury=self.treasury, amount=amount)
    self._push(token, self.treasury, amount)
    return amount


@external
def pause():
    """
    @notice Stops new requests, funding and disbursement. Repay, claim,
            refund, expire and mark_default keep working, so a pause never
            holds money past a loan's disbursement deadline.
    """
    access_control._check_role(PAUSER_ROLE, msg.sender)
    counters: uint256 = self._not_paused()
    self._counters = counters | _PAUSED
    log Paused(account=msg.sender)


@external
def unpause():
    """
    @notice Lifts a pause.
    """
    access_control._check_role(PAUSER_ROLE, msg.sender)
    counters: uint256 = self._counters
    assert counters & _PAUSED != 0, "pausable: contract is not paused"
    self._counters = counters ^ _PAUSED
    log Unpaused(account=msg.sender)


# ---------------------------------------------------------------------------
# Internal: loans, gating hooks and closing
# ---------------------------------------------------------------------------


@internal
@view
def _loan_of(loan_id: uint256) -> loan_math.Loan:
    """
    @dev The loan, unpacked; every requested loan has a borrower.
    """
    record: loan_math.Loan = loan_math._unpack_loan(self._loans[loan_id])
    loan_math._check(record.borrower != empty(address), loan_math.E_NO_SUCH_LOAN)
    return record


@internal
def _repay(loan_id: uint256, amount: uint256) -> uint256:
    """
    @dev A payment of at most `amount`: a recovery on a DEFAULTED loan, else
         the waterfall (which never takes more than is owed).
    """
    record: loan_math.Loan = self._loan_of(loan_id)
    if record.status == DEFAULTED:
        return self._recover(loan_id, record, amount)
    loan_math._check(record.status == ACTIVE, loan_math.E_NOT_ACTIVE)
    terms: loan_math.Terms = loan_math._unpack_terms(record.terms)
    return self._pay(loan_id, record, terms, self._accrue(loan_id, record, terms), amount)


@internal
@view
def _not_paused() -> uint256:
    """
    @dev Reverts while paused; returns the counters word it read.
    """
    counters: uint256 = self._counters
    assert counters & _PAUSED == 0, "pausable: contract is paused"
    return counters


@internal
@view
def _load_ledger(loan_id: uint256) -> loan_math.Ledger:
    """
    @dev Words 2 and 3 only when their flags say they are nonzero: a loan
         paid on time reads two slots, not four.
    """
    words: uint256[loan_math.LEDGER_WORDS] = empty(uint256[loan_math.LEDGER_WORDS])
    words[0] = self._ledgers[loan_id][0]
    words[1] = self._ledgers[loan_id][1]
    if words[1] & loan_math.LEDGER_PARTIAL != 0:
        words[2] = self._ledgers[loan_id][2]
    if words[1] & loan_math.LEDGER_PENALTY != 0:
        words[3] = self._ledgers[loan_id][3]
    return loan_math._unpack_ledger(words)


@internal
def _store_ledger(loan_id: uint256, state: loan_math.Ledger):
    words: uint256[loan_math.LEDGER_WORDS] = loan_math._pack_ledger(state)
    before: uint256 = self._ledgers[loan_id][1]
    self._ledgers[loan_id][0] = words[0]
    self._ledgers[loan_id][1] = words[1]
    if words[2] != 0 or before & loan_math.LEDGER_PARTIAL != 0:
        self._ledgers[loan_id][2] = words[2]
    if words[3] != 0 or before & loan_math.LEDGER_PENALTY != 0:
        self._ledgers[loan_id][3] = words[3]


@internal
@view
def _status(record: loan_math.Loan) -> uint256:
    """
    @dev The stored status, or EXPIRED for an OPEN loan past its funding
         deadline and a FUNDED loan past its disbursement deadline.
    """
    if record.status == OPEN and block.timestamp >= record.funding_deadline:
        return EXPIRED
    if record.status == FUNDED:
        if block.timestamp >= record.review_ends_at + loan_math._unpack_terms(record.terms).disburse_seconds:
            return EXPIRED
    return record.status


@internal
@pure
def _limits_of(packed_limits: uint256) -> GradeLimits:
    """
    @dev A grade's limits from the one word `set_grade_limits` packs them
         into: max principal (96 bits), max exposure (128), min APR (32).
    """
    return GradeLimits(
        max_principal=packed_limits & _AMOUNT,
        max_exposure=(packed_limits >> 96) & _HALF,
        min_apr_bps=packed_limits >> 224,
    )


@internal
@view
def _check_borrower(
    borrower: address, token: address, principal: uint256, apr_bps: uint256
) -> (uint256, uint256, uint256, uint256):
    """
    @dev A borrower must be KYC-verified, not blocked, and hold an unexpired
         score whose grade allows the principal, the exposure of its identity
         and the APR.
    @return (the borrower's identity id, its grade, its score, its identity's
            exposure in `token` with this principal added).
    """
    verified: bool = False
    blocked: bool = False
    identity_id: uint256 = 0
    verified, blocked, identity_id = staticcall IIdentityRegistry(identity).standing(borrower)
    loan_math._check(verified, loan_math.E_BORROWER_NOT_VERIFIED)
    loan_math._check(not blocked, loan_math.E_BORROWER_BLOCKED)
    score: uint256 = 0
    grade: uint256 = 0
    expires_at: uint256 = 0
    score, grade, expires_at = staticcall ICreditOracle(oracle).credit_of(borrower)
    loan_math._check(expires_at != 0, loan_math.E_NOT_SCORED)
    loan_math._check(block.timestamp < expires_at, loan_math.E_SCORE_EXPIRED)
    loan_math._check(grade >= 1 and grade <= GRADES, loan_math.E_GRADE_NOT_ELIGIBLE)
    limits: GradeLimits = self._limits_of(self._grade_limits[token][grade])
    loan_math._check(principal <= limits.max_principal, loan_math.E_OVER_GRADE_CAP)
    exposure_after: uint256 = self._exposure[identity_id][token] + principal
    loan_math._check(exposure_after <= limits.max_exposure, loan_math.E_OVER_EXPOSURE_CAP)
    loan_math._check(apr_bps >= limits.min_apr_bps, loan_math.E_APR_BELOW_GRADE_FLOOR)
    return identity_id, grade, score, exposure_after


@internal
def _check_lender(loan_id: uint256, lender: address, token: address, amount: uint256):
    """
    @dev Blocked accounts cannot fund; an unverified lender may fund at most
         the token's threshold in total per loan.
    """
    verified: bool = False
    blocked: bool = False
    identity_id: uint256 = 0
    verified, blocked, identity_id = staticcall IIdentityRegistry(identity).standing(lender)
    loan_math._check(not blocked, loan_math.E_LENDER_BLOCKED)
    if verified:
        return
    total: uint256 = self.unverified_funded[loan_id][lender] + amount
    loan_math._check(total <= self.lender_kyc_threshold[token], loan_math.E_LENDER_NOT_VERIFIED)
    self.unverified_funded[loan_id][lender] = total


@internal
def _close(loan_id: uint256, record: loan_math.Loan, status: uint256):
    """
    @dev Cancels or expires an OPEN or FUNDED loan: frees its exposure; the
         notes then refund in full.
    """
    updated: loan_math.Loan = record
    updated.status = status
    self._loans[loan_id] = loan_math._pack_loan(updated)
    self._exposure[record.identity_id][record.token] -= record.principal


@internal
def _expire(loan_id: uint256, record: loan_math.Loan):
    self._close(loan_id, record, EXPIRED)
    log LoanExpired(loan_id=loan_id)


# ---------------------------------------------------------------------------
# Internal: schedule, penalty and settlement
# ---------------------------------------------------------------------------


@internal
def _accrue(loan_id: uint256, record: loan_math.Loan, terms: loan_math.Terms) -> loan_math.Ledger:
    state: loan_math.Ledger = self._load_ledger(loan_id)
    added: uint256 = loan_math._pending_penalty(record, terms, state)
    state.accrued_until = block.timestamp
    if added != 0:
        state.penalty_owed += added
        state.penalty_charged += added
        log PenaltyAccrued(loan_id=loan_id, amount=added, penalty_owed=state.penalty_owed)
    return state


@internal
@view
def _waterfall(
    record: loan_math.Loan, before: loan_math.Ledger, amount: uint256
) -> (loan_math.Ledger, uint256, uint256, uint256):
    """
    @dev Splits `amount` into penalty, interest and principal and advances the
         ledger: penalty owed first, then each installment already due (its
         interest, then its principal), then a prepayment: the running
         installment's earned interest, then principal, after which the level
         of the remaining installments is recomputed on the same due dates and
         the running installment's interest restarts now.
    @return (ledger after, penalty, interest, principal).
    """
    state: loan_math.Ledger = before
    penalty: uint256 = min(amount, state.penalty_owed)
    state.penalty_owed -= penalty
    budget: uint256 = amount - penalty
    interest: uint256 = 0
    principal: uint256 = 0

    for _: uint256 in range(361):
        if state.cursor > record.installments or budget == 0:
            break
        pay: uint256 = 0
        if record.start + state.cursor * record.period_seconds > block.timestamp:
            # Prepayment: the running installment is not due yet (and owes no principal yet).
            earned: uint256 = loan_math._earned(record, state, state.cursor, state.scheduled_remaining)
            if earned > state.interest_paid_current:
                pay = min(budget, earned - state.interest_paid_current)
            state.interest_paid_current += pay
            interest += pay
            budget -= pay
            if budget == 0:
                break
            pay = min(budget, state.scheduled_remaining)
            state.scheduled_remaining -= pay
            principal += pay
            budget -= pay
            state.interest_paid_current = 0
            state.interest_from = block.timestamp
            state.level = schedule_math._level(
                record.method,
                state.scheduled_remaining,
                record.apr_bps,
                record.installments + 1 - state.cursor,
                record.period_seconds,
            )
            if state.scheduled_remaining == 0:
                state.cursor = record.installments + 1
            else:
                state.cursor = loan_math._skip_settled(record, state, state.cursor, state.scheduled_remaining)
            break
        part: uint256 = 0
        part_interest: uint256 = 0
        part, part_interest = loan_math._installment_at(record, state, state.cursor, state.scheduled_remaining)
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
            state.interest_paid_current = 0
            state.principal_paid_current = 0
            state.cursor = loan_math._skip_settled(record, state, state.cursor + 1, state.scheduled_remaining)
    return state, penalty, interest, principal


@internal
def _pay(
    loan_id: uint256, record: loan_math.Loan, terms: loan_math.Terms, before: loan_math.Ledger, amount: uint256
) -> uint256:
    """
    @dev Runs the waterfall, pulls the payment and credits what arrived: if the
         token kept a fee, the waterfall is rerun on the amount received. Then
         takes the service fee on interest and penalty, credits the rest to
         the notes, stores the ledger and logs it.
    """
    state: loan_math.Ledger = empty(loan_math.Ledger)
    penalty: uint256 = 0
    interest: uint256 = 0
    principal: uint256 = 0
    state, penalty, interest, principal = self._waterfall(record, before, amount)
    paid: uint256 = penalty + interest + principal
    loan_math._check(paid > 0, loan_math.E_NOTHING_OWED)
    received: uint256 = self._pull(record.token, msg.sender, paid)
    if received < paid:
        state, penalty, interest, principal = self._waterfall(record, before, received)
        paid = received

    fee: uint256 = (interest + penalty) * terms.service_fee_bps // BPS
    fee_reserve: uint256 = fee * terms.reserve_share_bps // BPS
    to_notes: uint256 = paid - fee
    self._exposure[record.identity_id][record.token] -= principal
    self._take_fee(record.token, fee, terms.reserve_share_bps)
    state = self._credit_notes(state, record.principal, to_notes)
    self._store_ledger(loan_id, state)
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
        scheduled_remaining=state.scheduled_remaining,
        interest_paid_current=state.interest_paid_current,
        level=state.level,
        interest_from=state.interest_from,
    )
    if state.cursor > record.installments:
        repaid: loan_math.Loan = record
        repaid.status = REPAID
        self._loans[loan_id] = loan_math._pack_loan(repaid)
        log LoanRepaid(loan_id=loan_id)
    return paid


@internal
def _recover(loan_id: uint256, record: loan_math.Loan, amount: uint256) -> uint256:
    """
    @dev A payment on a defaulted loan: noteholders get recoveries until cover
         plus recoveries equal the debt, then the reserve gets its cover back.
         No fee is taken on recoveries; what arrives is what is credited.
    """
    debt: DefaultRecord = self._defaults[loan_id]
    take: uint256 = min(amount, debt.debt - debt.recovered)
    loan_math._check(take > 0, loan_math.E_NOTHING_OWED)
    take = self._pull(record.token, msg.sender, take)
    notes_cap: uint256 = debt.debt - debt.cover
    to_notes: uint256 = min(debt.recovered + take, notes_cap) - min(debt.recovered, notes_cap)
    to_reserve: uint256 = take - to_notes

    self._defaults[loan_id].recovered = debt.recovered + take
    if debt.recovered + take == debt.debt:
        # Unpaid defaulted principal keeps counting against the identity's cap until recovered.
        self._exposure[record.identity_id][record.token] -= debt.principal
    self._store_ledger(loan_id, self._credit_notes(self._load_ledger(loan_id), record.principal, to_notes))
    self._pools[record.token] += to_reserve
    log Recovery(loan_id=loan_id, payer=msg.sender, amount=take, to_noteholders=to_notes, to_reserve=to_reserve)
    return take


@internal
@pure
def _credit_notes(state: loan_math.Ledger, principal: uint256, amount: uint256) -> loan_math.Ledger:
    """
    @dev O(1) pro-rata credit to every note of the loan. Rounding down here
         means the notes together are never owed more than was credited.
    """
    credited: loan_math.Ledger = state
    credited.acc_per_share += amount * ACC_SCALE // principal
    credited.distributed += amount
    return credited


@internal
@view
def _claimable(position: loan_math.Note) -> uint256:
    if position.share == 0:
        return 0
    acc: uint256 = loan_math._acc_per_share_of(self._ledgers[position.loan_id][0])
    return position.share * acc // ACC_SCALE - position.claimed


@internal
def _take_fee(token: address, fee: uint256, reserve_share_bps: uint256):
    if fee == 0:
        return
    to_reserve: uint256 = fee * reserve_share_bps // BPS
    self._pools[token] += to_reserve | ((fee - to_reserve) << 128)


# ---------------------------------------------------------------------------
# Internal: parameters
# ---------------------------------------------------------------------------


@internal
def _set_params(terms_: loan_math.Terms):
    loan_math._check(terms_.origination_fee_bps <= MAX_ORIGINATION_FEE_BPS, loan_math.E_ORIGINATION_FEE_OVER_CAP)
    loan_math._check(terms_.service_fee_bps <= MAX_SERVICE_FEE_BPS, loan_math.E_SERVICE_FEE_OVER_CAP)
    loan_math._check(terms_.reserve_share_bps <= BPS, loan_math.E_RESERVE_SHARE_OVER_100)
    loan_math._check(terms_.penalty_bps_per_day <= MAX_PENALTY_BPS_PER_DAY, loan_math.E_PENALTY_OVER_CAP)
    loan_math._check(terms_.penalty_cap_bps <= MAX_PENALTY_CAP_BPS, loan_math.E_PENALTY_CAP_OVER_CAP)
    loan_math._check(terms_.coverage_bps <= BPS, loan_math.E_COVERAGE_OVER_100)
    loan_math._check(terms_.grace_seconds <= MAX_GRACE_SECONDS, loan_math.E_GRACE_TOO_LONG)
    loan_math._check(terms_.default_after_seconds >= terms_.grace_seconds, loan_math.E_DEFAULT_BEFORE_GRACE)
    loan_math._check(terms_.default_after_seconds <= MAX_DEFAULT_AFTER_SECONDS, loan_math.E_DEFAULT_TOO_LATE)
    loan_math._check(terms_.review_seconds >= MIN_REVIEW_SECONDS, loan_math.E_REVIEW_TOO_SHORT)
    loan_math._check(terms_.review_seconds <= MAX_REVIEW_SECONDS, loan_math.E_REVIEW_TOO_LONG)
    loan_math._check(terms_.disburse_seconds >= MIN_DISBURSE_SECONDS, loan_math.E_DISBURSEMENT_WINDOW_TOO_SHORT)
    loan_math._check(terms_.disburse_seconds <= MAX_DISBURSE_SECONDS, loan_math.E_DISBURSEMENT_WINDOW_TOO_LONG)
    self._params = loan_math._pack_terms(terms_)
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
        disburse_seconds=terms_.disburse_seconds,
    )


# ---------------------------------------------------------------------------
# Internal: token transfers
# ---------------------------------------------------------------------------


@internal
def _pull(token: address, sender: address, amount: uint256) -> uint256:
    """
    @dev transferFrom that tolerates tokens returning nothing. Returns what
         actually arrived (never more than `amount`): callers that must get
         the full amount (fund, reserve deposits) reject a shortfall, payments
         credit what arrived.
    """
    if amount == 0:
        return 0
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    loan_math._check(extcall IERC20(token).transferFrom(sender, self, amount, default_return_value=True), loan_math.E_TRANSFER_FAILED)
    return min(staticcall IERC20(token).balanceOf(self) - before, amount)


@internal
def _push(token: address, receiver: address, amount: uint256):
    if amount == 0:
        return
    loan_math._check(extcall IERC20(token).transfer(receiver, amount, default_return_value=True), loan_math.E_TRANSFER_FAILED)

