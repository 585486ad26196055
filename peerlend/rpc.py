"""The one RPC client and the one error classifier.

`Rpc` is a small JSON-RPC client over web3's HTTP provider: raw results, batches, typed errors.
The indexer's sync loop reads raw logs and headers with it (no web3 result formatting: backfill
is cheaper); contract calls go through its `w3` (reconciliation, the oracle service). web3's
own retries are off: retrying is `peerlend.retry`'s job, driven by `is_transient`.
"""

from __future__ import annotations

import itertools
from typing import Any

import requests
from web3 import Web3
from web3.exceptions import ContractLogicError, ProviderConnectionError, TimeExhausted, Web3RPCError

TRANSIENT_RPC_CODES = frozenset({-32005, 429})  # limit exceeded, rate limited
TRANSIENT_WORDS = ("rate limit", "too many requests", "timeout", "timed out", "try again", "overloaded")


class RpcError(RuntimeError):
    """The node answered with an error (`code` set), or could not be reached (`unreachable`)."""

    def __init__(self, message: str, code: int | None = None, unreachable: bool = False):
        super().__init__(message)
        self.code = code
        self.unreachable = unreachable


def _transient_answer(code: int | None, text: str) -> bool:
    text = text.lower()
    return code in TRANSIENT_RPC_CODES or any(word in text for word in TRANSIENT_WORDS)


def is_transient(error: BaseException) -> bool:
    """Worth retrying: connection errors, timeouts, HTTP 429/5xx and the JSON-RPC "limit
    exceeded" / "try again" family. A revert, a bad argument or a rejected transaction is an
    answer, not a failure, and is not transient."""
    if isinstance(error, ContractLogicError):  # a revert is an answer, not a failure
        return False
    if isinstance(error, RpcError):
        return error.unreachable or _transient_answer(error.code, str(error))
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
        return _transient_answer(code, str(error))
    return False


class Rpc:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.provider = Web3.HTTPProvider(
            url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        self.w3 = Web3(self.provider)
        self._ids = itertools.count(1)

    def request(self, method: str, params: list[Any]) -> Any:
        try:
            response = self.provider.make_request(method, params)
        except (requests.RequestException, OSError, ValueError) as exc:
            raise RpcError(f"{method}: {type(exc).__name__}: {exc}", unreachable=True) from exc
        return self._result(method, response)

    @staticmethod
    def _result(method: str, response: Any) -> Any:
        if not isinstance(response, dict):
            raise RpcError(f"{method}: malformed response {response!r}")
        if response.get("error"):
            error = response["error"]
            if isinstance(error, dict):
                raise RpcError(f"{method}: {error.get('message')}", error.get("code"))
            raise RpcError(f"{method}: {error}")
        return response.get("result")

    def batch(
        self, calls: list[tuple[str, list[Any]]], chunk: int = 100, raise_errors: bool = True
    ) -> list[Any]:
        """Results of several calls, `chunk` per HTTP request (sequential if the node refuses batches).
        With `raise_errors=False`, a call the node answers with an error gives its `RpcError`
        in place of a result instead of raising (e.g. an `eth_call` that reverts)."""
        if len(calls) > chunk:
            return [
                result
                for i in range(0, len(calls), chunk)
                for result in self.batch(calls[i : i + chunk], chunk, raise_errors)
            ]
        if not calls:
            return []
        try:
            responses = self.provider.make_batch_request(calls)
        except (requests.RequestException, OSError, ValueError) as exc:
            raise RpcError(f"batch: {type(exc).__name__}: {exc}", unreachable=True) from exc
        if not isinstance(responses, list) or len(responses) != len(calls):
            return [self._safely(self.request, raise_errors, method, params) for method, params in calls]
        return [
            self._safely(self._result, raise_errors, method, response)
            for (method, _), response in zip(calls, responses, strict=True)
        ]

    @staticmethod
    def _safely(fn, raise_errors: bool, *args) -> Any:
        if raise_errors:
            return fn(*args)
        try:
            return fn(*args)
        except RpcError as exc:
            return exc

    def chain_id(self) -> int:
        return int(self.request("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber", []), 16)

    def get_logs(self, from_block: int, to_block: int, addresses: list[str]) -> list[dict[str, Any]]:
        result = self.request(
            "eth_getLogs", [{"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": addresses}]
        )
        return result or []

    def get_headers(self, numbers: list[int]) -> dict[int, dict[str, Any] | None]:
        """{number: {"hash", "parent_hash", "timestamp"} or None if the chain has no such block}."""
        numbers = sorted(set(numbers))
        results = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        headers: dict[int, dict[str, Any] | None] = {}
        for number, block in zip(numbers, results, strict=True):
            headers[number] = (
                None
                if block is None
                else {
                    "hash": block["hash"],
                    "parent_hash": block["parentHash"],
                    "timestamp": int(block["timestamp"], 16),
                }
            )
        return headers
