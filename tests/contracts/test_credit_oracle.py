"""CreditOracle: roles, batch score pushes, grading, requests (cooldown, one pending per account,
answered at most once), freshness, the one-slot `credit_of` view, gas, no token power."""

from __future__ import annotations

import os

import boa
import pytest
from eth.exceptions import Revert
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.helpers import storage_reads

MISSING_ROLE = "access_control: account is missing role"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_HASH = b"\x00" * 32
HOUR = 3_600
DAY = 86_400
MAX_TTL = 365 * DAY
DEFAULT_THRESHOLDS = [740, 680, 620, 560, 500]

ORACLE_ROLE = keccak(text="ORACLE_ROLE")
DEFAULT_ADMIN_ROLE = ZERO_HASH
MODEL_V1 = keccak(b"model-artifact-v1")
MODEL_V2 = keccak(b"model-artifact-v2")

FUZZ_EXAMPLES = int(os.environ.get("PEERLEND_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="session")
def oracle_deployer():
    return boa.load_partial("contracts/CreditOracle.vy")


@pytest.fixture(scope="session")
def pusher():
    return boa.env.generate_address("oracle_service")


@pytest.fixture
def oracle(oracle_deployer, deployer, pusher):
    with boa.env.prank(deployer):
        contract = oracle_deployer.deploy()
        contract.grantRole(ORACLE_ROLE, pusher)
    return contract


def now() -> int:
    return boa.env.evm.patch.timestamp


def set_time(timestamp: int) -> None:
    boa.env.evm.patch.timestamp = timestamp


def push(oracle, pusher, accounts, scores, model=MODEL_V1, ttl=30 * DAY, nonces=None):
    with boa.env.prank(pusher):
        if nonces is None:
            oracle.push_scores(accounts, scores, model, ttl)
        else:
            oracle.push_scores(accounts, scores, model, ttl, nonces)


def request(oracle, account) -> int:
    """`account` calls request_score() once its cooldown is over; returns the new nonce (from
    the ScoreRequested event, checked against request_nonce)."""
    set_time(max(now(), oracle.next_request_at(account)))
    with boa.env.prank(account):
        oracle.request_score()
    (event,) = oracle.get_logs()
    assert type(event).__name__ == "ScoreRequested" and event.account == account
    assert oracle.request_nonce(account) == event.nonce
    return event.nonce


def score_events(oracle) -> list:
    return [e for e in oracle.get_logs() if type(e).__name__ == "ScoreUpdated"]


def reference_grade(score: int, thresholds: list[int]) -> int:
    for index, minimum in enumerate(thresholds):
        if score >= minimum:
            return index + 1
    return 0


def quality_rank(grade: int) -> int:
    """1 = A (best) ... 5 = E, and 0 (ineligible) is worst of all."""
    return 6 if grade == 0 else grade


def fresh_accounts(prefix: str, n: int) -> list[str]:
    return [boa.env.generate_address(f"{prefix}{i}") for i in range(n)]


# --------------------------------------------------------------------------- roles


def test_role_constants_and_constructor(oracle_deployer, deployer, pusher):
    with boa.env.prank(deployer):
        fresh = oracle_deployer.deploy()
    events = {type(e).__name__: e for e in fresh.get_logs()}
    assert set(events) == {"RoleGranted", "GradeThresholdsSet", "RequestCooldownSet"}
    assert events["RoleGranted"].account == deployer
    assert list(events["GradeThresholdsSet"].thresholds) == DEFAULT_THRESHOLDS
    assert events["RequestCooldownSet"].seconds == HOUR == fresh.request_cooldown()
    assert (fresh.DEFAULT_REQUEST_COOLDOWN(), fresh.MAX_REQUEST_COOLDOWN()) == (HOUR, 7 * DAY)
    assert fresh.ORACLE_ROLE() == ORACLE_ROLE
    assert fresh.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert fresh.getRoleAdmin(ORACLE_ROLE) == DEFAULT_ADMIN_ROLE
    assert fresh.hasRole(DEFAULT_ADMIN_ROLE, deployer)
    assert not fresh.hasRole(ORACLE_ROLE, deployer)
    assert not fresh.hasRole(ORACLE_ROLE, pusher)
    assert fresh.grade_thresholds() == DEFAULT_THRESHOLDS
    assert (fresh.MIN_SCORE(), fresh.MAX_SCORE()) == (300, 850)
    assert (fresh.MIN_TTL(), fresh.MAX_TTL(), fresh.MAX_BATCH()) == (HOUR, MAX_TTL, 256)


def test_supports_interface(oracle):
    assert oracle.supportsInterface(bytes.fromhex("01ffc9a7"))
    assert oracle.supportsInterface(bytes.fromhex("7965db0b"))
    assert not oracle.supportsInterface(bytes.fromhex("ffffffff"))


def test_admin_grants_revokes_and_holder_renounces(oracle, deployer, pusher, alice):
    with boa.env.prank(deployer):
        oracle.grantRole(ORACLE_ROLE, alice)
    assert oracle.hasRole(ORACLE_ROLE, alice)
    push(oracle, alice, [alice], [700])
    with boa.env.prank(deployer):
        oracle.revokeRole(ORACLE_ROLE, alice)
    with boa.env.prank(alice), boa.reverts(MISSING_ROLE):
        oracle.push_scores([alice], [700], MODEL_V1, DAY)
    with boa.env.prank(alice), boa.reverts("access_control: can only renounce roles for itself"):
        oracle.renounceRole(ORACLE_ROLE, pusher)
    with boa.env.prank(pusher):
        oracle.renounceRole(ORACLE_ROLE, pusher)
    assert not oracle.hasRole(ORACLE_ROLE, pusher)


def test_oracle_role_cannot_grant_roles(oracle, pusher, alice):
    with boa.env.prank(pusher), boa.reverts(MISSING_ROLE):
        oracle.grantRole(ORACLE_ROLE, alice)
    with boa.env.prank(pusher), boa.reverts(MISSING_ROLE):
        oracle.grantRole(DEFAULT_ADMIN_ROLE, pusher)
    assert not oracle.hasRole(ORACLE_ROLE, alice)
    assert not oracle.hasRole(DEFAULT_ADMIN_ROLE, pusher)


# --------------------------------------------------------------------------- push_scores


def test_push_stores_and_emits(oracle, pusher, alice, bob):
    start = now()
    push(oracle, pusher, [alice, bob], [745, 499], model=MODEL_V1, ttl=7 * DAY)

    logs = oracle.get_logs()
    assert [type(e).__name__ for e in logs] == ["ScoreUpdated", "ScoreUpdated"]
    assert (logs[0].account, logs[0].score, logs[0].grade) == (alice, 745, 1)
    assert (logs[1].account, logs[1].score, logs[1].grade) == (bob, 499, 0)
    for event in logs:
        assert event.model == MODEL_V1
        assert event.expires_at == start + 7 * DAY

    record = oracle.score_of(alice)
    assert tuple(record) == (745, 1, MODEL_V1, start, start + 7 * DAY)
    assert record.score == 745 and record.grade == 1 and record.model == MODEL_V1
    assert tuple(oracle.score_of(bob)) == (499, 0, MODEL_V1, start, start + 7 * DAY)
    assert oracle.is_fresh(alice) and oracle.is_fresh(bob)


def test_unknown_account_has_empty_score(oracle, alice):
    assert tuple(oracle.score_of(alice)) == (0, 0, ZERO_HASH, 0, 0)
    assert oracle.credit_of(alice) == (0, 0, 0)
    assert not oracle.is_fresh(alice)


def test_push_overwrites_previous_score(oracle, pusher, alice):
    push(oracle, pusher, [alice], [800], model=MODEL_V1, ttl=DAY)
    set_time(now() + HOUR)
    push(oracle, pusher, [alice], [600], model=MODEL_V2, ttl=2 * DAY)
    assert tuple(oracle.score_of(alice)) == (600, 4, MODEL_V2, now(), now() + 2 * DAY)


def test_push_empty_batch_is_a_no_op(oracle, pusher, alice):
    push(oracle, pusher, [], [])
    assert oracle.get_logs() == []
    assert oracle.score_of(alice).score == 0


def test_non_oracle_cannot_push(oracle, deployer, alice):
    for caller in (deployer, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            oracle.push_scores([alice], [700], MODEL_V1, DAY)
    assert oracle.score_of(alice).score == 0


def test_push_length_mismatch(oracle, pusher, alice, bob):
    with boa.env.prank(pusher), boa.reverts("oracle: length mismatch"):
        oracle.push_scores([alice, bob], [700], MODEL_V1, DAY)
    with boa.env.prank(pusher), boa.reverts("oracle: length mismatch"):
        oracle.push_scores([alice], [700, 701], MODEL_V1, DAY)


@pytest.mark.parametrize("score", [0, 299, 851, 2**256 - 1])
def test_push_score_out_of_range(oracle, pusher, alice, score):
    with boa.env.prank(pusher), boa.reverts("oracle: score out of range"):
        oracle.push_scores([alice], [score], MODEL_V1, DAY)


@pytest.mark.parametrize("score", [300, 850])
def test_push_score_range_bounds_accepted(oracle, pusher, alice, score):
    push(oracle, pusher, [alice], [score])
    assert oracle.score_of(alice).score == score


def test_push_bad_entry_reverts_whole_batch(oracle, pusher, alice, bob):
    with boa.env.prank(pusher), boa.reverts("oracle: score out of range"):
        oracle.push_scores([alice, bob], [700, 900], MODEL_V1, DAY)
    assert oracle.score_of(alice).score == 0


def test_push_zero_model(oracle, pusher, alice):
    with boa.env.prank(pusher), boa.reverts("oracle: zero model"):
        oracle.push_scores([alice], [700], ZERO_HASH, DAY)


def test_push_zero_account(oracle, pusher, alice):
    with boa.env.prank(pusher), boa.reverts("oracle: zero account"):
        oracle.push_scores([alice, ZERO_ADDRESS], [700, 700], MODEL_V1, DAY)


@pytest.mark.parametrize("ttl", [0, HOUR - 1, MAX_TTL + 1, 2**256 - 1])
def test_push_bad_ttl(oracle, pusher, alice, ttl):
    with boa.env.prank(pusher), boa.reverts("oracle: bad ttl"):
        oracle.push_scores([alice], [700], MODEL_V1, ttl)


@pytest.mark.parametrize("ttl", [HOUR, MAX_TTL])
def test_push_ttl_bounds_accepted(oracle, pusher, alice, ttl):
    push(oracle, pusher, [alice], [700], ttl=ttl)
    assert oracle.score_of(alice).expires_at == now() + ttl


def test_batch_of_200_in_one_tx(oracle, pusher):
    accounts = fresh_accounts("batch", 200)
    scores = [300 + (i * 37) % 551 for i in range(200)]
    push(oracle, pusher, accounts, scores, ttl=90 * DAY)
    assert len(oracle.get_logs()) == 200
    for account, score in zip(accounts, scores, strict=True):
        record = oracle.score_of(account)
        assert record.score == score
        assert record.grade == reference_grade(score, DEFAULT_THRESHOLDS)
        assert record.model == MODEL_V1
        assert record.expires_at == now() + 90 * DAY


PUSH_SELECTOR = function_signature_to_4byte_selector("push_scores(address[],uint256[],bytes32,uint256)")
ANSWER_SELECTOR = function_signature_to_4byte_selector(
    "push_scores(address[],uint256[],bytes32,uint256,uint256[])"
)


def push_calldata(accounts, scores, model=MODEL_V1, ttl=DAY, nonces=None) -> bytes:
    types, args = ["address[]", "uint256[]", "bytes32", "uint256"], [accounts, scores, model, ttl]
    if nonces is None:
        return PUSH_SELECTOR + encode(types, args)
    return ANSWER_SELECTOR + encode([*types, "uint256[]"], [*args, nonces])


def test_batch_bound_is_256(oracle, pusher):
    """The contract itself refuses 257 entries (ABI bound check) and takes 256."""
    accounts = fresh_accounts("over", 257)
    with pytest.raises(Revert):
        boa.env.raw_call(oracle.address, sender=pusher, data=push_calldata(accounts, [700] * 257))
    assert oracle.score_of(accounts[0]).score == 0
    boa.env.raw_call(oracle.address, sender=pusher, data=push_calldata(accounts[:256], [700] * 256))
    assert oracle.score_of(accounts[255]).score == 700
    assert oracle.score_of(accounts[256]).score == 0


# --------------------------------------------------------------------------- freshness


def test_is_fresh_boundary(oracle, pusher, alice):
    push(oracle, pusher, [alice], [700], ttl=HOUR)
    expires_at = oracle.score_of(alice).expires_at
    set_time(expires_at - 1)
    assert oracle.is_fresh(alice)
    set_time(expires_at)
    assert not oracle.is_fresh(alice)
    # Expired scores are still readable: LoanBook must check freshness itself.
    assert oracle.score_of(alice).score == 700


# --------------------------------------------------------------------------- grading


@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (0, 0),
        (299, 0),
        (499, 0),
        (500, 5),
        (559, 5),
        (560, 4),
        (619, 4),
        (620, 3),
        (679, 3),
        (680, 2),
        (739, 2),
        (740, 1),
        (850, 1),
        (10_000, 1),
    ],
)
def test_grade_for_default_thresholds(oracle, score, grade):
    assert oracle.grade_for(score) == grade


def test_set_grade_thresholds(oracle, deployer, pusher, alice, bob):
    push(oracle, pusher, [alice], [650])
    assert oracle.score_of(alice).grade == 3

    new = [800, 700, 600, 500, 400]
    with boa.env.prank(deployer):
        oracle.set_grade_thresholds(new)
    event = oracle.get_logs()[0]
    assert type(event).__name__ == "GradeThresholdsSet"
    assert list(event.thresholds) == new
    assert oracle.grade_thresholds() == new
    assert oracle.grade_for(650) == 3 and oracle.grade_for(450) == 5 and oracle.grade_for(399) == 0

    # Stored grades are frozen at push time; new pushes use the new thresholds.
    assert oracle.score_of(alice).grade == 3
    push(oracle, pusher, [bob], [750])
    assert oracle.score_of(bob).grade == 2


def test_widest_thresholds_accepted(oracle, deployer):
    with boa.env.prank(deployer):
        oracle.set_grade_thresholds([850, 849, 848, 847, 300])
    assert oracle.grade_thresholds() == [850, 849, 848, 847, 300]
    assert oracle.grade_for(300) == 5


@pytest.mark.parametrize(
    "thresholds",
    [
        [740, 740, 620, 560, 500],  # not strictly descending
        [500, 560, 620, 680, 740],  # ascending
        [740, 680, 620, 560, 560],
        [851, 680, 620, 560, 500],  # above range
        [740, 680, 620, 560, 299],  # below range
        [0, 0, 0, 0, 0],
    ],
)
def test_bad_thresholds(oracle, deployer, thresholds):
    with boa.env.prank(deployer), boa.reverts("oracle: bad thresholds"):
        oracle.set_grade_thresholds(thresholds)
    assert oracle.grade_thresholds() == DEFAULT_THRESHOLDS


def test_non_admin_cannot_set_thresholds(oracle, pusher, alice):
    for caller in (pusher, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            oracle.set_grade_thresholds([800, 700, 600, 500, 400])
    assert oracle.grade_thresholds() == DEFAULT_THRESHOLDS


THRESHOLDS = st.sets(st.integers(300, 850), min_size=5, max_size=5).map(
    lambda values: sorted(values, reverse=True)
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    thresholds=st.one_of(st.just(DEFAULT_THRESHOLDS), THRESHOLDS),
    scores=st.lists(st.integers(0, 1_200), min_size=2, max_size=12),
)
def test_property_grade_for_monotone(oracle, deployer, thresholds, scores):
    """A higher score never gets a worse grade (A=1 best ... E=5, then 0 = ineligible)."""
    with boa.env.anchor():
        with boa.env.prank(deployer):
            oracle.set_grade_thresholds(thresholds)
        ordered = sorted(scores)
        grades = [oracle.grade_for(s) for s in ordered]
        assert grades == [reference_grade(s, thresholds) for s in ordered]
        ranks = [quality_rank(g) for g in grades]
        assert all(a >= b for a, b in zip(ranks, ranks[1:], strict=False))


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    score=st.integers(300, 850),
    ttl=st.integers(HOUR, MAX_TTL),
    start=st.integers(1_700_000_000, 2**40),
    model=st.binary(min_size=32, max_size=32).filter(lambda b: b != ZERO_HASH),
)
def test_property_score_record_round_trips(oracle, pusher, alice, score, ttl, start, model):
    """The packed storage record reads back exactly what was pushed."""
    with boa.env.anchor():
        set_time(start)
        push(oracle, pusher, [alice], [score], model=model, ttl=ttl)
        expected = (score, reference_grade(score, DEFAULT_THRESHOLDS), model, start, start + ttl)
        assert tuple(oracle.score_of(alice)) == expected
        assert oracle.credit_of(alice) == (score, expected[1], start + ttl)
        set_time(start + ttl - 1)
        assert oracle.is_fresh(alice)
        set_time(start + ttl)
        assert not oracle.is_fresh(alice)


# --------------------------------------------------------------------------- credit_of


def credit_fields(oracle, account) -> tuple[int, int, int]:
    record = oracle.score_of(account)
    return (record.score, record.grade, record.expires_at)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["push", "push", "thresholds", "wait"]),
            st.integers(0, 2),  # account index
            st.integers(300, 850),  # score, or the top threshold
            st.integers(HOUR, MAX_TTL),  # ttl, or seconds to wait
        ),
        min_size=1,
        max_size=15,
    )
)
def test_property_credit_of_is_score_of_without_the_model(oracle, deployer, pusher, steps):
    """Over pushes, overwrites, threshold changes and time: credit_of = score_of's (score, grade,
    expires_at) for every account, scored or not, fresh or expired."""
    accounts = fresh_accounts("credit", 3)
    with boa.env.anchor():
        for action, who, value, seconds in steps:
            if action == "push":
                push(oracle, pusher, [accounts[who]], [value], model=keccak(bytes([who])), ttl=seconds)
            elif action == "thresholds":
                top = max(value, 700)
                with boa.env.prank(deployer):
                    oracle.set_grade_thresholds([top - 40 * k for k in range(5)])
            else:
                set_time(now() + seconds)
            for account in accounts:
                assert oracle.credit_of(account) == credit_fields(oracle, account)


