"""Retries with exponential backoff for calls to the RPC node.

Only transient failures are retried: connection errors, timeouts, HTTP 429/5xx and the JSON-RPC
"limit exceeded" / "try again" family. A revert, a bad argument or a rejected transaction is not
transient and is raised at once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import requests
from web3.exceptions import ContractLogicError, ProviderConnectionError, TimeExhausted, Web3RPCError

log = logging.getLogger(__name__)
T = TypeVar("T")

_TRANSIENT_RPC_CODES = {-32005, 429}  # limit exceeded, rate limited
_TRANSIENT_WORDS = ("rate limit", "too many requests", "timeout", "timed out", "try again", "overloaded")


def is_transient(error: BaseException) -> bool:
    if isinstance(error, ContractLogicError):  # a revert is an answer, not a failure
        return False
    if isinstance(
        error, requests.ConnectionError | requests.Timeout | ProviderConnectionError | TimeExhausted
    ):
        return True
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if isinstance(error, requests.HTTPError):
        status = error.response.status_code if error.response is not None else 0
        return status == 429 or status >= 500
    if isinstance(error, Web3RPCError):
        body = error.rpc_response or {}
        code = body.get("error", {}).get("code") if isinstance(body.get("error"), dict) else None
        text = str(error).lower()
        return code in _TRANSIENT_RPC_CODES or any(word in text for word in _TRANSIENT_WORDS)
    return False


def backoff_delays(retries: int, base: float, ceiling: float):
    """base, 2·base, 4·base, … capped at `ceiling`, each with ±20 % jitter."""
    for attempt in range(retries):
        delay = min(ceiling, base * 2**attempt)
        yield delay * random.uniform(0.8, 1.2)


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
    delays = backoff_delays(retries, base, ceiling)
    while True:
        try:
            return fn()
        except Exception as error:
            if not is_transient(error):
                raise
            delay = next(delays, None)
            if delay is None:
                log.error("%s failed after %d retries: %s", what, retries, type(error).__name__)
                raise
            log.warning("%s failed (%s: %s); retrying in %.2fs", what, type(error).__name__, error, delay)
            sleep(delay)
