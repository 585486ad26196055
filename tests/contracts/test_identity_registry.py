"""IdentityRegistry (实名认证 / 反洗钱): roles, attestations, identity uniqueness, blocklist, identity
ids, and the one-slot `standing` view LoanBook reads."""

from __future__ import annotations

import os

import boa
import pytest
from eth.exceptions import Revert
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.helpers import storage_reads

MISSING_ROLE = "access_control: account is missing role"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_HASH = b"\x00" * 32
DAY = 86_400

KYC_ATTESTER_ROLE = keccak(text="KYC_ATTESTER_ROLE")
RISK_OFFICER_ROLE = keccak(text="RISK_OFFICER_ROLE")
DEFAULT_ADMIN_ROLE = ZERO_HASH

FUZZ_EXAMPLES = int(os.environ.get("PEERLEND_FUZZ_EXAMPLES", "25"))


def identity(label: str) -> bytes:
    """A stand-in for the KYC provider's salted hash of normalised ID fields."""
    return keccak(b"test-salt|" + label.encode())


ID_1 = identity("ID-1")
ID_2 = identity("ID-2")


@pytest.fixture(scope="session")
def registry_deployer():
    return boa.load_partial("contracts/IdentityRegistry.vy")


@pytest.fixture(scope="session")
def attester():
    return boa.env.generate_address("kyc_attester")


@pytest.fixture(scope="session")
def risk_officer():
    return boa.env.generate_address("risk_officer")


@pytest.fixture(scope="session")
def carol():
    return boa.env.generate_address("carol")


@pytest.fixture
def registry(registry_deployer, deployer, attester, risk_officer):
    with boa.env.prank(deployer):
        contract = registry_deployer.deploy()
        contract.grantRole(KYC_ATTESTER_ROLE, attester)
        contract.grantRole(RISK_OFFICER_ROLE, risk_officer)
    return contract


def now() -> int:
    return boa.env.evm.patch.timestamp


def set_time(timestamp: int) -> None:
    boa.env.evm.patch.timestamp = timestamp


def attest(registry, attester, account, identity_hash, expires_at):
    with boa.env.prank(attester):
        registry.attest(account, identity_hash, expires_at)


# --------------------------------------------------------------------------- roles


def test_role_constants(registry):
    assert registry.KYC_ATTESTER_ROLE() == KYC_ATTESTER_ROLE
    assert registry.RISK_OFFICER_ROLE() == RISK_OFFICER_ROLE
    assert registry.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert registry.getRoleAdmin(KYC_ATTESTER_ROLE) == DEFAULT_ADMIN_ROLE
    assert registry.getRoleAdmin(RISK_OFFICER_ROLE) == DEFAULT_ADMIN_ROLE


def test_constructor_grants_only_admin(registry_deployer, deployer):
    with boa.env.prank(deployer):
        fresh = registry_deployer.deploy()
    assert fresh.hasRole(DEFAULT_ADMIN_ROLE, deployer)
    assert not fresh.hasRole(KYC_ATTESTER_ROLE, deployer)
    assert not fresh.hasRole(RISK_OFFICER_ROLE, deployer)


def test_supports_interface(registry):
    assert registry.supportsInterface(bytes.fromhex("01ffc9a7"))  # ERC-165
    assert registry.supportsInterface(bytes.fromhex("7965db0b"))  # IAccessControl
    assert not registry.supportsInterface(bytes.fromhex("ffffffff"))


def test_admin_grants_and_revokes_roles(registry, deployer, alice):
    with boa.env.prank(deployer):
        registry.grantRole(KYC_ATTESTER_ROLE, alice)
    assert registry.hasRole(KYC_ATTESTER_ROLE, alice)
    with boa.env.prank(deployer):
        registry.revokeRole(KYC_ATTESTER_ROLE, alice)
    assert not registry.hasRole(KYC_ATTESTER_ROLE, alice)


