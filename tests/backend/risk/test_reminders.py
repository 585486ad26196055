"""Repayment reminders end to end: `peerlend-indexer serve` delivers signed webhooks to a local
receiver (the receiver is outside Peerlend; a tiny HTTP server stands in for it), retries a
refused delivery, and across a restart of the service sends every reminder exactly once. The
calendar feed of the same account parses with the `icalendar` package. On the same chain: the
token-transfer mirror the AML rules read follows a reorg.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlmodel import Session

from backend.risk import transfers
from backend.risk.models import RiskTransfer
from backend.risk.webhooks import verify
from peerlend.db import make_engine
from peerlend.devchain import free_port
from peerlend.rpc import Rpc, RpcError
from tests.backend.helpers import make_settings, sync_to_head
from tests.backend.risk.support import DAY, UNIT, deployed_chain

SECRET = "webhook-secret"


class Receiver:
    """Records every delivery; refuses the first attempt of the ids in `refuse_once` with a 503."""

    def __init__(self, refuse_once: set[str]):
        self.received: list[tuple[dict, bytes]] = []
        self.refused: list[str] = []
        self.refuse_once = set(refuse_once)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                delivery = self.headers["Peerlend-Delivery"]
                if delivery in receiver.refuse_once:
                    receiver.refuse_once.discard(delivery)
                    receiver.refused.append(delivery)
                    self.send_response(503)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/peerlend"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> Counter:
        return Counter(headers["Peerlend-Delivery"] for headers, _ in self.received)


class Service:
    """`peerlend-indexer serve` in a subprocess (the indexer and the risk monitor inside)."""

    def __init__(self, env: dict[str, str]):
        self.env, self.port, self.process = env, free_port(), None

    def start(self) -> None:
        script = shutil.which("peerlend-indexer")
        command = [script] if script else [sys.executable, "-m", "backend.cli"]
        self.process = subprocess.Popen(
            [*command, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=5)

    def indexed_block(self) -> int | None:
        try:
            return self.get("/health").json()["indexed_block"]
        except (httpx.HTTPError, ValueError, KeyError):
            return None


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    with deployed_chain(tmp_path_factory.mktemp("reminder-deployments")) as d:
        yield d


def test_reminders_exactly_once_across_a_restart(chain, tmp_path):
    d = chain
    borrower = d.customer(4, 5_000, score=760)
    lender = d.customer(6, 5_000)
    loan = d.request(borrower, 900, installments=3, period_days=30)
    d.fund(loan, lender, 900)
    note = 1

    receiver = Receiver(refuse_once={f"funded/loan/{loan}"})
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'reminders.db'}",
        "PEERLEND_RPC_URL": d.url,
        "PEERLEND_DEPLOYMENTS_DIR": str(d.deployments_dir),
        "PEERLEND_CONFIRMATIONS": "0",
        "PEERLEND_POLL_INTERVAL": "0.1",
        "PEERLEND_RISK_POLL_INTERVAL": "0.1",
        "PEERLEND_RISK_WEBHOOK_URLS": json.dumps([receiver.url]),
        "PEERLEND_RISK_WEBHOOK_SECRET": SECRET,
        "PEERLEND_RISK_WEBHOOK_BACKOFF": "0.2",
        "PEERLEND_RISK_REMINDER_DAYS": "[3]",
        # Old enough to re-plan everything after the restart: only the delivery log stops repeats.
        "PEERLEND_RISK_REMINDER_MAX_AGE_SECONDS": str(365 * DAY),
    }
    service = Service(env)
    service.start()
    try:
        # Funded: the first attempt is refused, the retry delivers it.
        wait_for(lambda: receiver.ids()[f"funded/loan/{loan}"], what="the funded reminder")
        assert receiver.refused == [f"funded/loan/{loan}"]
        d.mine(d.now() + DAY + 60)
        d.disburse(loan, borrower)
        first = {f"disbursed/loan/{loan}/{borrower}", f"disbursed/loan/{loan}/{lender}"}
        wait_for(lambda: first <= set(receiver.ids()), what="the disbursed reminders")
    finally:
        service.stop()

    # While the service is down the first installment comes within 3 days and passes unpaid:
    # it is overdue when the service is back, so "due soon" is not sent late.
    start = d.start(loan)
    d.mine(start + 27 * DAY + 60)
    d.mine(start + 31 * DAY)
    service.start()
    try:
        later = {f"overdue/loan/{loan}/installment/1", f"due_soon/3d/loan/{loan}/installment/2"}
        wait_for(lambda: service.indexed_block() == d.w3.eth.block_number, what="the restarted indexer")
        wait_for(lambda: f"overdue/loan/{loan}/installment/1" in receiver.ids(), what="the overdue reminder")
        # The borrower repays what is past due; the lender's note becomes claimable.
        receipt = d.repay(loan, sum(d.due(loan)[:2]), borrower)
        claimable = f"claimable/note/{note}/{d.tx(receipt)}/{_log_index(d, receipt)}"
        wait_for(lambda: claimable in receiver.ids(), what="the claimable reminder")
        d.mine(start + 57 * DAY + 60)  # second installment due within 3 days
        wait_for(lambda: later <= set(receiver.ids()), what="the second due-soon reminder")

        log = service.get("/risk/reminders/deliveries").json()
        monitor = service.get("/risk/monitor").json()
        assert (
            monitor["running"] and monitor["block"] == d.w3.eth.block_number and monitor["last_error"] is None
        )
        ics = service.get(f"/accounts/{borrower}/calendar.ics")
    finally:
        service.stop()

    counts = receiver.ids()
    expected = {f"funded/loan/{loan}", *first, *later, claimable}
    assert set(counts) == expected
    assert all(n == 1 for n in counts.values()), counts  # exactly once, across the restart
    for headers, body in receiver.received:
        assert verify(SECRET, headers["Peerlend-Signature"], body)
        assert not verify("wrong-secret", headers["Peerlend-Signature"], body)
        payload = json.loads(body)
        assert payload["id"] == headers["Peerlend-Delivery"] and payload["kind"] == headers["Peerlend-Event"]
    overdue = next(json.loads(b) for h, b in receiver.received if h["Peerlend-Event"] == "overdue")
    assert overdue["account"] == borrower and int(overdue["past_due"]) > 0
    claim = next(json.loads(b) for h, b in receiver.received if h["Peerlend-Event"] == "claimable")
    assert claim["account"] == lender and int(claim["claimable"]) > 0

    rows = {row["reminder_id"]: row for row in log["items"]}
    assert log["total"] == len(expected) and set(rows) == expected
    assert all(row["status"] == "delivered" for row in rows.values())
    assert (
        rows[f"funded/loan/{loan}"]["attempts"] == 2
        and rows[f"funded/loan/{loan}"]["last_status_code"] == 204
    )

    calendar = Calendar.from_ical(ics.content)
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [
        f"loan-{loan}-installment-2@peerlend",
        f"loan-{loan}-installment-3@peerlend",
    ]
    assert all("OVERDUE" not in str(e["SUMMARY"]) for e in events)
    assert events[0].decoded("DTSTART").timestamp() == start + 60 * DAY
    assert events[0].walk("VALARM")[0].decoded("TRIGGER").total_seconds() == -3 * DAY


def _log_index(d, receipt) -> int:
    (event,) = d.book.events.Repayment().process_receipt(receipt)
    return event.logIndex


def test_transfer_mirror_follows_a_reorg(chain, tmp_path):
    """Transfers mirrored from a branch that a reorg removes are dropped and the new branch's read."""
    d = chain
    sender, receiver = d.customer(20, 1_000), d.accounts[21]
    settings = make_settings(d, f"sqlite:///{tmp_path / 'mirror.db'}")
    engine = make_engine(settings.database_url)
    rpc = Rpc(d.url)

    def mirror() -> list[tuple]:
        sync_to_head(settings, engine)
        transfers.ingest(engine, rpc, reorg_window=settings.reorg_window)
        with Session(engine) as session:
            rows = session.scalars(select(RiskTransfer).where(RiskTransfer.receiver == receiver)).all()
            return sorted((row.tx_hash, row.log_index, row.amount) for row in rows)

    assert mirror() == []
    snapshot = d.w3.provider.make_request("evm_snapshot", [])["result"]
    old = d.tx(d.transfer(sender, receiver, 10))
    assert [(tx, amount) for tx, _, amount in mirror()] == [(old, 10 * UNIT)]

    d.w3.provider.make_request("evm_revert", [snapshot])
    new = d.tx(d.transfer(sender, receiver, 20))
    for _ in range(3):  # the new branch is longer
        d.mine(d.now() + 1)
    assert [(tx, amount) for tx, _, amount in mirror()] == [(new, 20 * UNIT)]


