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


# @dev One KYC attestation. All fields are zero if the
# account was never attested or its attestation was revoked.
struct Attestation:
    identity_hash: bytes32
    expires_at: uint256
    attested_at: uint256
    attester: address


# @dev The current attestation of each account.
_attestation: HashMap[address, Attestation]


# @dev The account an identity hash is bound to. Cleared on
# revoke or when the account moves to another identity; an
# expired binding may be taken over by another account.
account_of: public(HashMap[bytes32, address])


# @dev Accounts barred by the risk officer.
_blocked: HashMap[address, bool]


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
         identity, that identity is released.
    @param account The wallet that passed KYC.
    @param identity_hash The salted keccak256 of the normalised identity
           fields, computed off-chain; must be nonzero.
    @param expires_at The Unix time at which the attestation stops
           verifying; must be in the future.
    """
    access_control._check_role(KYC_ATTESTER_ROLE, msg.sender)
    assert account != empty(address), "identity: zero account"
    assert identity_hash != empty(bytes32), "identity: zero identity"
    assert expires_at > block.timestamp, "identity: expired"

    holder: address = self.account_of[identity_hash]
    if holder != empty(address) and holder != account:
        current: Attestation = self._attestation[holder]
        assert current.identity_hash != identity_hash or current.expires_at <= block.timestamp, "identity: identity in use"

    previous: bytes32 = self._attestation[account].identity_hash
    if previous != identity_hash and previous != empty(bytes32):
        if self.account_of[previous] == account:
            self.account_of[previous] = empty(address)

    self.account_of[identity_hash] = account
    self._attestation[account] = Attestation(
        identity_hash=identity_hash,
        expires_at=expires_at,
        attested_at=block.timestamp,
        attester=msg.sender,
    )
    log Attested(account=account, identity_hash=identity_hash, expires_at=expires_at, attester=msg.sender)


@external
def revoke(account: address):
    """
    @notice Revokes the attestation of `account` and releases its identity.
    @dev Only `KYC_ATTESTER_ROLE`. Works on expired attestations too.
    @param account The wallet whose attestation is revoked.
    """
    access_control._check_role(KYC_ATTESTER_ROLE, msg.sender)
    identity_hash: bytes32 = self._attestation[account].identity_hash
    assert identity_hash != empty(bytes32), "identity: not attested"

    if self.account_of[identity_hash] == account:
        self.account_of[identity_hash] = empty(address)
    self._attestation[account] = empty(Attestation)
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
    self._blocked[account] = blocked
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
    record: Attestation = self._attestation[account]
    return record.identity_hash != empty(bytes32) and block.timestamp < record.expires_at


@external
@view
def is_blocked(account: address) -> bool:
    """
    @notice Whether the risk officer has barred `account`.
    @param account The wallet to check.
    @return bool True if blocked.
    """
    return self._blocked[account]


@external
@view
def attestation(account: address) -> Attestation:
    """
    @notice The current attestation record of `account`.
    @param account The wallet to look up.
    @return Attestation The identity hash, expiry, attestation time and
            attester; all zero if never attested or revoked.
    """
    return self._attestation[account]