def test_credit_of_reads_one_storage_slot(oracle, pusher, alice, bob):
    push(oracle, pusher, [alice], [700])
    for account in (alice, bob):  # scored; never scored
        with storage_reads(oracle) as slots:
            oracle.credit_of(account)
        assert len(set(slots)) == 1
        with storage_reads(oracle) as slots:
            oracle.score_of(account)
        assert len(set(slots)) == 2  # the packed word and the model


# --------------------------------------------------------------------------- requests


def test_request_score_nonce_per_account(oracle, alice, bob):
    assert oracle.request_nonce(alice) == 0
    for expected in (1, 2, 3):
        assert request(oracle, alice) == expected
        assert oracle.pending_request(alice) == expected  # the newest replaces the pending one
    assert request(oracle, bob) == 1
    assert oracle.request_nonce(alice) == 3
    assert oracle.answered_nonce(alice) == oracle.answered_nonce(bob) == 0


def test_request_cooldown(oracle, alice, bob):
    assert oracle.next_request_at(alice) == 0
    start = now()
    with boa.env.prank(alice):
        oracle.request_score()
    assert oracle.next_request_at(alice) == start + HOUR
    set_time(start + HOUR - 1)
    with boa.env.prank(alice), boa.reverts("oracle: request cooldown"):
        oracle.request_score()
    with boa.env.prank(bob):  # the cooldown is per account
        oracle.request_score()
    set_time(start + HOUR)
    with boa.env.prank(alice):
        oracle.request_score()
    assert oracle.request_nonce(alice) == 2
    assert oracle.next_request_at(alice) == start + 2 * HOUR


