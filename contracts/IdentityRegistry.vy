# pragma version ~=0.4.3
"""
@title Identity Registry (实名认证 / 反洗钱)
@custom:contract-name IdentityRegistry
@license GNU Affero General Public License v3.0 only
@notice Records which wallets passed KYC and which ones the risk officer
        has barred (AML). No personal data is ever stored: a KYC attester
        submits only `identity_hash`, a salted keccak256 of the person's
        normalised identity fields, computed off-chain by the KYC provider,
        who keeps the salt. One identity may back only one wallet at a
        time, so a person cannot spread borrowing over many wallets.
@dev Roles come from snekmate's `access_control` module: the deployer
     gets `DEFAULT_ADMIN_ROLE` and nothing else; the admin grants
     `KYC_ATTESTER_ROLE` and `RISK_OFFICER_ROLE`. Revoking an attestation
     deletes its record; the events keep the full history. An expired
     attestation stays on record until renewed or revoked, but no longer
     verifies and no longer holds its identity.

     Each identity hash gets a sequential `identity_id` (1, 2, ...) the
     first time it is attested; the id never changes and follows the
     identity to whichever wallet it is attested to later, so a contract
     can key per-person state by a 32-bit id instead of a 256-bit hash.

     Storage is packed by hand so that what LoanBook reads on every call
     is one slot: per account one `standing` word holding expires_at,
     attested_at, identity_id and the blocked flag. The identity hash
     (looked up through the id) and the attester live in other slots,
     read only by `attestation` and by `attest` / `revoke`.
"""


# @dev We import and implement the `IERC165` interface,
# which is a built-in interface of the Vyper compiler.
from ethereum.ercs import IERC165
implements: IERC165


# @dev What LoanBook and the off-chain services read.
from .interfaces import IIdentityRegistry
implements: IIdentityRegistry


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


# @dev The role that may attest and revoke KYC attestations.
KYC_ATTESTER_ROLE: public(constant(bytes32)) = keccak256("KYC_ATTESTER_ROLE")


# @dev The role that may block and unblock accounts.
RISK_OFFICER_ROLE: public(constant(bytes32)) = keccak256("RISK_OFFICER_ROLE")


# @dev One KYC attestation, as `attestation` returns it. All fields are
# zero if the account was never attested or its attestation was revoked.
struct Attestation:
    identity_hash: bytes32
    expires_at: uint256
    attested_at: uint256
    attester: address


# @dev Bit layout of an account's standing word:
# expires_at | attested_at << 40 | identity_id << 80 | blocked << 112.
# identity_id 0 means no attestation (never attested, or revoked).
_TIME_BITS: constant(uint256) = 40
_ID_BITS: constant(uint256) = 32
_EXPIRES_SHIFT: constant(uint256) = 0
_ATTESTED_SHIFT: constant(uint256) = _EXPIRES_SHIFT + _TIME_BITS
_ID_SHIFT: constant(uint256) = _ATTESTED_SHIFT + _TIME_BITS
_BLOCKED_SHIFT: constant(uint256) = _ID_SHIFT + _ID_BITS
_TIME_MASK: constant(uint256) = (1 << _TIME_BITS) - 1
_ID_MASK: constant(uint256) = (1 << _ID_BITS) - 1
_BLOCKED_BIT: constant(uint256) = 1 << _BLOCKED_SHIFT


# @dev Bit layout of an identity word: bound account | identity_id << 160.
_ACCOUNT_MASK: constant(uint256) = (1 << 160) - 1
_IDENTITY_ID_SHIFT: constant(uint256) = 160


# @dev The packed standing word of each account (see the layout above).
_standing: HashMap[address, uint256]


# @dev The attester of each account's current attestation.
_attester: HashMap[address, address]


# @dev Per identity hash: the account it is bound to and its id. The
# binding is cleared on revoke or when the account moves to another
# identity (an expired binding may be taken over by another account);
# the id stays forever.
_identity: HashMap[bytes32, uint256]


# @dev The identity hash of each identity id.
_identity_hash: HashMap[uint256, bytes32]


# @dev The number of identity ids assigned (the last one assigned).
identity_count: public(uint256)


# @dev Emitted when `account` is attested or its attestation renewed.
event Attested:
    account: indexed(address)
    identity_hash: bytes32
    expires_at: uint256
    attester: address


