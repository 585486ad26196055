"""The chain as the service sees it: a web3.py connection, the deployment record, the two
contracts it talks to, and RPC calls wrapped in the shared retry policy (`peerlend.retry`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from web3 import Web3
from web3.contract import Contract

from oracle.service.abi import CREDIT_ORACLE_ABI, LOAN_BOOK_ABI
from oracle.service.settings import OracleSettings
from peerlend.retry import with_retry
from peerlend.rpc import Rpc

log = logging.getLogger(__name__)
T = TypeVar("T")


def rpc_call(settings: OracleSettings, fn: Callable[[], T], what: str) -> T:
    """`fn()` with the configured retries and exponential backoff on transient RPC errors."""
    return with_retry(
        fn, what=what, retries=settings.rpc_retries, base=settings.backoff_base, ceiling=settings.backoff_max
    )


@dataclass
class Chain:
    w3: Web3
    chain_id: int
    oracle: Contract
    book: Contract
    start_block: int
    confirmations: int
    settings: OracleSettings

    @classmethod
    def connect(cls, settings: OracleSettings) -> Chain:
        w3 = Rpc(settings.rpc_url, settings.rpc_timeout).w3
        chain_id = rpc_call(settings, lambda: w3.eth.chain_id, "eth_chainId")
        if settings.chain_id is not None and settings.chain_id != chain_id:
            raise RuntimeError(
                f"RPC serves chain {chain_id}, configured PEERLEND_ORACLE_CHAIN_ID is {settings.chain_id}"
            )
        deployment = settings.load_deployment(chain_id)
        oracle = w3.eth.contract(address=deployment.contracts["CreditOracle"], abi=CREDIT_ORACLE_ABI)
        book = w3.eth.contract(address=deployment.book, abi=LOAN_BOOK_ABI)
        return cls(
            w3=w3,
            chain_id=chain_id,
            oracle=oracle,
            book=book,
            start_block=deployment.start_block,
            confirmations=settings.confirmations_for(chain_id),
            settings=settings,
        )

    def call(self, fn: Callable[[], T], what: str) -> T:
        return rpc_call(self.settings, fn, what)

    def head(self) -> int:
        return self.call(lambda: self.w3.eth.block_number, "eth_blockNumber")

    def safe_head(self) -> int:
        """The newest block with `confirmations` blocks on top."""
        return self.head() - self.confirmations

    def get_logs(self, event, from_block: int, to_block: int, topics: dict[str, Any] | None = None) -> list:
        """Decoded logs of `event` in [from_block, to_block], in chunks of log_chunk_blocks, in order."""
        out = []
        step = self.settings.log_chunk_blocks
        start = from_block
        while start <= to_block:
            end = min(to_block, start + step - 1)
            out += self.call(
                lambda a=start, b=end: event.get_logs(
                    from_block=a, to_block=b, argument_filters=topics or None
                ),
                f"eth_getLogs {event.event_name} {start}..{end}",
            )
            start = end + 1
        return out

    def block_timestamp(self, number: int) -> int:
        return self.call(lambda: self.w3.eth.get_block(number)["timestamp"], f"eth_getBlockByNumber {number}")

    def has_oracle_role(self, address: str) -> bool:
        role = self.call(lambda: self.oracle.functions.ORACLE_ROLE().call(), "ORACLE_ROLE()")
        return self.call(lambda: self.oracle.functions.hasRole(role, address).call(), "hasRole()")