def test_non_admin_cannot_grant_or_revoke(registry, attester, risk_officer, alice):
    for caller in (attester, risk_officer, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            registry.grantRole(KYC_ATTESTER_ROLE, alice)
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            registry.revokeRole(KYC_ATTESTER_ROLE, attester)
    assert not registry.hasRole(KYC_ATTESTER_ROLE, alice)
    assert registry.hasRole(KYC_ATTESTER_ROLE, attester)


def test_renounce_role(registry, attester, alice, bob):
    with boa.env.prank(alice), boa.reverts("access_control: can only renounce roles for itself"):
        registry.renounceRole(KYC_ATTESTER_ROLE, attester)
    with boa.env.prank(attester):
        registry.renounceRole(KYC_ATTESTER_ROLE, attester)
    assert not registry.hasRole(KYC_ATTESTER_ROLE, attester)
    with boa.env.prank(attester), boa.reverts(MISSING_ROLE):
        registry.attest(alice, ID_1, now() + DAY)


def test_role_admin_cannot_be_reassigned(registry):
    """`set_role_admin` is not exported: DEFAULT_ADMIN_ROLE administers every role."""
    names = {item["name"] for item in registry.abi if item["type"] == "function"}
    assert "set_role_admin" not in names
    assert {"grantRole", "revokeRole", "renounceRole", "hasRole", "getRoleAdmin"} <= names


# --------------------------------------------------------------------------- attest


def test_attest_records_and_emits(registry, attester, alice):
    expires_at = now() + 365 * DAY
    attest(registry, attester, alice, ID_1, expires_at)

    logs = registry.get_logs()
    assert len(logs) == 1
    event = logs[0]
    assert type(event).__name__ == "Attested"
    assert event.account == alice
    assert event.identity_hash == ID_1
    assert event.expires_at == expires_at
    assert event.attester == attester

    record = registry.attestation(alice)
    assert record.identity_hash == ID_1
    assert record.expires_at == expires_at
    assert record.attested_at == now()
    assert record.attester == attester
    assert registry.is_verified(alice)
    assert registry.account_of(ID_1) == alice


def test_unknown_account_views(registry, carol):
    assert not registry.is_verified(carol)
    assert not registry.is_blocked(carol)
    record = registry.attestation(carol)
    assert tuple(record) == (ZERO_HASH, 0, 0, ZERO_ADDRESS)
    assert registry.account_of(ID_1) == ZERO_ADDRESS


def test_non_attester_cannot_attest(registry, deployer, risk_officer, alice):
    for caller in (deployer, risk_officer, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            registry.attest(alice, ID_1, now() + DAY)
    assert not registry.is_verified(alice)
    assert registry.account_of(ID_1) == ZERO_ADDRESS


def test_attest_rejects_zero_account(registry, attester):
    with boa.env.prank(attester), boa.reverts("identity: zero account"):
        registry.attest(ZERO_ADDRESS, ID_1, now() + DAY)


def test_attest_rejects_zero_identity(registry, attester, alice):
    with boa.env.prank(attester), boa.reverts("identity: zero identity"):
        registry.attest(alice, ZERO_HASH, now() + DAY)


@pytest.mark.parametrize("offset", [0, -1, -DAY])
def test_attest_rejects_expiry_not_in_future(registry, attester, alice, offset):
    with boa.env.prank(attester), boa.reverts("identity: expired"):
        registry.attest(alice, ID_1, now() + offset)
    assert not registry.is_verified(alice)


def test_attest_accepts_expiry_one_second_ahead(registry, attester, alice):
    attest(registry, attester, alice, ID_1, now() + 1)
    assert registry.is_verified(alice)


def test_verified_boundary_at_expiry(registry, attester, alice):
    start = now()
    expires_at = start + 30 * DAY
    attest(registry, attester, alice, ID_1, expires_at)
    set_time(expires_at - 1)
    assert registry.is_verified(alice)
    set_time(expires_at)
    assert not registry.is_verified(alice)
    set_time(expires_at + 1)
    assert not registry.is_verified(alice)
    # The record stays (history); it just no longer verifies.
    assert registry.attestation(alice).identity_hash == ID_1


def test_renewal_same_identity(registry, attester, alice):
    first_expiry = now() + DAY
    attest(registry, attester, alice, ID_1, first_expiry)
    set_time(first_expiry + 10)  # already lapsed: renewal also restores it
    assert not registry.is_verified(alice)
    second_expiry = now() + 365 * DAY
    attest(registry, attester, alice, ID_1, second_expiry)
    record = registry.attestation(alice)
    assert record.expires_at == second_expiry
    assert record.attested_at == first_expiry + 10
    assert registry.is_verified(alice)
    assert registry.account_of(ID_1) == alice


def test_reattest_with_new_identity_releases_old(registry, attester, alice, bob):
    attest(registry, attester, alice, ID_1, now() + DAY)
    attest(registry, attester, alice, ID_2, now() + DAY)
    assert registry.attestation(alice).identity_hash == ID_2
    assert registry.account_of(ID_2) == alice
    assert registry.account_of(ID_1) == ZERO_ADDRESS
    # The released identity can now back another wallet.
    attest(registry, attester, bob, ID_1, now() + DAY)
    assert registry.account_of(ID_1) == bob
    assert registry.is_verified(alice) and registry.is_verified(bob)


# --------------------------------------------------------------------------- uniqueness


def test_second_account_same_identity_refused(registry, attester, alice, bob):
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(attester), boa.reverts("identity: identity in use"):
        registry.attest(bob, ID_1, now() + DAY)
    assert not registry.is_verified(bob)
    assert registry.account_of(ID_1) == alice


def test_identity_reusable_after_revoke(registry, attester, alice, bob):
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(attester):
        registry.revoke(alice)
    attest(registry, attester, bob, ID_1, now() + DAY)
    assert registry.account_of(ID_1) == bob
    assert registry.is_verified(bob)
    assert not registry.is_verified(alice)


def test_identity_reusable_after_expiry(registry, attester, alice, bob):
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    set_time(expires_at - 1)
    with boa.env.prank(attester), boa.reverts("identity: identity in use"):
        registry.attest(bob, ID_1, expires_at + DAY)
    set_time(expires_at)
    attest(registry, attester, bob, ID_1, expires_at + DAY)
    assert registry.account_of(ID_1) == bob
    assert registry.is_verified(bob)
    # The lapsed wallet cannot take the identity back while bob holds it.
    with boa.env.prank(attester), boa.reverts("identity: identity in use"):
        registry.attest(alice, ID_1, expires_at + DAY)


def test_moving_lapsed_wallet_keeps_new_holder_binding(registry, attester, alice, bob):
    """alice lapses, bob takes ID_1, alice is re-attested as ID_2: ID_1 stays bob's."""
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    set_time(expires_at)
    attest(registry, attester, bob, ID_1, expires_at + DAY)
    attest(registry, attester, alice, ID_2, expires_at + DAY)
    assert registry.account_of(ID_1) == bob
    assert registry.account_of(ID_2) == alice
    # Revoking the lapsed-then-moved wallet does not touch bob either.
    with boa.env.prank(attester):
        registry.revoke(alice)
    assert registry.account_of(ID_1) == bob
    assert registry.account_of(ID_2) == ZERO_ADDRESS
    assert registry.is_verified(bob)


def test_revoking_old_holder_after_takeover_keeps_new_binding(registry, attester, alice, bob):
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    set_time(expires_at)
    attest(registry, attester, bob, ID_1, expires_at + DAY)
    with boa.env.prank(attester):
        registry.revoke(alice)
    assert registry.account_of(ID_1) == bob
    assert registry.is_verified(bob)


# --------------------------------------------------------------------------- revoke


def test_revoke_clears_and_emits(registry, attester, alice):
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(attester):
        registry.revoke(alice)
    logs = registry.get_logs()
    assert len(logs) == 1
    event = logs[0]
    assert type(event).__name__ == "Revoked"
    assert event.account == alice
    assert event.identity_hash == ID_1
    assert event.by == attester
    assert not registry.is_verified(alice)
    assert tuple(registry.attestation(alice)) == (ZERO_HASH, 0, 0, ZERO_ADDRESS)
    assert registry.account_of(ID_1) == ZERO_ADDRESS


def test_revoke_not_attested(registry, attester, alice):
    with boa.env.prank(attester), boa.reverts("identity: not attested"):
        registry.revoke(alice)
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(attester):
        registry.revoke(alice)
    with boa.env.prank(attester), boa.reverts("identity: not attested"):
        registry.revoke(alice)


def test_revoke_expired_attestation(registry, attester, alice):
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    set_time(expires_at + DAY)
    with boa.env.prank(attester):
        registry.revoke(alice)
    assert registry.attestation(alice).identity_hash == ZERO_HASH


def test_non_attester_cannot_revoke(registry, deployer, attester, risk_officer, alice):
    attest(registry, attester, alice, ID_1, now() + DAY)
    for caller in (deployer, risk_officer, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            registry.revoke(alice)
    assert registry.is_verified(alice)


# --------------------------------------------------------------------------- blocklist


def test_risk_officer_blocks_and_unblocks(registry, risk_officer, alice):
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, True)
    event = registry.get_logs()[0]
    assert type(event).__name__ == "BlockedSet"
    assert (event.account, event.blocked, event.by) == (alice, True, risk_officer)
    assert registry.is_blocked(alice)

    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, False)
    event = registry.get_logs()[0]
    assert (event.account, event.blocked, event.by) == (alice, False, risk_officer)
    assert not registry.is_blocked(alice)


def test_non_risk_officer_cannot_block(registry, deployer, attester, alice, bob):
    for caller in (deployer, attester, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            registry.set_blocked(bob, True)
    assert not registry.is_blocked(bob)


def test_block_rejects_zero_account(registry, risk_officer):
    with boa.env.prank(risk_officer), boa.reverts("identity: zero account"):
        registry.set_blocked(ZERO_ADDRESS, True)


def test_blocking_is_independent_of_kyc(registry, attester, risk_officer, alice):
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, True)
    assert registry.is_verified(alice) and registry.is_blocked(alice)
    with boa.env.prank(attester):
        registry.revoke(alice)
    assert registry.is_blocked(alice)  # revoking KYC does not lift an AML block


def test_registry_rejects_ether(registry, alice):
    boa.env.set_balance(alice, 10**18)
    with pytest.raises(Revert):
        boa.env.raw_call(registry.address, sender=alice, value=1)
    assert boa.env.get_balance(registry.address) == 0


# --------------------------------------------------------------------------- expiry range


def test_attest_rejects_expiry_beyond_40_bits(registry, attester, alice):
    """The standing word keeps expires_at in 40 bits (year 36812): larger values would wrap."""
    with boa.env.prank(attester), boa.reverts("identity: expiry too far"):
        registry.attest(alice, ID_1, 2**40)
    attest(registry, attester, alice, ID_1, 2**40 - 1)
    assert registry.attestation(alice).expires_at == 2**40 - 1
    assert registry.is_verified(alice)


# --------------------------------------------------------------------------- identity ids


def test_identity_ids_are_sequential_from_one(registry, attester, alice, bob, carol):
    assert registry.identity_count() == 0
    assert registry.identity_id_of(ID_1) == 0
    attest(registry, attester, alice, ID_1, now() + DAY)
    attest(registry, attester, bob, ID_2, now() + DAY)
    id_3 = identity("ID-3")
    attest(registry, attester, carol, id_3, now() + DAY)
    assert [registry.identity_id_of(h) for h in (ID_1, ID_2, id_3)] == [1, 2, 3]
    assert [registry.identity_hash_of(i) for i in (1, 2, 3)] == [ID_1, ID_2, id_3]
    assert registry.identity_count() == 3
    assert registry.identity_hash_of(0) == ZERO_HASH
    assert registry.identity_hash_of(4) == ZERO_HASH
    assert registry.identity_id_of(identity("never attested")) == 0


def test_identity_id_survives_renewal_revoke_and_new_wallets(registry, attester, alice, bob, carol):
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    attest(registry, attester, alice, ID_1, expires_at + DAY)  # renewal
    assert registry.identity_id_of(ID_1) == 1
    with boa.env.prank(attester):
        registry.revoke(alice)
    assert registry.identity_id_of(ID_1) == 1 and registry.identity_hash_of(1) == ID_1
    attest(registry, attester, bob, ID_1, now() + DAY)  # after revoke: a new wallet
    set_time(now() + DAY)  # bob's KYC lapses, the person comes back with carol's wallet
    attest(registry, attester, carol, ID_1, now() + DAY)
    assert registry.identity_count() == 1
    assert registry.standing(bob)[2] == registry.standing(carol)[2] == 1
    assert registry.account_of(ID_1) == carol


def test_refused_attest_assigns_no_id(registry, attester, alice, bob):
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(attester), boa.reverts("identity: identity in use"):
        registry.attest(bob, ID_1, now() + DAY)
    with boa.env.prank(attester), boa.reverts("identity: expired"):
        registry.attest(bob, ID_2, now())
    assert registry.identity_count() == 1
    assert registry.identity_id_of(ID_2) == 0


def test_moving_a_wallet_changes_its_id_not_the_identities(registry, attester, alice, bob):
    attest(registry, attester, alice, ID_1, now() + DAY)
    attest(registry, attester, alice, ID_2, now() + DAY)
    assert registry.standing(alice) == (True, False, 2)
    assert (registry.identity_id_of(ID_1), registry.identity_id_of(ID_2)) == (1, 2)
    attest(registry, attester, bob, ID_1, now() + DAY)  # the released identity, on another wallet
    assert registry.standing(bob) == (True, False, 1)
    assert registry.identity_count() == 2


# --------------------------------------------------------------------------- standing


def expected_standing(registry, account) -> tuple[bool, bool, int]:
    """`standing` as the older views define it."""
    identity_hash = registry.attestation(account).identity_hash
    identity_id = registry.identity_id_of(identity_hash) if identity_hash != ZERO_HASH else 0
    return (registry.is_verified(account), registry.is_blocked(account), identity_id)


def check_standing(registry, account, expected):
    assert registry.standing(account) == expected == expected_standing(registry, account)


def test_standing_in_every_state(registry, attester, risk_officer, alice, bob, carol):
    check_standing(registry, alice, (False, False, 0))  # never attested
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    check_standing(registry, alice, (True, False, 1))  # attested
    set_time(expires_at - 1)
    check_standing(registry, alice, (True, False, 1))
    set_time(expires_at)
    check_standing(registry, alice, (False, False, 1))  # expired: still on record
    attest(registry, attester, bob, ID_1, now() + DAY)  # the identity moves to another wallet
    check_standing(registry, bob, (True, False, 1))
    check_standing(registry, alice, (False, False, 1))
    attest(registry, attester, alice, ID_2, now() + DAY)  # the old wallet moves to another identity
    check_standing(registry, alice, (True, False, 2))
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, True)
        registry.set_blocked(carol, True)
    check_standing(registry, alice, (True, True, 2))  # blocked
    check_standing(registry, carol, (False, True, 0))  # blocked, never attested
    with boa.env.prank(attester):
        registry.revoke(alice)
    check_standing(registry, alice, (False, True, 0))  # revoked: the block stays
    attest(registry, attester, alice, ID_2, now() + DAY)
    check_standing(registry, alice, (True, True, 2))  # re-attested: the block still stays
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, False)
    check_standing(registry, alice, (True, False, 2))  # unblocked
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, False)  # unblocking twice changes nothing
    check_standing(registry, alice, (True, False, 2))
    record = registry.attestation(alice)
    assert (record.identity_hash, record.attester) == (ID_2, attester)


