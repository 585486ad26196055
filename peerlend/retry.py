"""The one retry policy, on tenacity: exponential backoff with jitter, capped.

Delays are `base, 2·base, 4·base, …` up to `ceiling`, each with ±20 % jitter so that several
clients that failed together do not retry together. Two ways to use it:

* `with_retry(fn, ...)`: one RPC call, retried only on transient errors
  (`peerlend.rpc.is_transient`), a bounded number of times, then re-raised.
* `retry_forever(fn, ...)`: one iteration of a service loop (the indexer's poll, the oracle
  worker's pass), retried on any error until it succeeds or the loop is told to stop; a
  success starts the next failure's backoff from `base` again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
)
from tenacity.wait import wait_base

from peerlend.rpc import is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")

JITTER = 0.2


@dataclass(frozen=True)
class Backoff(wait_base):
    """A tenacity wait: `base · 2**(attempt − 1)`, capped at `ceiling`, times 1 ± `jitter`."""

    base: float = 0.5
    ceiling: float = 30.0
    jitter: float = JITTER

    def delay(self, attempt: int) -> float:
        """The un-jittered delay after failed attempt number `attempt` (1, 2, …)."""
        return min(self.ceiling, self.base * 2 ** min(attempt - 1, 64))

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.delay(retry_state.attempt_number) * random.uniform(1 - self.jitter, 1 + self.jitter)


def with_retry(
    fn: Callable[[], T],
    *,
    what: str,
    retries: int = 5,
    base: float = 0.5,
    ceiling: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Calls `fn()`; on a transient error waits and retries up to `retries` times, then re-raises."""

    def warn(state: RetryCallState) -> None:
        error = state.outcome.exception()
        log.warning(
            "%s failed (%s: %s); retrying in %.2fs", what, type(error).__name__, error, state.upcoming_sleep
        )

    def give_up(state: RetryCallState):
        error = state.outcome.exception()
        log.error("%s failed after %d retries: %s", what, retries, type(error).__name__)
        raise error

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(retries + 1),
        wait=Backoff(base, ceiling),
        sleep=sleep,
        before_sleep=warn,
        retry_error_callback=give_up,
    )
    return retrying(fn)


class Stopped(Exception):
    """`retry_forever` was told to stop before `fn` succeeded."""


def retry_forever(
    fn: Callable[[], T],
    *,
    stop: threading.Event,
    backoff: Backoff,
    on_error: Callable[[BaseException, float], None],
    fatal: Callable[[BaseException], bool] = lambda error: False,
) -> T:
    """`fn()`, retried after any error (`on_error(error, delay)` is told first) until it succeeds;
    errors for which `fatal(error)` is true are raised at once. Waits on `stop`, and raises
    `Stopped` once it is set."""

    def report(state: RetryCallState) -> None:
        on_error(state.outcome.exception(), state.upcoming_sleep)

    def attempt() -> T:
        if stop.is_set():  # woken from the backoff wait by a stop: no further attempt
            raise Stopped
        return fn()

    retrying = Retrying(
        retry=retry_if_exception(lambda error: not isinstance(error, Stopped) and not fatal(error)),
        stop=stop_when_event_set(stop),
        wait=backoff,
        sleep=stop.wait,
        before_sleep=report,
    )
    try:
        return retrying(attempt)
    except RetryError as error:
        raise Stopped from error.last_attempt.exception()
