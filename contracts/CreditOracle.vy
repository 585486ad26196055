# pragma version ~=0.4.3
"""
@title Credit Oracle
@custom:contract-name CreditOracle
@license GNU Affero General Public License v3.0 only
@notice Holds the latest credit score of each account, pushed in batches
        by the off-chain scoring service (`ORACLE_ROLE`). Each record names
        the model that made it (`model` = hash of the model artifact) and
        expires after a time-to-live. The grade (1 = A ... 5 = E, 0 = none
        or ineligible) is computed at push time from the admin-set
        thresholds and stored with the score; a later threshold change
        does not regrade stored scores. Anyone may ask for a (re)score
        with `request_score`: one pending request per account (a new one
        replaces it), at most one per `request_cooldown`. A push that
        answers a request names its nonce, and a request is answered at
        most once: pushing it again changes nothing and emits nothing, so
        a retried or duplicated push transaction cannot score twice. No
        personal data is stored.
@dev The contract holds no funds and makes no external calls: no role,
     including `ORACLE_ROLE`, can move tokens through it. A score record
     is packed into two storage slots (model, and score | grade |
     updated_at | expires_at) to keep batch pushes cheap; `score_of`
     unpacks it into the `ICreditOracle.Score` struct, `credit_of` reads
     the packed word alone. An account's request
     state (latest nonce, answered nonce, request time) is one more slot.
"""


# @dev We import and implement the `IERC165` interface,
# which is a built-in interface of the Vyper compiler.
from ethereum.ercs import IERC165
implements: IERC165


# @dev What LoanBook reads.
from .interfaces import ICreditOracle
implements: ICreditOracle


# @dev Role-based access control from snekmate.
from snekmate.auth.interfaces import IAccessControl
implements: IAccessControl

from snekmate.auth import access_control
initializes: access_control


# @dev The role management surface. `set_role_admin` is
# deliberately not exported: every role is administered
# by `DEFAULT_ADMIN_ROLE`.
exports: (
    access_control.supportsInterface,
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
)


# @dev The role that may push scores.
ORACLE_ROLE: public(constant(bytes32)) = keccak256("ORACLE_ROLE")


# @dev The score range of the scorecard.
MIN_SCORE: public(constant(uint256)) = 300
MAX_SCORE: public(constant(uint256)) = 850


# @dev The allowed time-to-live of a pushed score.
MIN_TTL: public(constant(uint256)) = 3_600
MAX_TTL: public(constant(uint256)) = 365 * 86_400


# @dev The maximum number of scores in one `push_scores` call.
MAX_BATCH: public(constant(uint256)) = 256


# @dev The number of grades (A..E).
_GRADES: constant(uint256) = 5


# @dev Bit layout of a packed score record.
_GRADE_SHIFT: constant(uint256) = 16
_UPDATED_SHIFT: constant(uint256) = 32
_EXPIRES_SHIFT: constant(uint256) = 96
_MASK_16: constant(uint256) = 2**16 - 1
_MASK_64: constant(uint256) = 2**64 - 1


# @dev The packed record of one account.
struct _Record:
    packed: uint256
    model: bytes32


# @dev The latest score record of each account.
_records: HashMap[address, _Record]


# @dev Minimum score for grades A, B, C, D, E (strictly descending).
_thresholds: uint256[_GRADES]


# @dev The request cooldown: default, and the most the admin may set.
DEFAULT_REQUEST_COOLDOWN: public(constant(uint256)) = 3_600
MAX_REQUEST_COOLDOWN: public(constant(uint256)) = 7 * 86_400


# @dev Bit layout of an account's packed request state: the nonce of its
# latest request, the nonce of the latest request a push answered, and
# the time of its latest request (each 64 bits).
_ANSWERED_SHIFT: constant(uint256) = 64
_REQUESTED_AT_SHIFT: constant(uint256) = 128


# @dev The packed request state of each account.
_requests: HashMap[address, uint256]


# @dev Seconds an account must wait between two `request_score` calls.
request_cooldown: public(uint256)


# @dev Emitted for every score pushed.
event ScoreUpdated:
    account: indexed(address)
    score: uint256
    grade: uint256
    model: indexed(bytes32)
    expires_at: uint256


# @dev Emitted when the admin changes the grade thresholds.
event GradeThresholdsSet:
    thresholds: uint256[_GRADES]


# @dev Emitted when an account asks to be (re)scored.
event ScoreRequested:
    account: indexed(address)
    nonce: uint256


# @dev Emitted when the admin changes the request cooldown.
event RequestCooldownSet:
    seconds: uint256


@deploy
def __init__():
    """
    @notice Grants `DEFAULT_ADMIN_ROLE` to `msg.sender`, sets the default
            grade thresholds [740, 680, 620, 560, 500] and the default
            request cooldown (1 hour).
    """
    access_control.__init__()
    self._set_thresholds([740, 680, 620, 560, 500])
    self._set_request_cooldown(DEFAULT_REQUEST_COOLDOWN)