def test_block_leaves_the_attestation_untouched(registry, attester, risk_officer, alice):
    expires_at = now() + DAY
    attest(registry, attester, alice, ID_1, expires_at)
    before = tuple(registry.attestation(alice))
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, True)
    assert tuple(registry.attestation(alice)) == before
    assert registry.account_of(ID_1) == alice


def test_standing_reads_one_storage_slot(registry, attester, risk_officer, alice, bob):
    """LoanBook's per-call registry cost: one (cold) slot for standing, is_verified, is_blocked."""
    attest(registry, attester, alice, ID_1, now() + DAY)
    with boa.env.prank(risk_officer):
        registry.set_blocked(alice, True)
    for account in (alice, bob):  # attested and blocked; never attested
        for view in (registry.standing, registry.is_verified, registry.is_blocked):
            with storage_reads(registry) as slots:
                view(account)
            assert len(set(slots)) == 1, (view, slots)
    with storage_reads(registry) as slots:
        registry.standing(alice)
        registry.is_verified(alice)
        registry.is_blocked(alice)
    assert len(set(slots)) == 1  # the same slot: after standing, the others read it warm
    with storage_reads(registry) as slots:
        registry.attestation(alice)
    assert len(set(slots)) == 3  # standing word, identity hash, attester


# --------------------------------------------------------------------------- property