def test_answering_does_not_reset_the_cooldown(oracle, pusher, alice):
    """The cooldown counts from the request, not from the answer: a quick push does not let an
    account ask again sooner, and a slow one does not make it wait longer."""
    start = now()
    nonce = request(oracle, alice)
    set_time(start + 10)
    push(oracle, pusher, [alice], [700], nonces=[nonce])
    assert oracle.next_request_at(alice) == start + HOUR
    with boa.env.prank(alice), boa.reverts("oracle: request cooldown"):
        oracle.request_score()


def test_set_request_cooldown(oracle, deployer, pusher, alice):
    for caller in (pusher, alice):
        with boa.env.prank(caller), boa.reverts(MISSING_ROLE):
            oracle.set_request_cooldown(0)
    with boa.env.prank(deployer), boa.reverts("oracle: bad cooldown"):
        oracle.set_request_cooldown(7 * DAY + 1)
    with boa.env.prank(deployer):
        oracle.set_request_cooldown(7 * DAY)
    assert oracle.get_logs()[0].seconds == 7 * DAY and oracle.request_cooldown() == 7 * DAY
    with boa.env.prank(deployer):
        oracle.set_request_cooldown(0)
    for expected in (1, 2):  # no cooldown: back-to-back requests in one block
        with boa.env.prank(alice):
            oracle.request_score()
        assert oracle.request_nonce(alice) == expected