class CappedNode(Rpc):
    """A node like many hosted ones: eth_getLogs over more than 4 blocks is refused."""

    def request(self, method, params):
        if method == "eth_getLogs" and int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) >= 4:
            raise RpcError("eth_getLogs: query exceeds max block range 4")
        return super().request(method, params)


def test_transfer_mirror_asks_a_capped_node_for_smaller_ranges(chain, tmp_path):
    d = chain
    sender, receiver = d.customer(22, 1_000), d.accounts[23]
    for amount in (1, 2, 3):  # its own transfers, spread over more blocks than the node serves at once
        d.tx(d.transfer(sender, receiver, amount))
        for _ in range(3):
            d.mine(d.now() + 1)
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'capped.db'}")
    engine = make_engine(settings.database_url)
    sync_to_head(settings, engine)
    assert transfers.ingest(engine, CappedNode(chain.url), batch_blocks=1_000) > 0
    reference = make_engine(f"sqlite:///{tmp_path / 'uncapped.db'}")
    sync_to_head(settings.model_copy(update={"database_url": str(reference.url)}), reference)
    transfers.ingest(reference, Rpc(chain.url), batch_blocks=1_000)

    def rows(engine) -> list[tuple]:
        with Session(engine) as session:
            found = session.scalars(select(RiskTransfer)).all()
            return sorted((r.tx_hash, r.log_index, r.sender, r.receiver, r.amount) for r in found)

    assert rows(engine) == rows(reference)


