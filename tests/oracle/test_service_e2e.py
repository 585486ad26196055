"""The oracle service against real contracts on anvil, in-process: signed application →
request_score on-chain → the worker pushes → the score is readable on-chain with the model id.
Also batching, requests that wait for an application, the LoanBook history, and the CLI."""

from __future__ import annotations

import json
import logging
import time

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import select
from web3 import Web3

from oracle.service import commands, faults, store, watcher
from oracle.service import runtime as runtime_module
from oracle.service.api import create_app
from oracle.service.history import BorrowerHistory, read_histories
from oracle.service.runtime import Runtime
from oracle.service.standing import REASON_DELINQUENT, WITHHELD_SCORE
from oracle.service.store import Application, Push, ScoreRequest
from oracle.service.worker import Worker
from peerlend.deploy import load_params
from peerlend.devchain import Anvil
from peerlend.loanmath import first_cursor
from peerlend.vocabulary import DAY, GRADES, Method
from tests.oracle.helpers import (
    ORACLE_INDEX,
    ape_on,
    deploy,
    dev_account,
    fields_for,
    model_path,
    oracle_contract,
    request_score,
    score_updates,
    scorer_for,
    settings_for,
    signed_payload,
)
from tests.oracle.lagging_node import LaggingReceipts

pytestmark = pytest.mark.anvil
ORACLE_KEY = dev_account(ORACLE_INDEX).key.hex()
THRESHOLDS = load_params("local")["grade_thresholds"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    directory = tmp_path_factory.mktemp("e2e")
    with Anvil(accounts=40) as node:
        record = deploy(node.url, directory)
        model = model_path(tmp_path_factory.mktemp("model"))
        settings = settings_for(node.url, directory, directory / "oracle.db", model, private_key=ORACLE_KEY)
        runtime = Runtime.build(settings, scorer=scorer_for(model))
        yield {
            "anvil": node,
            "dir": directory,
            "record": record,
            "w3": Web3(Web3.HTTPProvider(node.url)),
            "runtime": runtime,
            "worker": Worker(runtime),
            "client": TestClient(create_app(runtime)),
            "settings": settings,
        }


def apply(world, account, i: int, nonce: int = 1):
    response = world["client"].post("/applications", json=signed_payload(account, fields_for(i), nonce=nonce))
    assert response.status_code == 201, response.text
    return response.json()


def updates_for(world, address: str) -> list:
    return [log for log in score_updates(world["w3"], world["record"]) if log.args.account == address]


def test_application_to_onchain_score(world):
    alice = dev_account(10)
    assert apply(world, alice, 1)["stage"] == "awaiting_request"
    # nothing is pushed for an application alone: the on-chain request triggers the push
    assert world["worker"].run_once()["pushed"] is None
    request_score(world["w3"], world["record"], alice)

    result = world["worker"].run_once()
    assert result["requests_added"] == 1 and result["pushed"].status == store.DONE

    runtime = world["runtime"]
    expected = runtime.scorer.score(alice.address, runtime.scorer.validate(fields_for(1)), BorrowerHistory())
    oracle = oracle_contract(world["w3"], world["record"])
    score, grade, model, updated_at, expires_at = oracle.functions.score_of(alice.address).call()
    assert score == expected.score
    assert "0x" + model.hex() == runtime.scorer.model_id
    assert grade == next((g for g, t in enumerate(THRESHOLDS, start=1) if score >= t), 0)
    assert expires_at - updated_at == world["settings"].ttl_seconds

    (event,) = updates_for(world, alice.address)
    status = world["client"].get(f"/applications/{alice.address}").json()
    assert status["status"] == "scored" and status["score"] == score and status["grade"] == grade
    assert status["tx_hash"] == "0x" + event.transactionHash.hex()
    assert status["model_id"] == runtime.scorer.model_id
    assert status["reasons"] == expected.reasons

    # a further iteration pushes nothing more
    assert world["worker"].run_once()["pushed"] is None
    assert len(updates_for(world, alice.address)) == 1


def test_several_requests_are_pushed_in_one_transaction(world):
    people = [dev_account(i) for i in range(11, 16)]
    for i, person in enumerate(people):
        apply(world, person, i)
        request_score(world["w3"], world["record"], person)
    result = world["worker"].run_once()
    assert result["requests_added"] == 5 and result["pushed"].status == store.DONE

    events = [updates_for(world, p.address) for p in people]
    assert all(len(e) == 1 for e in events)
    assert len({e[0].transactionHash for e in events}) == 1  # one push_scores transaction
    with store.session(world["runtime"].engine) as db:
        push = db.get(Push, result["pushed"].push_id)
    assert {e["account"] for e in push.entries} == {p.address for p in people}
    assert push.tx_hash == "0x" + events[0][0].transactionHash.hex()


def test_request_waits_for_its_application(world):
    bob = dev_account(16)
    request_score(world["w3"], world["record"], bob)
    result = world["worker"].run_once()
    assert result["requests_added"] == 1 and result["pushed"] is None
    status = world["client"].get(f"/applications/{bob.address}").json()
    assert (status["status"], status["stage"]) == ("pending", "needs_application")

    assert apply(world, bob, 3)["stage"] == "queued"
    assert world["worker"].run_once()["pushed"].status == store.DONE
    assert len(updates_for(world, bob.address)) == 1

    # a second on-chain request (nonce 2) is a new request: scored once more
    request_score(world["w3"], world["record"], bob)
    world["worker"].run_once()
    assert len(updates_for(world, bob.address)) == 2
    assert world["worker"].run_once()["pushed"] is None


def test_duplicate_requests_of_one_account_share_one_push(world):
    carol = dev_account(17)
    apply(world, carol, 4)
    request_score(world["w3"], world["record"], carol)
    request_score(world["w3"], world["record"], carol)
    result = world["worker"].run_once()
    assert result["requests_added"] == 2
    assert len(updates_for(world, carol.address)) == 1
    assert world["client"].get(f"/applications/{carol.address}").json()["requests"] == 2


def test_cli_score_prints_json_and_pushes(world, monkeypatch):
    dave = dev_account(18)
    apply(world, dave, 5)
    settings = world["settings"]
    for name in ("rpc_url", "db_url", "deployments_dir", "model_path", "confirmations"):
        monkeypatch.setenv(f"PEERLEND_ORACLE_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("PEERLEND_ORACLE_PRIVATE_KEY", ORACLE_KEY)
    monkeypatch.setattr(runtime_module, "load_scorer", lambda s: world["runtime"].scorer)

    result = CliRunner().invoke(commands.score, ["--address", dave.address.lower()])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["address"] == dave.address and 300 <= shown["score"] <= 850
    assert shown["model_id"] == world["runtime"].scorer.model_id
    assert updates_for(world, dave.address) == []  # no --push: nothing on-chain

    # --push answers an on-chain request: without one there is nothing to push
    result = CliRunner().invoke(commands.score, ["--address", dave.address, "--push"])
    assert result.exit_code == 1 and "no pending score request" in result.output
    assert updates_for(world, dave.address) == []

    request_score(world["w3"], world["record"], dave)
    result = CliRunner().invoke(commands.score, ["--address", dave.address, "--push"])
    assert result.exit_code == 0, result.output
    pushed = json.loads(result.output)
    assert pushed["push_status"] == "done" and pushed["onchain"]["score"] == shown["score"]
    assert pushed["onchain"]["model"] == shown["model_id"]
    (event,) = updates_for(world, dave.address)
    assert pushed["tx_hash"] == "0x" + event.transactionHash.hex()

    missing = CliRunner().invoke(commands.score, ["--address", dev_account(19).address])
    assert missing.exit_code == 1 and "no application" in missing.output


def test_unscorable_application_waits_for_a_new_one(world):
    """A stored application the model can no longer score (here: an input field missing, as
    after a model change) does not block the queue: the request waits for a new application."""
    frank = dev_account(9)
    scorer = world["runtime"].scorer
    inputs = scorer.validate(fields_for(9))
    del inputs[scorer.input_fields[0]]
    with store.session(world["runtime"].engine) as db:
        db.add(
            Application(
                address=frank.address,
                fields_json=json.dumps(inputs),
                fields_hash="0x" + "00" * 32,
                nonce=1,
                issued_at=0,
                scheme="eip712",
                received_at=0,
            )
        )
    request_score(world["w3"], world["record"], frank)
    assert world["worker"].run_once()["pushed"] is None
    status = world["client"].get(f"/applications/{frank.address}").json()
    assert status["stage"] == "needs_application" and scorer.input_fields[0] in status["error"]
    assert world["worker"].run_once()["pushed"] is None  # not retried with the same application

    assert apply(world, frank, 9, nonce=2)["stage"] == "queued"
    assert world["worker"].run_once()["pushed"].status == store.DONE
    assert len(updates_for(world, frank.address)) == 1


def test_push_whose_nonce_was_taken_waits_then_is_dropped_and_pushed_again(world, monkeypatch):
    """Crash after persisting a signed push; meanwhile the oracle key's nonce is used by another
    transaction. "Nonce used, no receipt" is not taken for "dropped" at once (the node may not
    serve a mined receipt yet): the push waits RECEIPT_DEADLINE_SECONDS for one of its receipts,
    then is dropped and its requests pushed anew."""
    grace = dev_account(7)
    apply(world, grace, 10)
    request_score(world["w3"], world["record"], grace)

    class Crash(Exception):
        pass

    def crash(name):
        if name == "after_persist":
            raise Crash

    monkeypatch.setattr(faults, "checkpoint", crash)
    with pytest.raises(Crash):
        world["worker"].run_once()
    monkeypatch.undo()
    w3, oracle_address = world["w3"], dev_account(ORACLE_INDEX).address
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": oracle_address, "to": oracle_address, "value": 0})
    )

    monkeypatch.setattr(world["runtime"].settings, "receipt_deadline_seconds", 1.0)
    pusher = world["worker"].pusher
    waiting = pusher.reconcile()
    assert waiting is not None and waiting.status in store.OPEN_PUSH  # nothing decided yet
    assert world["worker"].run_once()["open_push"] == waiting.id
    time.sleep(1.1)
    world["worker"].run_once()
    with store.session(world["runtime"].engine) as db:
        rows = db.exec(select(Push).order_by(Push.id.desc())).all()[:2]
    assert [r.status for r in rows] == [store.DONE, store.DROPPED]
    assert rows[1].id == waiting.id and "no receipt came" in rows[1].error
    assert rows[1].tx_nonce < rows[0].tx_nonce
    assert len(updates_for(world, grace.address)) == 1


def test_unmined_push_is_replaced_with_higher_fees_and_lands_once(world, monkeypatch):
    heidi = dev_account(1)
    apply(world, heidi, 11)
    request_score(world["w3"], world["record"], heidi)
    settings = world["runtime"].settings
    monkeypatch.setattr(settings, "receipt_wait_seconds", 0)
    monkeypatch.setattr(settings, "replace_after_seconds", 0.01)
    w3 = world["w3"]
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        result = world["worker"].run_once()
        assert result["pushed"].status == store.SENT
        time.sleep(1.1)  # sent_at has one-second resolution
        assert world["worker"].pusher.reconcile() is not None  # still open, now replaced
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    w3.provider.make_request("evm_mine", [])
    assert world["worker"].pusher.reconcile() is None
    with store.session(world["runtime"].engine) as db:
        push = db.get(Push, result["pushed"].push_id)
    assert push.status == store.DONE and len(push.tx_hashes) >= 2  # re-signed at least once
    assert push.tx_hash in push.tx_hashes[1:]  # a replacement landed, not the original
    (event,) = updates_for(world, heidi.address)  # and only one of the attempts executed
    assert "0x" + event.transactionHash.hex() == push.tx_hash


def test_key_never_reaches_logs_or_output(world, caplog, capsys):
    erin = dev_account(8)
    with caplog.at_level(logging.DEBUG):
        apply(world, erin, 6)
        request_score(world["w3"], world["record"], erin)
        assert world["worker"].run_once()["pushed"].status == store.DONE
    captured = capsys.readouterr()
    secret = ORACLE_KEY.lower().removeprefix("0x")
    assert caplog.records
    for text in (caplog.text, captured.out, captured.err):
        assert secret not in text.lower()
    database = (world["dir"] / "oracle.db").read_bytes()
    assert secret.encode() not in database.lower() and bytes.fromhex(secret) not in database


def test_repayment_history_from_loanbook_feeds_the_policy(world):
    """Borrower 4 repays one installment on time and one late; borrower 6 defaults."""
    record, w3 = world["record"], world["w3"]
    unit = 10**6
    with ape_on(world["anvil"].url):
        from ape import accounts, chain, project

        test = accounts.test_accounts
        c = {name: getattr(project, name).at(entry["address"]) for name, entry in record["contracts"].items()}
        token, book, identity, oracle = (
            c["TestStablecoin"],
            c["LoanBook"],
            c["IdentityRegistry"],
            c["CreditOracle"],
        )
        loans = {}
        for index in (4, 5, 6):
            token.mint(test[index], 100_000 * unit, sender=test[0])
            token.approve(book.address, 2**256 - 1, sender=test[index])
            identity.attest(
                test[index], bytes([index]) * 32, chain.pending_timestamp + 3650 * DAY, sender=test[2]
            )
        oracle.push_scores(
            [test[4].address, test[6].address], [700, 700], b"\x42" * 32, 300 * DAY, sender=test[3]
        )
        for borrower in (4, 6):
            receipt = book.request_loan(
                token.address, 1_000 * unit, 1_200, 3, 30 * DAY, 0, 7 * DAY, sender=test[borrower]
            )
            loans[borrower] = receipt.events.filter(book.LoanRequested)[0].loan_id
            book.fund(loans[borrower], 1_000 * unit, sender=test[5])
        chain.pending_timestamp += DAY
        for borrower in (4, 6):
            book.disburse(loans[borrower], sender=test[borrower])
        start = book.loan(loans[4]).start
        schedule = c["LoanLens"].schedule(1_000 * unit, 1_200, 3, 30 * DAY, 0)
        chain.pending_timestamp = start + 30 * DAY  # on the first due date (earlier would be a prepayment)
        book.repay(loans[4], schedule[0].principal + schedule[0].interest, sender=test[4])
        chain.pending_timestamp = start + 60 * DAY + 5 * DAY  # second installment 5 days late
        book.repay(loans[4], schedule[1].principal + schedule[1].interest + 10 * unit, sender=test[4])
        # borrower 6 never paid: 65 days after start its first installment is > 30 days past due
        book.mark_default(loans[6], sender=test[5])
        chain.mine()

    borrower, defaulter = dev_account(4), dev_account(6)
    for i, person in enumerate((borrower, defaulter)):
        apply(world, person, 7 + i)
        request_score(w3, record, person)
    result = world["worker"].run_once()
    with store.session(world["runtime"].engine) as db:
        entries = {e["account"]: e for e in db.get(Push, result["pushed"].push_id).entries}
    assert entries[borrower.address]["history"] == {
        "loans": 1,
        "repayments_on_time": 1,
        "repayments_late": 1,
        "defaults": 0,
        "delinquent_loans": 0,
    }
    assert entries[defaulter.address]["history"] == {
        "loans": 1,
        "repayments_on_time": 0,
        "repayments_late": 0,
        "defaults": 1,
        "delinquent_loans": 0,
    }
    scorer = world["runtime"].scorer
    clean = scorer.score(defaulter.address, scorer.validate(fields_for(8)), BorrowerHistory())
    assert entries[defaulter.address]["score"] < clean.score  # the policy penalises a default

    # Borrower 4's third installment (due at start + 90 days) passes unpaid: an active
    # delinquency, so the next score pushed is grade 0 whatever the application says.
    w3.provider.make_request("evm_setNextBlockTimestamp", [start + 91 * DAY])
    w3.provider.make_request("evm_mine", [])
    apply(world, borrower, 7, nonce=2)
    request_score(w3, record, borrower)
    result = world["worker"].run_once()
    with store.session(world["runtime"].engine) as db:
        (entry,) = db.get(Push, result["pushed"].push_id).entries
    assert entry["history"]["delinquent_loans"] == 1
    assert entry["score"] <= WITHHELD_SCORE and entry["grade"] == 0
    assert entry["reasons"][0] == REASON_DELINQUENT
    score, grade, *_ = oracle_contract(w3, record).functions.score_of(borrower.address).call()
    assert (score, grade) == (entry["score"], 0)  # the older, better score no longer counts


def requests_in_one_block(w3: Web3, record: dict, senders) -> None:
    """Each of `senders` (an account may appear many times) calls request_score(), all mined in
    one block."""
    oracle = oracle_contract(w3, record)
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [
            oracle.functions.request_score().transact({"from": a.address, "gas": 100_000}) for a in senders
        ]
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    w3.provider.make_request("evm_mine", [])
    assert all(w3.eth.wait_for_transaction_receipt(h).status == 1 for h in hashes)


def set_cooldown(world, seconds: int) -> None:
    from peerlend import abi

    address = world["record"]["contracts"]["CreditOracle"]["address"]
    oracle = world["w3"].eth.contract(address=address, abi=abi.load("CreditOracle"))  # the admin's ABI
    admin = dev_account(0).address  # the deployer holds DEFAULT_ADMIN_ROLE
    tx = oracle.functions.set_request_cooldown(seconds).transact({"from": admin})
    assert world["w3"].eth.wait_for_transaction_receipt(tx).status == 1


def test_a_spamming_account_cannot_delay_other_scores(world, monkeypatch):
    """One pending request per account and a cooldown: a spammer holds one place in the queue
    and gets one score, whatever it sends."""
    w3, record, worker = world["w3"], world["record"], world["worker"]
    spammer, others = dev_account(20), [dev_account(i) for i in range(21, 25)]
    for i, person in enumerate([spammer, *others]):
        apply(world, person, 20 + i)

    # The cooldown: a second request within the hour reverts, and only costs its sender gas.
    request_score(w3, record, spammer)
    oracle = oracle_contract(w3, record)
    with pytest.raises(Exception, match="oracle: request cooldown"):
        oracle.functions.request_score().transact({"from": spammer.address})

    # Worst case, no cooldown at all: 10 more requests before the others' and 10 after them.
    set_cooldown(world, 0)
    try:
        monkeypatch.setattr(world["runtime"].settings, "batch_size", 2)
        requests_in_one_block(w3, record, [spammer] * 10)
        requests_in_one_block(w3, record, others)
        requests_in_one_block(w3, record, [spammer] * 10)
        latest = oracle.functions.request_nonce(spammer.address).call()
        assert latest == 21

        first = worker.run_once()
        assert first["requests_added"] == 25
        with store.session(world["runtime"].engine) as db:
            rows = db.exec(select(ScoreRequest).where(ScoreRequest.account == spammer.address)).all()
            assert watcher.queue_size(db) == len(others) + 1 - 2  # two just pushed, in the first batch
        open_rows = [r for r in rows if r.status in store.OPEN_REQUEST]
        assert [r.request_nonce for r in open_rows] == [latest]  # one place in the queue
        assert {r.status for r in rows if r.request_nonce < latest} == {store.SUPERSEDED}

        # The others fill the first two batches (the spammer moved to the back with its last
        # request); the spammer's one score comes after.
        pushes = [first["pushed"].push_id, worker.run_once()["pushed"].push_id]
        with store.session(world["runtime"].engine) as db:
            batches = [{e["account"] for e in db.get(Push, p).entries} for p in pushes]
        assert set().union(*batches) == {p.address for p in others}
        assert worker.run_once()["pushed"] is not None
        assert worker.run_once()["pushed"] is None
    finally:
        set_cooldown(world, 3_600)
    for person in others:
        assert len(updates_for(world, person.address)) == 1
    assert len(updates_for(world, spammer.address)) == 1  # 21 requests, one answer: the latest
    assert oracle.functions.pending_request(spammer.address).call() == 0
    assert oracle.functions.answered_nonce(spammer.address).call() == latest
    status = world["client"].get(f"/applications/{spammer.address}").json()
    assert status["status"] == "scored" and status["requests"] == 21


def test_the_request_queue_is_bounded(world, monkeypatch):
    """With MAX_QUEUED requests queued or pushing, the scan stops (whole blocks only) and reads
    the rest once the queue has room; nothing is lost and nothing is scored twice."""
    w3, record, worker = world["w3"], world["record"], world["worker"]
    people = [dev_account(i) for i in range(25, 30)]
    for i, person in enumerate(people):
        apply(world, person, 30 + i)
    monkeypatch.setattr(world["runtime"].settings, "max_queued", 2)
    for person in people:  # five blocks of one request each
        request_score(w3, record, person)
    head = w3.eth.block_number

    engine = world["runtime"].engine
    assert watcher.scan_requests(world["runtime"].chain, engine) == 2  # the first two blocks
    assert watcher.scan_requests(world["runtime"].chain, engine) == 0  # full: nothing read
    with store.session(engine) as db:
        assert watcher.queue_size(db) == 2
        cursor = int(store.get_meta(db, watcher.CURSOR))
        stored = {r.account for r in db.exec(select(ScoreRequest)).all()}
    assert cursor == head - 3 and not stored & {p.address for p in people[2:]}
    assert world["client"].get("/health").json()["queued"] == 2

    seen = [worker.run_once()["requests_added"] for _ in range(3)]  # each push makes room
    assert seen == [0, 2, 1]
    with store.session(engine) as db:
        assert int(store.get_meta(db, watcher.CURSOR)) >= head  # every request block read
    assert worker.run_once()["pushed"] is None
    for person in people:
        assert len(updates_for(world, person.address)) == 1


def test_a_push_given_up_on_before_its_receipt_came_is_not_pushed_again(world):
    """The node serves receipts later than RECEIPT_DEADLINE_SECONDS: the pusher drops the push
    although it was mined. The request then is not pending on-chain any more, so it is settled
    from the chain without a second push, and the dropped push is recorded as done."""
    ivan = dev_account(30)
    apply(world, ivan, 40)
    request_score(world["w3"], world["record"], ivan)
    with LaggingReceipts(world["anvil"].url, lag=5.0) as proxy:
        settings = settings_for(
            proxy.url,
            world["dir"],
            world["dir"] / "oracle.db",  # the module's database, now through the slow node
            world["settings"].model_path,
            private_key=ORACLE_KEY,
            receipt_wait_seconds=0,
            receipt_deadline_seconds=1,
        )
        worker = Worker(Runtime.build(settings, scorer=world["runtime"].scorer))
        first = worker.run_once()["pushed"]
        assert first.status == store.SENT and len(updates_for(world, ivan.address)) == 1  # mined
        time.sleep(1.2)
        assert worker.run_once()["pushed"] is None  # dropped at the deadline, and not pushed again
        assert proxy.hidden >= 2
    assert len(updates_for(world, ivan.address)) == 1
    with store.session(world["runtime"].engine) as db:
        push = db.get(Push, first.push_id)
        request = store.latest_request(db, ivan.address)
    assert (push.status, push.tx_hash) == (store.DONE, first.tx_hash) and "given up on" in push.error
    assert request.status == store.DONE
    status = world["client"].get(f"/applications/{ivan.address}").json()
    assert status["status"] == "scored" and status["tx_hash"] == first.tx_hash


def test_history_starts_at_the_installment_disburse_made_current(world):
    """A 0%-APR interest-only loan and a loan too small for its first parts owe nothing before
    their last installment, so `disburse` puts the contract's cursor there. A repayment after the
    first two due dates but before the last is on time for the contract (nothing past due), and
    must be on time in the oracle's history too."""
    record, unit, period = world["record"], 10**6, 30 * DAY
    terms = {  # borrower account: (principal, apr_bps, installments, period_seconds, method)
        7: (1_000 * unit, 0, 3, period, Method.INTEREST_ONLY),
        8: (2, 1_200, 3, period, Method.EQUAL_PRINCIPAL),  # 2 base units: parts and interest round to 0
    }
    with ape_on(world["anvil"].url):
        from ape import accounts, chain, project

        test = accounts.test_accounts
        c = {name: getattr(project, name).at(entry["address"]) for name, entry in record["contracts"].items()}
        token, book, identity, oracle = (
            c["TestStablecoin"],
            c["LoanBook"],
            c["IdentityRegistry"],
            c["CreditOracle"],
        )
        limits = [tuple(book.grade_limits(token.address, grade)) for grade in GRADES]
        book.set_grade_limits(
            token.address, [(most, exposure, 0) for most, exposure, _ in limits], sender=test[0]
        )
        for index in terms:
            token.mint(test[index], 2_000 * unit, sender=test[0])
            token.approve(book.address, 2**256 - 1, sender=test[index])
            identity.attest(
                test[index], bytes([index]) * 32, chain.pending_timestamp + 3650 * DAY, sender=test[2]
            )
        oracle.push_scores(
            [test[i].address for i in terms], [700] * len(terms), b"\x42" * 32, 300 * DAY, sender=test[3]
        )
        token.mint(test[5], 2_000 * unit, sender=test[0])  # the lender
        token.approve(book.address, 2**256 - 1, sender=test[5])
        if not identity.is_verified(test[5]):
            identity.attest(test[5], bytes([5]) * 32, chain.pending_timestamp + 3650 * DAY, sender=test[2])
        loans = {}
        for index, (principal, apr_bps, n, seconds, method) in terms.items():
            receipt = book.request_loan(
                token.address, principal, apr_bps, n, seconds, method, 7 * DAY, sender=test[index]
            )
            loans[index] = receipt.events.filter(book.LoanRequested)[0].loan_id
            book.fund(loans[index], principal, sender=test[5])
        chain.pending_timestamp += DAY
        for index in terms:
            book.disburse(loans[index], sender=test[index])
            assert book.ledger(loans[index]).cursor == first_cursor(*terms[index]) == 3
        chain.pending_timestamp = max(book.loan(loan).start for loan in loans.values()) + 2 * period + DAY
        for index, (principal, *_) in terms.items():
            assert c["LoanLens"].amount_due(loans[index]).past_due == 0  # the contract: nothing is late yet
            book.repay(loans[index], principal, sender=test[index])
        book.set_grade_limits(token.address, limits, sender=test[0])
        chain.mine()

    histories = read_histories(world["runtime"].chain, [dev_account(index).address for index in terms])
    for index in terms:
        history = histories[dev_account(index).address].as_dict()
        assert (history["loans"], history["repayments_on_time"], history["repayments_late"]) == (1, 1, 0)
        assert history["defaults"] == 0