@external
def push_scores(
    accounts: DynArray[address, MAX_BATCH],
    scores: DynArray[uint256, MAX_BATCH],
    model: bytes32,
    ttl_seconds: uint256,
    request_nonces: DynArray[uint256, MAX_BATCH] = [],
):
    """
    @notice Stores a batch of scores made by `model`, each valid for
            `ttl_seconds` from now, grading each with the current
            thresholds. With `request_nonces`, entry i answers request
            `request_nonces[i]` of `accounts[i]` and is stored only if
            that is the account's pending request: an entry whose request
            was already answered, or replaced by a newer one, is skipped
            (nothing stored, no event). Without it (admin backfills,
            tests) every entry is stored.
    @dev Only `ORACLE_ROLE`. The whole batch reverts if one entry is bad.
         Skipping instead of reverting is what makes a request-bound push
         idempotent: sending the same batch twice, or two batches that
         share a request, scores each request once and never blocks the
         other entries of the batch.
    @param accounts The scored accounts (nonzero).
    @param scores The scores, each in [300, 850], same length as `accounts`.
    @param model The nonzero hash of the model artifact.
    @param ttl_seconds The validity of the scores, in [1 hour, 365 days].
    @param request_nonces Empty, or the `ScoreRequested` nonce each entry
           answers (same length as `accounts`; none above the account's
           latest request).
    """
    access_control._check_role(ORACLE_ROLE, msg.sender)
    assert len(accounts) == len(scores), "oracle: length mismatch"
    bound: bool = len(request_nonces) != 0
    assert not bound or len(request_nonces) == len(accounts), "oracle: length mismatch"
    assert model != empty(bytes32), "oracle: zero model"
    assert ttl_seconds >= MIN_TTL and ttl_seconds <= MAX_TTL, "oracle: bad ttl"

    thresholds: uint256[_GRADES] = self._thresholds
    expires_at: uint256 = block.timestamp + ttl_seconds
    times: uint256 = (block.timestamp << _UPDATED_SHIFT) | (expires_at << _EXPIRES_SHIFT)

    for i: uint256 in range(len(accounts), bound=MAX_BATCH):
        account: address = accounts[i]
        score: uint256 = scores[i]
        assert account != empty(address), "oracle: zero account"
        assert score >= MIN_SCORE and score <= MAX_SCORE, "oracle: score out of range"
        if bound:
            nonce: uint256 = request_nonces[i]
            state: uint256 = self._requests[account]
            latest: uint256 = state & _MASK_64
            assert nonce <= latest, "oracle: unknown request"
            if nonce < latest or nonce <= (state >> _ANSWERED_SHIFT) & _MASK_64:
                continue  # replaced by a newer request, or already answered
            self._requests[account] = (state & ~(_MASK_64 << _ANSWERED_SHIFT)) | (nonce << _ANSWERED_SHIFT)
        grade: uint256 = self._grade(score, thresholds)
        self._records[account] = _Record(packed=score | (grade << _GRADE_SHIFT) | times, model=model)
        log ScoreUpdated(account=account, score=score, grade=grade, model=model, expires_at=expires_at)


@external
def set_grade_thresholds(thresholds: uint256[_GRADES]):
    """
    @notice Sets the minimum score for grades A, B, C, D, E. Applies to
            scores pushed from now on; stored grades are not changed.
    @dev Only `DEFAULT_ADMIN_ROLE`.
    @param thresholds Strictly descending, each in [300, 850]; a score
           below the last one gets grade 0 (ineligible).
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self._set_thresholds(thresholds)


@external
def set_request_cooldown(seconds: uint256):
    """
    @notice Sets how long an account must wait between two
            `request_score` calls.
    @dev Only `DEFAULT_ADMIN_ROLE`.
    @param seconds The cooldown, at most 7 days (0 = none).
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    self._set_request_cooldown(seconds)


@external
def request_score():
    """
    @notice Asks the off-chain service to (re)score `msg.sender`. The new
            request replaces a pending one: only the latest request of
            an account can be answered.
    @dev Emits `ScoreRequested` with a per-account nonce (1 for the first
         request); the service answers it by passing that nonce to
         `push_scores`. Reverts within `request_cooldown` seconds of the
         caller's previous request, so one account cannot flood the
         service (each request also costs its sender gas).
    """
    state: uint256 = self._requests[msg.sender]
    if state != 0:
        requested_at: uint256 = (state >> _REQUESTED_AT_SHIFT) & _MASK_64
        assert block.timestamp >= requested_at + self.request_cooldown, "oracle: request cooldown"
    nonce: uint256 = (state & _MASK_64) + 1
    answered: uint256 = (state >> _ANSWERED_SHIFT) & _MASK_64
    self._requests[msg.sender] = nonce | (answered << _ANSWERED_SHIFT) | (block.timestamp << _REQUESTED_AT_SHIFT)
    log ScoreRequested(account=msg.sender, nonce=nonce)


