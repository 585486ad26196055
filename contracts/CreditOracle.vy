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
        with `request_score`. No personal data is stored.
@dev The contract holds no funds and makes no external calls: no role,
     including `ORACLE_ROLE`, can move tokens through it. A score record
     is packed into two storage slots (model, and score | grade |
     updated_at | expires_at) to keep batch pushes cheap; `score_of`
     unpacks it into the `ICreditOracle.Score` struct.
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


# @dev The number of `request_score` calls made by each account;
# the nonce of the latest request.
request_nonce: public(HashMap[address, uint256])


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


@deploy
def __init__():
    """
    @notice Grants `DEFAULT_ADMIN_ROLE` to `msg.sender` and sets the
            default grade thresholds [740, 680, 620, 560, 500].
    """
    access_control.__init__()
    self._set_thresholds([740, 680, 620, 560, 500])


@external
def push_scores(
    accounts: DynArray[address, MAX_BATCH],
    scores: DynArray[uint256, MAX_BATCH],
    model: bytes32,
    ttl_seconds: uint256,
):
    """
    @notice Stores a batch of scores made by `model`, each valid for
            `ttl_seconds` from now, grading each with the current
            thresholds.
    @dev Only `ORACLE_ROLE`. The whole batch reverts if one entry is bad.
    @param accounts The scored accounts (nonzero).
    @param scores The scores, each in [300, 850], same length as `accounts`.
    @param model The nonzero hash of the model artifact.
    @param ttl_seconds The validity of the scores, in [1 hour, 365 days].
    """
    access_control._check_role(ORACLE_ROLE, msg.sender)
    assert len(accounts) == len(scores), "oracle: length mismatch"
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
def request_score():
    """
    @notice Asks the off-chain service to (re)score `msg.sender`.
    @dev Emits `ScoreRequested` with a per-account nonce (1 for the first
         request) so the service can de-duplicate.
    """
    nonce: uint256 = self.request_nonce[msg.sender] + 1
    self.request_nonce[msg.sender] = nonce
    log ScoreRequested(account=msg.sender, nonce=nonce)


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