def test_push_answers_the_pending_request_once(oracle, pusher, alice, bob):
    a, b = request(oracle, alice), request(oracle, bob)
    push(oracle, pusher, [alice, bob], [745, 650], nonces=[a, b])
    assert [(e.account, e.score) for e in score_events(oracle)] == [(alice, 745), (bob, 650)]
    assert oracle.answered_nonce(alice) == a and oracle.pending_request(alice) == 0
    stored = tuple(oracle.score_of(alice))

    # The same batch again (a re-broadcast, a second pusher, a retry after a lost receipt):
    # nothing is stored and nothing is emitted, even with other scores or another model.
    set_time(now() + 60)
    push(oracle, pusher, [alice, bob], [700, 700], model=MODEL_V2, nonces=[a, b])
    assert oracle.get_logs() == []
    assert tuple(oracle.score_of(alice)) == stored
    assert oracle.score_of(bob).score == 650


def test_replaced_request_is_skipped_and_the_new_one_answered(oracle, pusher, alice, bob):
    old = request(oracle, alice)
    new = request(oracle, alice)
    b = request(oracle, bob)
    # a push for the replaced request (signed before the new one was seen) does nothing for
    # alice and still scores bob
    push(oracle, pusher, [alice, bob], [800, 650], nonces=[old, b])
    assert [e.account for e in score_events(oracle)] == [bob]
    assert oracle.score_of(alice).score == 0 and oracle.pending_request(alice) == new
    push(oracle, pusher, [alice], [780], nonces=[new])
    assert [e.score for e in score_events(oracle)] == [780]
    assert oracle.pending_request(alice) == 0