# @dev Emitted when the attestation of `account` is revoked.
event Revoked:
    account: indexed(address)
    identity_hash: bytes32
    by: address


# @dev Emitted when the risk officer blocks or unblocks `account`.
event BlockedSet:
    account: indexed(address)
    blocked: bool
    by: address


@deploy
def __init__():
    """
    @notice Grants `DEFAULT_ADMIN_ROLE` to `msg.sender`; no other role
            is granted.
    """
    access_control.__init__()


@external
def attest(account: address, identity_hash: bytes32, expires_at: uint256):
    """
    @notice Records (or renews) the KYC attestation of `account`.
    @dev Only `KYC_ATTESTER_ROLE`. Reverts with "identity: identity in use"
         if `identity_hash` is bound to another account whose attestation
         is still valid. If `account` was attested under a different
         identity, that identity is released. The first attestation of
         `identity_hash` assigns it the next identity id.
    @param account The wallet that passed KYC.
    @param identity_hash The salted keccak256 of the normalised identity
           fields, computed off-chain; must be nonzero.
    @param expires_at The Unix time at which the attestation stops
           verifying; must be in the future and below 2**40.
    """
    access_control._check_role(KYC_ATTESTER_ROLE, msg.sender)
    assert account != empty(address), "identity: zero account"
    assert identity_hash != empty(bytes32), "identity: zero identity"
    assert expires_at > block.timestamp, "identity: expired"
    assert expires_at <= _TIME_MASK, "identity: expiry too far"

    bound: uint256 = self._identity[identity_hash]
    identity_id: uint256 = bound >> _IDENTITY_ID_SHIFT
    if identity_id == 0:
        identity_id = self.identity_count + 1
        assert identity_id <= _ID_MASK, "identity: too many identities"
        self.identity_count = identity_id
        self._identity_hash[identity_id] = identity_hash
    else:
        holder: address = convert(convert(bound & _ACCOUNT_MASK, uint160), address)
        if holder != empty(address) and holder != account:
            current: uint256 = self._standing[holder]
            assert (current >> _ID_SHIFT) & _ID_MASK != identity_id or (current >> _EXPIRES_SHIFT) & _TIME_MASK <= block.timestamp, "identity: identity in use"

    word: uint256 = self._standing[account]
    previous: uint256 = (word >> _ID_SHIFT) & _ID_MASK
    if previous != identity_id and previous != 0:
        self._release(self._identity_hash[previous], account)

    self._identity[identity_hash] = convert(account, uint256) | (identity_id << _IDENTITY_ID_SHIFT)
    self._standing[account] = (
        (word & _BLOCKED_BIT)
        | (expires_at << _EXPIRES_SHIFT)
        | (block.timestamp << _ATTESTED_SHIFT)
        | (identity_id << _ID_SHIFT)
    )
    self._attester[account] = msg.sender
    log Attested(account=account, identity_hash=identity_hash, expires_at=expires_at, attester=msg.sender)


@external
def revoke(account: address):
    """
    @notice Revokes the attestation of `account` and releases its identity.
    @dev Only `KYC_ATTESTER_ROLE`. Works on expired attestations too. The
         identity keeps its id; a block on `account` stays.
    @param account The wallet whose attestation is revoked.
    """
    access_control._check_role(KYC_ATTESTER_ROLE, msg.sender)
    word: uint256 = self._standing[account]
    identity_id: uint256 = (word >> _ID_SHIFT) & _ID_MASK
    assert identity_id != 0, "identity: not attested"

    identity_hash: bytes32 = self._identity_hash[identity_id]
    self._release(identity_hash, account)
    self._standing[account] = word & _BLOCKED_BIT
    self._attester[account] = empty(address)
    log Revoked(account=account, identity_hash=identity_hash, by=msg.sender)


@external
def set_blocked(account: address, blocked: bool):
    """
    @notice Blocks or unblocks `account` (anti-money-laundering bar).
    @dev Only `RISK_OFFICER_ROLE`. Independent of the KYC attestation.
    @param account The wallet to block or unblock; must be nonzero.
    @param blocked True to block, False to unblock.
    """
    access_control._check_role(RISK_OFFICER_ROLE, msg.sender)
    assert account != empty(address), "identity: zero account"
    word: uint256 = self._standing[account]
    if blocked:
        self._standing[account] = word | _BLOCKED_BIT
    else:
        self._standing[account] = word & ~_BLOCKED_BIT
    log BlockedSet(account=account, blocked=blocked, by=msg.sender)


