"""`/events/stream` over real HTTP from `peerlend-indexer serve` following a live anvil: each newly
indexed event matching the filter is pushed, and a reorg rollback is announced; the cached
answers move to the new block (new ETag) as soon as it is indexed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading

import httpx

from peerlend.devchain import free_port
from tests.backend.helpers import send
from tests.backend.test_serve import wait_for


def rpc(chain, method, *params):
    response = chain.w3.provider.make_request(method, list(params))
    assert "error" not in response, response
    return response["result"]


class Listener(threading.Thread):
    """Reads one SSE stream into a list of (event, data) as they arrive."""

    def __init__(self, url: str, params: dict):
        super().__init__(daemon=True)
        self.url, self.params = url, params
        self.received: list[tuple[str, dict]] = []
        self.error: Exception | None = None

    def run(self):
        try:
            with httpx.stream(
                "GET", self.url, params=self.params, timeout=httpx.Timeout(60, read=60)
            ) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                name = None
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        name = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and name:
                        self.received.append((name, json.loads(line.split(":", 1)[1])))
                        name = None
        except Exception as exc:  # noqa: BLE001
            self.error = exc

    def names(self, event: str) -> list[dict]:
        return [data for name, data in self.received if name == event]


def test_stream_pushes_events_and_rollbacks(chain, tmp_path):
    sc = chain.scenario
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script = shutil.which("peerlend-indexer")
    command = [script] if script else [sys.executable, "-m", "backend.cli"]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'stream.db'}",
        "PEERLEND_RPC_URL": chain.url,
        "PEERLEND_DEPLOYMENTS_DIR": str(chain.deployments_dir),
        "PEERLEND_POLL_INTERVAL": "0.1",
    }
    process = subprocess.Popen([*command, "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    snapshot = None
    try:

        def indexed_block():
            try:
                return httpx.get(f"{url}/health", timeout=2).json()["indexed_block"]
            except httpx.HTTPError:
                return None

        wait_for(lambda: indexed_block() == sc.end_block, timeout=90)
        loan = sc.loans["overdue_11"]
        before = httpx.get(f"{url}/loans/{loan}")
        etag = before.headers["etag"]
        assert httpx.get(f"{url}/loans/{loan}", headers={"If-None-Match": etag}).status_code == 304

        snapshot = rpc(chain, "evm_snapshot")
        by_loan = Listener(f"{url}/events/stream", {"loan": loan})
        by_account = Listener(f"{url}/events/stream", {"account": sc.lenders[1]})
        by_loan.start()
        by_account.start()
        wait_for(lambda: by_loan.names("hello") and by_account.names("hello"), timeout=20)

        # Another loan's funding (L2), then a repayment of this loan (B).
        send(chain, "LoanBook", "fund", sc.loans["open"], 10 * 10**6, sender=sc.lenders[1])
        due = chain.lens.functions.amount_due(loan).call()
        send(chain, "LoanBook", "repay", loan, due[0] + due[1], sender=sc.borrower_b)
        head = chain.w3.eth.block_number
        wait_for(lambda: any(e["name"] == "Repayment" for e in by_loan.names("chain_event")), timeout=30)
        assert by_loan.error is None and by_account.error is None
        assert {e["loan_id"] for e in by_loan.names("chain_event")} == {loan}
        assert {e["name"] for e in by_loan.names("chain_event")} >= {"Repayment"}
        wait_for(lambda: any(e["name"] == "LoanFunded" for e in by_account.names("chain_event")), timeout=30)
        assert all(sc.lenders[1] in json.dumps(e["args"]) for e in by_account.names("chain_event"))
        assert not any(e["name"] == "Repayment" for e in by_account.names("chain_event"))
        wait_for(lambda: any(b["block"] == head for b in by_loan.names("block")), timeout=30)

        # The cached answer moved with the indexed block.
        after = httpx.get(f"{url}/loans/{loan}")
        assert after.headers["etag"] != etag and after.json()["as_of"]["block"] == head
        assert httpx.get(f"{url}/loans/{loan}", headers={"If-None-Match": etag}).status_code == 200

        # A reorg: the two transactions vanish; a longer branch without them replaces them.
        rpc(chain, "evm_revert", snapshot)
        snapshot = rpc(chain, "evm_snapshot")  # back at the lifecycle's end, for later tests
        branch = head - sc.end_block + 2
        rpc(chain, "anvil_mine", hex(branch))
        wait_for(lambda: by_loan.names("rollback"), timeout=30)
        (rollback,) = by_loan.names("rollback")
        assert rollback["to_block"] == sc.end_block and rollback["from_block"] == head
        wait_for(lambda: by_account.names("rollback"), timeout=30)
        wait_for(
            lambda: httpx.get(f"{url}/loans/{loan}").json()["as_of"]["block"] == sc.end_block + branch,
            timeout=30,
        )
        assert httpx.get(f"{url}/loans/{loan}").json()["repayments"] == before.json()["repayments"]
    finally:
        process.terminate()
        process.wait(timeout=20)
        if snapshot is not None:
            rpc(chain, "evm_revert", snapshot)
        assert chain.w3.eth.block_number == sc.end_block
