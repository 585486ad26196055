"""The worker loop: reconcile the open push, record new requests, queue the ones whose
application arrived, push the next batch; sleep; repeat. An RPC failure that outlives its
retries ends the iteration, and the loop backs off (`peerlend.retry`: `backoff_base` doubling up
to `backoff_max`) before the next one; it never exits on an error.
"""

from __future__ import annotations

import logging
import threading

from oracle.service import watcher
from oracle.service.runtime import Runtime
from peerlend.retry import Backoff, Stopped, retry_forever

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.pusher = runtime.pusher()

    def run_once(self) -> dict:
        """One iteration; returns what it did (for logs and tests)."""
        rt = self.runtime
        still_open = self.pusher.reconcile()
        added = watcher.scan_requests(rt.chain, rt.engine)
        promoted = watcher.promote_waiting(rt.engine)
        outcome = None if still_open is not None else self.pusher.push_next()
        return {
            "open_push": still_open.id if still_open is not None else None,
            "requests_added": added,
            "requests_promoted": promoted,
            "pushed": outcome,
        }

    def run(self, stop: threading.Event) -> None:
        settings = self.runtime.settings
        backoff = Backoff(base=settings.backoff_base, ceiling=settings.backoff_max)

        def on_error(error: BaseException, delay: float) -> None:
            log.error(
                "worker iteration failed (%s: %s); next try in %.1fs", type(error).__name__, error, delay
            )

        log.info(
            "worker started (poll every %.1fs, batches of up to %d)",
            settings.poll_interval,
            settings.batch_size,
        )
        while not stop.is_set():
            try:
                result = retry_forever(self.run_once, stop=stop, backoff=backoff, on_error=on_error)
            except Stopped:
                break
            busy = result["pushed"] is not None or result["requests_added"] or result["requests_promoted"]
            stop.wait(0 if busy else settings.poll_interval)
        log.info("worker stopped")
