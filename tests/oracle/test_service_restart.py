"""Exactly-once across crashes: the service runs as a subprocess (`serve`, API + worker), is
SIGKILLed at a checkpoint of a batch push, and restarted. Every request must end up scored
exactly once on-chain (one ScoreUpdated per account), and the key must never reach the logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest
from eth_account import Account
from sqlmodel import select
from web3 import Web3

from oracle.service import faults, store
from oracle.service.store import Push
from peerlend.devchain import Anvil, free_port
from tests.oracle.helpers import (
    ORACLE_INDEX,
    deploy,
    dev_account,
    fields_for,
    model_path,
    oracle_contract,
    score_updates,
    service_env,
    signed_payload,
    start_service,
)

pytestmark = pytest.mark.anvil
ORACLE = dev_account(ORACLE_INDEX)
SECRET = ORACLE.key.hex().lower().removeprefix("0x")
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    directory = tmp_path_factory.mktemp("restart")
    with Anvil() as node:
        record = deploy(node.url, directory)
        model = model_path(tmp_path_factory.mktemp("model"))
        keystore = directory / "oracle-keystore.json"
        keystore.write_text(json.dumps(Account.encrypt(ORACLE.key, PASSWORD, iterations=2**12)))
        yield {
            "url": node.url,
            "dir": directory,
            "record": record,
            "w3": Web3(Web3.HTTPProvider(node.url)),
            "model": model,
            "db": directory / "oracle.db",
            "log": directory / "service.log",
            "keystore": keystore,
        }


class Service:
    """One `serve` subprocess with its API on a free port."""

    def __init__(
        self, world, *, pause_at: str | None = None, keystore: bool = False, extra: dict | None = None
    ):
        self.port = free_port()
        extra = {**(extra or {}), "PEERLEND_ORACLE_API_PORT": str(self.port)}
        if keystore:
            extra.update(PEERLEND_ORACLE_KEYSTORE=str(world["keystore"]), PEERLEND_ORACLE_PASSWORD=PASSWORD)
        else:
            extra["PEERLEND_ORACLE_PRIVATE_KEY"] = "0x" + SECRET
        if pause_at:
            extra[faults.ENV] = pause_at
        env = service_env(world["url"], world["dir"], world["db"], world["model"], **extra)
        self.log = world["log"]
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        self.process = start_service(env, "serve", "--log-level", "DEBUG", log_path=self.log)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=5)
        self.wait_for(lambda: self._healthy(), "the API to come up")

    def _healthy(self) -> bool:
        try:
            return self.http.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    def output(self) -> str:
        return self.log.read_bytes()[self.offset :].decode(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"service exited ({self.process.returncode}) waiting for {what}:\n{self.output()[-3000:]}"
                )
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output()[-3000:]}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.http.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.http.close()


def request_in_one_block(w3: Web3, record: dict, people) -> None:
    """Every `people` calls request_score() in the same block, so they form one batch."""
    oracle = oracle_contract(w3, record)
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [oracle.functions.request_score().transact({"from": p.address}) for p in people]
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    w3.provider.make_request("evm_mine", [])
    blocks = {w3.eth.wait_for_transaction_receipt(h).blockNumber for h in hashes}
    assert len(blocks) == 1


def updates(world) -> dict[str, int]:
    counts: dict[str, int] = {}
    for log in score_updates(world["w3"], world["record"]):
        counts[log.args.account] = counts.get(log.args.account, 0) + 1
    return counts


def pushes(world) -> list[Push]:
    engine = store.make_engine(f"sqlite:///{world['db']}")
    try:
        with store.session(engine) as db:
            return list(db.exec(select(Push).order_by(Push.id)).all())
    finally:
        engine.dispose()


SCENARIOS = {
    # checkpoint: (accounts, whether the batch reached the chain before the kill)
    "before_persist": (range(10, 13), False),
    "after_persist": (range(13, 17), False),
    "after_send": (range(17, 20), True),
}


@pytest.mark.parametrize("checkpoint", list(SCENARIOS))
def test_sigkill_mid_batch_then_restart_scores_every_request_exactly_once(world, checkpoint):
    indexes, reached_chain = SCENARIOS[checkpoint]
    people = [dev_account(i) for i in indexes]
    before = len(pushes(world)) if world["db"].exists() else 0

    service = Service(world, pause_at=checkpoint, keystore=checkpoint == "after_send")
    for i, person in enumerate(people):
        response = service.http.post("/applications", json=signed_payload(person, fields_for(i), nonce=1))
        assert response.status_code == 201, response.text
    request_in_one_block(world["w3"], world["record"], people)
    service.wait_for(lambda: f"{faults.MARKER} {checkpoint}" in service.output(), f"the {checkpoint} pause")
    service.kill()

    onchain = updates(world)
    assert all(onchain.get(p.address, 0) == (1 if reached_chain else 0) for p in people)
    stored = pushes(world)
    if checkpoint == "before_persist":
        assert len(stored) == before  # nothing remembered: the requests are still queued
    else:
        (pending,) = stored[before:]
        assert pending.status in (store.SIGNED, store.SENT)
        assert {e["account"] for e in pending.entries} == {p.address for p in people}

    service = Service(world)  # restart, no fault
    for person in people:
        service.wait_for(
            lambda p=person: service.http.get(f"/applications/{p.address}").json()["status"] == "scored",
            f"{person.address} to be scored",
        )
    time.sleep(0.5)  # give a wrong second push the chance to happen
    service.stop()

    onchain = updates(world)
    assert [onchain.get(p.address) for p in people] == [1] * len(people)
    stored = pushes(world)
    (done,) = stored[before:]  # one batch, whichever process pushed it
    assert done.status == store.DONE and len(done.entries) == len(people)
    if checkpoint != "before_persist":
        assert done.tx_hash == done.tx_hashes[0]  # the signed transaction persisted before the kill
    assert all(count == 1 for count in onchain.values())


def test_key_and_password_never_appear_in_the_logs(world):
    if not world["log"].exists():
        pytest.skip("run with the restart scenarios")
    text = world["log"].read_text(errors="replace")
    assert "push" in text and "ScoreRequested" in text  # the logs did record the runs (at DEBUG)
    assert SECRET not in text.lower()
    assert PASSWORD not in text
    assert os.environ.get("PEERLEND_ORACLE_PRIVATE_KEY") is None
