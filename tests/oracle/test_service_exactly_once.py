"""Exactly once on both of anvil's mining modes, with and without SIGKILLs.

The real service (`serve` as a subprocess: API + worker, batches of 2) scores waves of
on-chain requests while anvil either mines every transaction at once (automine) or one block
per second (interval mining, what `anvil --block-time 1` runs; switched on after the deploy
so the deploy stays fast). In the "kills" runs the service is SIGKILLed at random moments
and restarted. Every request must end with exactly one `ScoreUpdated` and be answered
on-chain (`pending_request` = 0).

A node counts a mined transaction in its sender's nonce a little before it serves the
receipt. A pusher that takes "nonce used, no receipt" for "dropped" pushes the batch again
(an independent run saw 58 events for 30 requests). The service talks to anvil through
`LaggingReceipts`, which widens that window to `LAG` seconds so every push meets it.
"""

from __future__ import annotations

import random
import time

import pytest
from web3 import Web3

from peerlend.devchain import Anvil
from tests.oracle.helpers import (
    deploy,
    dev_account,
    fields_for,
    model_path,
    oracle_contract,
    score_updates,
    signed_payload,
)
from tests.oracle.lagging_node import LaggingReceipts
from tests.oracle.test_service_restart import Service

pytestmark = pytest.mark.anvil
MODES = {"automine": None, "block_time_1": 1}
PER_RUN = 6  # accounts (one request each) per run; two runs per chain
WAVES = 3
LAG = 1.5  # seconds a receipt reads null after its transaction was mined


@pytest.fixture(scope="module", params=list(MODES))
def world(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"once-{request.param}")
    with Anvil(accounts=10 + 2 * PER_RUN) as node, LaggingReceipts(node.url, LAG) as proxy:
        record = deploy(node.url, directory)
        w3 = Web3(Web3.HTTPProvider(node.url))
        if MODES[request.param]:
            w3.provider.make_request("evm_setIntervalMining", [MODES[request.param]])
        yield {
            "mode": request.param,
            "url": proxy.url,  # the service's RPC; the test itself talks to anvil
            "proxy": proxy,
            "dir": directory,
            "record": record,
            "w3": w3,
            "model": model_path(tmp_path_factory.mktemp("model")),
            "db": directory / "oracle.db",
            "log": directory / "service.log",
        }


def send_requests(w3: Web3, record: dict, people) -> None:
    oracle = oracle_contract(w3, record)
    hashes = [oracle.functions.request_score().transact({"from": p.address}) for p in people]
    for tx in hashes:
        assert w3.eth.wait_for_transaction_receipt(tx, timeout=30).status == 1


@pytest.mark.parametrize("kills", [0, 2], ids=["no_kills", "kills"])
def test_every_request_yields_exactly_one_score_update(world, kills):
    first = 10 + (PER_RUN if kills else 0)
    people = [dev_account(i) for i in range(first, first + PER_RUN)]
    rng = random.Random(f"{world['mode']}-{kills}")
    extra = {"PEERLEND_ORACLE_BATCH_SIZE": "2", "PEERLEND_ORACLE_RECEIPT_WAIT_SECONDS": "3"}

    service = Service(world, extra=extra)
    try:
        for i, person in enumerate(people):
            payload = signed_payload(person, fields_for(i), nonce=1)
            response = service.http.post("/applications", json=payload)
            assert response.status_code == 201, response.text
        killed = 0
        for wave in range(WAVES):
            send_requests(world["w3"], world["record"], people[wave::WAVES])
            if killed < kills:
                time.sleep(rng.uniform(0.1, 1.5))  # somewhere in the middle of a push
                service.kill()
                killed += 1
                service = Service(world, extra=extra)
        assert killed == kills

        def all_scored() -> bool:
            statuses = [service.http.get(f"/applications/{p.address}").json()["status"] for p in people]
            health = service.http.get("/health").json()
            return all(s == "scored" for s in statuses) and health["open_push"] is None

        try:
            service.wait_for(all_scored, "every request to be scored", timeout=60)
            settled = True
        except AssertionError:
            settled = False
        time.sleep(2.0)  # two more blocks: room for a wrong second push to land
    finally:
        service.stop()

    counts = {p.address: 0 for p in people}
    for log in score_updates(world["w3"], world["record"]):
        if log.args.account in counts:
            counts[log.args.account] += 1
    summary = (
        f"{world['mode']}, {kills} kills: {len(people)} requests, {sum(counts.values())} ScoreUpdated"
        f" ({world['proxy'].hidden} receipts read null after mining)"
    )
    print("\n" + summary)
    assert counts == {p.address: 1 for p in people}, summary
    assert settled, f"{summary}; not every request was marked scored:\n{service.output()[-3000:]}"
    oracle = oracle_contract(world["w3"], world["record"])
    assert all(oracle.functions.pending_request(p.address).call() == 0 for p in people)