def test_one_entry_per_request_within_a_batch(oracle, pusher, alice):
    nonce = request(oracle, alice)
    push(oracle, pusher, [alice, alice], [700, 800], nonces=[nonce, nonce])
    assert [e.score for e in score_events(oracle)] == [700]
    assert oracle.score_of(alice).score == 700


def test_push_for_an_unknown_request_reverts(oracle, pusher, alice, bob):
    nonce = request(oracle, alice)
    for nonces in ([nonce + 1, 0], [nonce, 1]):  # above the latest request of alice / of bob
        with boa.env.prank(pusher), boa.reverts("oracle: unknown request"):
            oracle.push_scores([alice, bob], [700, 700], MODEL_V1, DAY, nonces)
    assert oracle.score_of(alice).score == 0 and oracle.pending_request(alice) == nonce
    # nonce 0 names no request: skipped, like an answered one
    push(oracle, pusher, [bob], [700], nonces=[0])
    assert oracle.get_logs() == []


def test_request_bound_push_checks_lengths(oracle, pusher, alice, bob):
    nonce = request(oracle, alice)
    with boa.env.prank(pusher), boa.reverts("oracle: length mismatch"):
        oracle.push_scores([alice, bob], [700, 700], MODEL_V1, DAY, [nonce])
    with boa.env.prank(pusher), boa.reverts("oracle: length mismatch"):
        oracle.push_scores([alice], [700], MODEL_V1, DAY, [nonce, nonce])