OPS = st.lists(
    st.tuples(
        st.sampled_from(["attest", "revoke", "wait"]),
        st.integers(0, 3),  # account index
        st.integers(0, 2),  # identity index
        st.integers(1, 3 * DAY),  # ttl for attest / seconds for wait
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
def test_property_one_verified_wallet_per_identity(registry, attester, ops):
    """Against a Python model: outcomes match and no identity ever verifies two wallets."""
    accounts = [boa.env.generate_address(f"prop{i}") for i in range(4)]
    identities = [identity(f"prop-id-{i}") for i in range(3)]
    with boa.env.anchor():
        model: dict[str, tuple[bytes, int]] = {}  # account -> (identity, expires_at)
        for op, a, i, n in ops:
            account, ident = accounts[a], identities[i]
            if op == "wait":
                set_time(now() + n)
            elif op == "attest":
                in_use = any(
                    other != account and h == ident and now() < exp for other, (h, exp) in model.items()
                )
                if in_use:
                    with boa.env.prank(attester), boa.reverts("identity: identity in use"):
                        registry.attest(account, ident, now() + n)
                else:
                    attest(registry, attester, account, ident, now() + n)
                    model[account] = (ident, now() + n)
            else:
                if account in model:
                    with boa.env.prank(attester):
                        registry.revoke(account)
                    del model[account]
                else:
                    with boa.env.prank(attester), boa.reverts("identity: not attested"):
                        registry.revoke(account)

            verified_ids = []
            for acct in accounts:
                expected = acct in model and now() < model[acct][1]
                assert registry.is_verified(acct) == expected
                if expected:
                    verified_ids.append(model[acct][0])
                    assert registry.account_of(model[acct][0]) == acct
            assert len(verified_ids) == len(set(verified_ids))


BLOCK_OPS = st.lists(
    st.tuples(
        st.sampled_from(["attest", "attest", "revoke", "block", "unblock", "wait"]),
        st.integers(0, 3),  # account index
        st.integers(0, 2),  # identity index
        st.integers(1, 3 * DAY),  # ttl for attest / seconds for wait
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=BLOCK_OPS)
def test_property_standing_matches_the_views_and_the_model(registry, attester, risk_officer, ops):
    """Random attest / revoke / block / time-travel sequences: after every step `standing` equals
    the older views and a Python model, and identity ids are assigned once, in first-attest order."""
    accounts = [boa.env.generate_address(f"stand{i}") for i in range(4)]
    identities = [identity(f"stand-id-{i}") for i in range(3)]
    with boa.env.anchor():
        records: dict[str, tuple[bytes, int, int]] = {}  # account -> (identity, expires_at, attested_at)
        blocked: set[str] = set()
        ids: dict[bytes, int] = {}
        for op, a, i, n in ops:
            account, ident = accounts[a], identities[i]
            if op == "wait":
                set_time(now() + n)
            elif op == "attest":
                in_use = any(
                    other != account and h == ident and now() < exp for other, (h, exp, _) in records.items()
                )
                if in_use:
                    with boa.env.prank(attester), boa.reverts("identity: identity in use"):
                        registry.attest(account, ident, now() + n)
                else:
                    attest(registry, attester, account, ident, now() + n)
                    records[account] = (ident, now() + n, now())
                    ids.setdefault(ident, len(ids) + 1)
            elif op == "revoke":
                if account in records:
                    with boa.env.prank(attester):
                        registry.revoke(account)
                    del records[account]
                else:
                    with boa.env.prank(attester), boa.reverts("identity: not attested"):
                        registry.revoke(account)
            else:
                with boa.env.prank(risk_officer):
                    registry.set_blocked(account, op == "block")
                (blocked.add if op == "block" else blocked.discard)(account)

            assert registry.identity_count() == len(ids)
            for ident, identity_id in ids.items():
                assert registry.identity_id_of(ident) == identity_id
                assert registry.identity_hash_of(identity_id) == ident
            for acct in accounts:
                record = records.get(acct)
                expected = (
                    record is not None and now() < record[1],
                    acct in blocked,
                    ids[record[0]] if record else 0,
                )
                assert registry.standing(acct) == expected == expected_standing(registry, acct)
                attestation = registry.attestation(acct)
                if record:
                    assert tuple(attestation) == (record[0], record[1], record[2], attester)
                else:
                    assert tuple(attestation) == (ZERO_HASH, 0, 0, ZERO_ADDRESS)