@external
@view
def request_nonce(account: address) -> uint256:
    """
    @notice The number of `request_score` calls made by `account`: the
            nonce of its latest request (0 if none).
    @param account The account to look up.
    @return uint256 The latest request nonce.
    """
    return self._requests[account] & _MASK_64


@external
@view
def answered_nonce(account: address) -> uint256:
    """
    @notice The nonce of the latest request of `account` a push answered
            (0 if none).
    @param account The account to look up.
    @return uint256 The answered request nonce.
    """
    return (self._requests[account] >> _ANSWERED_SHIFT) & _MASK_64


@external
@view
def pending_request(account: address) -> uint256:
    """
    @notice The nonce of the request of `account` waiting for a score, or
            0 if its latest request was answered (or it made none).
    @param account The account to look up.
    @return uint256 The pending request nonce, or 0.
    """
    state: uint256 = self._requests[account]
    latest: uint256 = state & _MASK_64
    if latest > (state >> _ANSWERED_SHIFT) & _MASK_64:
        return latest
    return 0


@external
@view
def next_request_at(account: address) -> uint256:
    """
    @notice The earliest time `account` may call `request_score` again.
    @param account The account to look up.
    @return uint256 A unix time; 0 if it never requested.
    """
    state: uint256 = self._requests[account]
    if state == 0:
        return 0
    return ((state >> _REQUESTED_AT_SHIFT) & _MASK_64) + self.request_cooldown


@external
@view
def score_of(account: address) -> ICreditOracle.Score:
    """
    @notice The latest score pushed for `account`.
    @param account The account to look up.
    @return Score The score, grade, model, update and expiry time; all
            zero if no score was ever pushed. May be expired: see `is_fresh`.
    """
    record: _Record = self._records[account]
    return ICreditOracle.Score(
        score=record.packed & _MASK_16,
        grade=(record.packed >> _GRADE_SHIFT) & _MASK_16,
        model=record.model,
        updated_at=(record.packed >> _UPDATED_SHIFT) & _MASK_64,
        expires_at=(record.packed >> _EXPIRES_SHIFT) & _MASK_64,
    )


@external
@view
def credit_of(account: address) -> (uint256, uint256, uint256):
    """
    @notice The score, grade and expiry of the latest score pushed for
            `account`, without the model: one storage slot, for callers
            that gate on the score (LoanBook).
    @param account The account to look up.
    @return uint256 The score; 0 if no score was ever pushed.
    @return uint256 The grade (1 = A ... 5 = E, 0 = none or ineligible).
    @return uint256 The expiry time; the score may be expired.
    """
    packed: uint256 = self._records[account].packed
    return packed & _MASK_16, (packed >> _GRADE_SHIFT) & _MASK_16, (packed >> _EXPIRES_SHIFT) & _MASK_64


@external
@view
def is_fresh(account: address) -> bool:
    """
    @notice Whether `account` has a score that has not expired.
    @param account The account to check.
    @return bool True if a score exists and `block.timestamp < expires_at`.
    """
    packed: uint256 = self._records[account].packed
    return packed & _MASK_16 != 0 and block.timestamp < (packed >> _EXPIRES_SHIFT) & _MASK_64


@external
@view
def grade_for(score: uint256) -> uint256:
    """
    @notice The grade a score would get under the current thresholds.
    @param score The score.
    @return uint256 1 = A ... 5 = E, or 0 if below the E threshold.
    """
    return self._grade(score, self._thresholds)


@external
@view
def grade_thresholds() -> uint256[_GRADES]:
    """
    @notice The current minimum scores for grades A, B, C, D, E.
    @return uint256[5] The thresholds, strictly descending.
    """
    return self._thresholds


@internal
@pure
def _grade(score: uint256, thresholds: uint256[_GRADES]) -> uint256:
    """
    @dev Returns the first grade whose threshold `score` reaches, or 0.
    @param score The score.
    @param thresholds The minimum scores for A..E.
    @return uint256 The grade 1..5, or 0.
    """
    for i: uint256 in range(_GRADES):
        if score >= thresholds[i]:
            return i + 1
    return 0


@internal
def _set_thresholds(thresholds: uint256[_GRADES]):
    """
    @dev Validates and stores the grade thresholds.
    @param thresholds Strictly descending, each in [300, 850].
    """
    assert thresholds[0] <= MAX_SCORE and thresholds[_GRADES - 1] >= MIN_SCORE, "oracle: bad thresholds"
    for i: uint256 in range(_GRADES - 1):
        assert thresholds[i] > thresholds[i + 1], "oracle: bad thresholds"
    self._thresholds = thresholds
    log GradeThresholdsSet(thresholds=thresholds)


@internal
def _set_request_cooldown(seconds: uint256):
    """
    @dev Validates and stores the request cooldown.
    @param seconds At most `MAX_REQUEST_COOLDOWN`.
    """
    assert seconds <= MAX_REQUEST_COOLDOWN, "oracle: bad cooldown"
    self.request_cooldown = seconds
    log RequestCooldownSet(seconds=seconds)