@external
@view
def is_verified(account: address) -> bool:
    """
    @notice Whether `account` holds an attestation that is neither
            revoked nor expired.
    @param account The wallet to check.
    @return bool True if attested and `block.timestamp < expires_at`.
    """
    return self._verified(self._standing[account])


@external
@view
def is_blocked(account: address) -> bool:
    """
    @notice Whether the risk officer has barred `account`.
    @param account The wallet to check.
    @return bool True if blocked.
    """
    return self._standing[account] & _BLOCKED_BIT != 0


@external
@view
def standing(account: address) -> (bool, bool, uint256):
    """
    @notice Everything LoanBook checks about `account`, from one storage
            slot: whether it is verified, whether it is blocked, and the
            id of its attestation's identity.
    @param account The wallet to check.
    @return bool Verified, exactly as `is_verified`.
    @return bool Blocked, exactly as `is_blocked`.
    @return uint256 The identity id of the current attestation (also an
            expired one); 0 if never attested or revoked.
    """
    word: uint256 = self._standing[account]
    return self._verified(word), word & _BLOCKED_BIT != 0, (word >> _ID_SHIFT) & _ID_MASK


@external
@view
def attestation(account: address) -> Attestation:
    """
    @notice The current attestation record of `account`.
    @param account The wallet to look up.
    @return Attestation The identity hash, expiry, attestation time and
            attester; all zero if never attested or revoked.
    """
    word: uint256 = self._standing[account]
    identity_id: uint256 = (word >> _ID_SHIFT) & _ID_MASK
    if identity_id == 0:
        return empty(Attestation)
    return Attestation(
        identity_hash=self._identity_hash[identity_id],
        expires_at=(word >> _EXPIRES_SHIFT) & _TIME_MASK,
        attested_at=(word >> _ATTESTED_SHIFT) & _TIME_MASK,
        attester=self._attester[account],
    )


@external
@view
def account_of(identity_hash: bytes32) -> address:
    """
    @notice The account `identity_hash` is bound to.
    @dev Zero if never attested, after revoke, or when its account moved
         to another identity. After expiry it still names the lapsed
         account until another account takes the identity over.
    @param identity_hash The identity hash to look up.
    @return address The bound account, or zero.
    """
    return convert(convert(self._identity[identity_hash] & _ACCOUNT_MASK, uint160), address)


@external
@view
def identity_id_of(identity_hash: bytes32) -> uint256:
    """
    @notice The id assigned to `identity_hash` when it was first attested.
    @dev Never changes, also after revoke or when the identity moves to
         another wallet.
    @param identity_hash The identity hash to look up.
    @return uint256 The identity id (1, 2, ...), or 0 if never attested.
    """
    return self._identity[identity_hash] >> _IDENTITY_ID_SHIFT


@external
@view
def identity_hash_of(identity_id: uint256) -> bytes32:
    """
    @notice The identity hash that was assigned `identity_id`.
    @param identity_id The identity id to look up.
    @return bytes32 The identity hash, or zero if the id is unknown.
    """
    return self._identity_hash[identity_id]


@internal
@view
def _verified(word: uint256) -> bool:
    """
    @dev Whether a standing word holds an unrevoked, unexpired attestation.
    @param word The account's standing word.
    @return bool True if attested and `block.timestamp < expires_at`.
    """
    return (word >> _ID_SHIFT) & _ID_MASK != 0 and block.timestamp < (word >> _EXPIRES_SHIFT) & _TIME_MASK


@internal
def _release(identity_hash: bytes32, account: address):
    """
    @dev Unbinds `identity_hash` if it is bound to `account`, keeping its id.
    @param identity_hash The identity to release.
    @param account The account leaving it.
    """
    bound: uint256 = self._identity[identity_hash]
    if bound & _ACCOUNT_MASK == convert(account, uint256):
        self._identity[identity_hash] = bound & ~_ACCOUNT_MASK
