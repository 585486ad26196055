"""The risk monitor: the background loop of `peerlend-indexer serve` (next to the indexer).

Each pass: read new ERC-20 transfers up to the indexed block (`transfers`), plan the reminders
due at the indexed block (`reminders`), record the new ones in the delivery log and attempt the
deliveries that are due (`webhooks`). Errors are logged and retried with backoff; the loop
never exits on them. Only the process that indexes runs it, so one writer owns the log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import requests
from sqlalchemy import select
from sqlmodel import Session

from backend.db.models import SyncState
from backend.risk import reminders, transfers, webhooks
from peerlend.retry import Backoff, Stopped, retry_forever
from peerlend.rpc import Rpc

log = logging.getLogger("peerlend.risk")


@dataclass
class MonitorStatus:
    passes: int = 0
    block: int | None = None  # the indexed block transfers and reminders are up to
    transfers: int = 0
    planned: int = 0
    delivered: int = 0
    last_error: str | None = None


class Monitor:
    def __init__(self, settings, engine, rpc: Rpc | None = None):
        self.settings = settings
        self.engine = engine
        self.rpc = rpc or Rpc(settings.rpc_url, settings.rpc_timeout)
        self.http = requests.Session()
        self.status = MonitorStatus()
        self._stop = threading.Event()
        self._seen: tuple | None = None

    def run_once(self) -> None:
        settings = self.settings
        with Session(self.engine) as session:
            state = session.scalars(select(SyncState).limit(1)).first()
            cursor = (state.last_block, state.last_block_hash) if state is not None else None
        # Transfers and reminders are functions of the indexed block: nothing to do until it
        # moves (a reorg changes the hash). Retries of due deliveries run on every pass.
        if cursor != self._seen:
            self.status.transfers += transfers.ingest(
                self.engine,
                self.rpc,
                batch_blocks=settings.max_batch_blocks,
                reorg_window=settings.reorg_window,
            )
            if settings.risk_webhook_urls:
                with Session(self.engine, expire_on_commit=False) as session:
                    planned = reminders.plan(
                        session, settings.risk_reminder_days, settings.risk_reminder_max_age_seconds
                    )
                    self.status.planned += webhooks.enqueue(session, planned, settings.risk_webhook_urls)
            self._seen = cursor
            self.status.block = cursor[0] if cursor else None
        if settings.risk_webhook_urls:
            self.status.delivered += webhooks.deliver_due(self.engine, settings, self.http)
        self.status.passes += 1

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Passes every `risk_poll_interval`; a failed pass (RPC, database, endpoint) is logged and
        retried with the shared backoff (`peerlend.retry`), from the poll interval up to `backoff_max`."""
        backoff = Backoff(base=self.settings.risk_poll_interval, ceiling=self.settings.backoff_max)

        def on_error(exc: BaseException, delay: float) -> None:
            self.status.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("risk monitor pass failed (%s); retrying in %.1fs", exc, delay)

        while not self._stop.is_set():
            try:
                retry_forever(self.run_once, stop=self._stop, backoff=backoff, on_error=on_error)
            except Stopped:
                return
            self.status.last_error = None
            self._stop.wait(self.settings.risk_poll_interval)