def test_push_without_nonces_leaves_requests_pending(oracle, pusher, alice):
    """An admin backfill (no request nonces) stores every score and answers no request."""
    nonce = request(oracle, alice)
    push(oracle, pusher, [alice], [700])
    push(oracle, pusher, [alice], [710])
    assert [e.score for e in score_events(oracle)] == [710]
    assert oracle.pending_request(alice) == nonce and oracle.answered_nonce(alice) == 0
    push(oracle, pusher, [alice], [720], nonces=[nonce])
    assert oracle.score_of(alice).score == 720 and oracle.pending_request(alice) == 0


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["request", "push"]), st.integers(0, 2), st.integers(0, 3)),
        min_size=1,
        max_size=25,
    )
)
def test_property_each_request_is_scored_at_most_once(oracle, pusher, steps):
    """Any interleaving of requests and (possibly stale or repeated) pushes: a push stores a
    score exactly when it names the account's pending request, so every request nonce gets at
    most one ScoreUpdated, and never one after it was replaced."""
    accounts = fresh_accounts("prop", 3)
    with boa.env.anchor():
        latest, answered, scored = [0, 0, 0], [0, 0, 0], []
        for action, who, back in steps:
            account = accounts[who]
            if action == "request":
                latest[who] = request(oracle, account)
                continue
            nonce = max(latest[who] - back, 0)  # the latest request, or an older one
            push(oracle, pusher, [account], [600 + nonce], nonces=[nonce])
            emitted = [(e.account, e.score - 600) for e in score_events(oracle)]
            expected = nonce == latest[who] and nonce > answered[who]
            assert emitted == ([(account, nonce)] if expected else [])
            if expected:
                answered[who] = nonce
                scored.append((who, nonce))
            assert oracle.answered_nonce(account) == answered[who]
            assert oracle.pending_request(account) == (latest[who] if latest[who] > answered[who] else 0)
        assert len(scored) == len(set(scored))