def test_monitor_command_mirrors_what_a_separate_indexer_leaves_to_it(chain, tmp_path, monkeypatch):
    """`run` and `serve --no-indexer` in separate processes mirror no transfers (the AML rules'
    input): `peerlend-indexer monitor` does, and says how far it got; a dead node is one line."""
    from click.testing import CliRunner

    from backend.cli import main
    from backend.settings import get_settings

    d = chain
    sender, receiver = d.customer(24, 1_000), d.accounts[25]
    sent = d.tx(d.transfer(sender, receiver, 7))
    settings = make_settings(d, f"sqlite:///{tmp_path / 'split.db'}")
    engine = make_engine(settings.database_url)
    indexed = sync_to_head(settings, engine).status.last_block

    def received() -> list[tuple]:
        with Session(engine) as session:
            rows = session.scalars(select(RiskTransfer).where(RiskTransfer.receiver == receiver)).all()
            return [(row.tx_hash, row.amount) for row in rows]

    def monitor_once(rpc_url: str):
        for name, value in (
            ("DATABASE_URL", settings.database_url),
            ("PEERLEND_RPC_URL", rpc_url),
            ("PEERLEND_DEPLOYMENTS_DIR", str(d.deployments_dir)),
            ("PEERLEND_CONFIRMATIONS", "0"),
        ):
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(main, ["monitor", "--once"])
        finally:
            get_settings.cache_clear()

    assert received() == []  # the indexer alone
    dead = monitor_once("http://127.0.0.1:9")
    assert dead.exit_code == 1 and received() == []
    assert dead.output.startswith("Error: risk monitor pass failed: ") and dead.output.count("\n") == 1
    result = monitor_once(d.url)
    assert result.exit_code == 0, result.output
    assert received() == [(sent, 7 * UNIT)]
    assert f"risk monitor at indexed block {indexed}: " in result.output