# --------------------------------------------------------------------------- gas


def intrinsic_gas(calldata: bytes) -> int:
    return 21_000 + sum(16 if b else 4 for b in calldata)


def start_transaction() -> None:
    """Make the next call priced like a new transaction: cold accounts and slots, and
    storage "original values" (EIP-2200/3529) equal to the current ones."""
    boa.env.evm.vm.state.lock_changes()


def test_push_scores_gas_per_score(oracle_deployer):
    """Gas of push_scores for new accounts at batch sizes 1, 10, 100, 200, and a refresh of 200.

    Measured in a separate boa Env so the journal can be locked before each call
    (every batch is priced like its own transaction) without disturbing the
    per-test anchor of the shared env.
    """
    rows = {}
    with boa.swap_env(boa.Env()):
        admin = boa.env.generate_address("gas_admin")
        service = boa.env.generate_address("gas_service")
        with boa.env.prank(admin):
            oracle = oracle_deployer.deploy()
            oracle.grantRole(ORACLE_ROLE, service)
        for n in (1, 10, 100, 200):
            accounts = fresh_accounts(f"gas{n}_", n)
            scores = [300 + (i * 53) % 551 for i in range(n)]
            calldata = push_calldata(accounts, scores, ttl=30 * DAY)
            start_transaction()
            push(oracle, service, accounts, scores)
            execution = oracle._computation.get_gas_used()
            rows[n] = (execution, execution + intrinsic_gas(calldata))
            assert len(oracle.get_logs()) == n
            assert oracle.score_of(accounts[-1]).score == scores[-1]
        # Refreshing the same 200 accounts rewrites nonzero slots: much cheaper.
        rescored = [850 - s + 300 for s in scores]
        start_transaction()
        push(oracle, service, accounts, rescored, model=MODEL_V2)
        execution = oracle._computation.get_gas_used()
        refresh = (
            execution,
            execution + intrinsic_gas(push_calldata(accounts, rescored, MODEL_V2, 30 * DAY)),
        )
        assert oracle.score_of(accounts[0]).model == MODEL_V2
        # The service's pushes answer requests: 200 new accounts that each asked once.
        askers = fresh_accounts("gas_ask_", 200)
        for account in askers:
            with boa.env.prank(account):
                oracle.request_score()
        asked = [300 + (i * 53) % 551 for i in range(200)]
        start_transaction()
        push(oracle, service, askers, asked, nonces=[1] * 200)
        execution = oracle._computation.get_gas_used()
        calldata = push_calldata(askers, asked, ttl=30 * DAY, nonces=[1] * 200)
        answered = (execution, execution + intrinsic_gas(calldata))
        assert len(oracle.get_logs()) == 200 and oracle.pending_request(askers[-1]) == 0
        # and the same batch again: skipped entry by entry, nothing stored
        start_transaction()
        push(oracle, service, askers, asked, nonces=[1] * 200)
        repeat = oracle._computation.get_gas_used()
        assert oracle.get_logs() == []

    print("\npush_scores gas (execution = EVM gas, tx = + 21_000 + calldata)")
    print(f"{'batch':>14} {'execution':>11} {'exec/score':>11} {'tx total':>11} {'tx/score':>10}")
    for label, n, (execution, total) in [(f"{n} new", n, row) for n, row in rows.items()] + [
        ("200 refreshed", 200, refresh),
        ("200 answered", 200, answered),
    ]:
        print(f"{label:>14} {execution:>11,} {execution // n:>11,} {total:>11,} {total // n:>10,}")

    print(f"{'200 repeated':>14} {repeat:>11,} {repeat // 200:>11,}   (request-bound batch pushed again)")

    assert rows[200][0] / 200 < rows[1][0] / 1
    assert repeat < rows[200][0] / 5  # a duplicate push only reads: cheap, and stores nothing
    assert rows[200][1] / 200 < rows[1][1] / 1
    assert rows[200][1] < 30_000_000  # fits comfortably in a mainnet-sized block


# --------------------------------------------------------------------------- no token power


STATE_CHANGING = {
    "grantRole",
    "revokeRole",
    "renounceRole",
    "push_scores",
    "set_grade_thresholds",
    "set_request_cooldown",
    "request_score",
}
ERC20_MOVES = {
    function_signature_to_4byte_selector(sig)
    for sig in (
        "transfer(address,uint256)",
        "transferFrom(address,address,uint256)",
        "approve(address,uint256)",
    )
}
MOVING_OPCODES = {"CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "SELFDESTRUCT", "CREATE", "CREATE2"}


def test_abi_has_no_token_surface(oracle):
    functions = [item for item in oracle.abi if item["type"] == "function"]
    mutating = {f["name"] for f in functions if f["stateMutability"] not in ("view", "pure")}
    assert mutating == STATE_CHANGING
    # push_scores with and without request nonces: two ABI entries, two selectors
    assert len([f for f in functions if f["name"] == "push_scores"]) == 2
    assert not any(f["stateMutability"] == "payable" for f in functions)
    selectors = {
        function_signature_to_4byte_selector(f"{f['name']}({','.join(i['type'] for i in f['inputs'])})")
        for f in functions
    }
    assert not selectors & ERC20_MOVES
    input_names = {i["name"].lower() for f in functions for i in f["inputs"]}
    assert not input_names & {"token", "to", "recipient", "amount", "value", "target", "data"}


def test_bytecode_makes_no_external_calls(oracle_deployer):
    instructions = {str(x) for x in oracle_deployer.compiler_data.assembly_runtime if isinstance(x, str)}
    assert "SSTORE" in instructions  # sanity: we are looking at real code
    assert not instructions & MOVING_OPCODES


def test_oracle_role_cannot_move_tokens(oracle, stablecoin, deployer, pusher, alice):
    with boa.env.prank(deployer):
        stablecoin.mint(deployer, 5_000_000)
        stablecoin.transfer(oracle.address, 1_000_000)
    held = stablecoin.balanceOf(oracle.address)
    assert held == 1_000_000

    calls = [
        (pusher, lambda: oracle.push_scores([alice, pusher], [700, 800], MODEL_V1, DAY)),
        (pusher, lambda: oracle.request_score()),
        (pusher, lambda: oracle.push_scores([pusher], [700], MODEL_V1, DAY, [1])),
        (deployer, lambda: oracle.set_request_cooldown(0)),
        (deployer, lambda: oracle.set_grade_thresholds([800, 700, 600, 500, 400])),
        (deployer, lambda: oracle.grantRole(ORACLE_ROLE, alice)),
        (deployer, lambda: oracle.revokeRole(ORACLE_ROLE, alice)),
        (pusher, lambda: oracle.renounceRole(ORACLE_ROLE, pusher)),
        (deployer, lambda: oracle.renounceRole(DEFAULT_ADMIN_ROLE, deployer)),
    ]
    exercised = set()
    for caller, call in calls:
        with boa.env.prank(caller):
            call()
        exercised.add(oracle._computation.msg.data_as_bytes[:4])
        assert oracle._computation.children == []  # no call went out
        assert stablecoin.balanceOf(oracle.address) == held
    # Every state-changing function of the ABI (each selector) was exercised above.
    assert len(exercised) == len(STATE_CHANGING) + 1
    assert stablecoin.balanceOf(oracle.address) == held


def test_oracle_rejects_ether(oracle, alice):
    boa.env.set_balance(alice, 10**18)
    with pytest.raises(Revert):
        boa.env.raw_call(oracle.address, sender=alice, value=1)
    assert boa.env.get_balance(oracle.address) == 0
