"""Decoding raw logs of the indexed contracts into JSON-safe event arguments.

Argument encoding (what `event.args` stores and the API returns): integers as decimal
strings (uint256 does not fit a JSON number), bytes as 0x-hex, addresses EIP-55, structs as
objects, arrays as lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from eth_utils.abi import collapse_if_tuple

from peerlend import abi


@dataclass(frozen=True)
class DecodedLog:
    contract: str
    address: str
    name: str
    args: dict[str, Any]
    accounts: frozenset[str]
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int


@lru_cache(maxsize=65_536)
def checksum(address: str) -> str:
    return to_checksum_address(address)


# One 32-byte word each: decoded without eth_abi (the hot path of a backfill).
WORD_TYPES = frozenset({"address", "bool", "bytes32", "bytes4"} | {f"uint{n}" for n in range(8, 257, 8)})


def _word(kind: str, word: bytes) -> Any:
    if kind == "address":
        return "0x" + word[12:].hex()
    if kind == "bool":
        return word[-1] == 1
    if kind.startswith("bytes"):
        return word[: int(kind[5:])]
    return int.from_bytes(word, "big")


def _jsonify(value: Any, spec: dict[str, Any], accounts: set[str]) -> Any:
    kind = spec["type"]
    if kind.endswith("]"):
        inner = dict(spec, type=kind[: kind.rindex("[")])
        return [_jsonify(item, inner, accounts) for item in value]
    if kind == "tuple":
        return {
            component["name"]: _jsonify(item, component, accounts)
            for component, item in zip(spec["components"], value, strict=True)
        }
    if kind == "address":
        address = checksum(value)
        if int(address, 16):
            accounts.add(address)
        return address
    if kind.startswith(("uint", "int")):
        return str(value)
    if kind == "bool":
        return bool(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


class Decoder:
    def __init__(self, contracts: dict[str, str]):
        """`contracts`: {contract name: address}."""
        self.names = {address.lower(): name for name, address in contracts.items()}
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        for name in contracts:
            for entry in abi.load(name):
                if entry.get("type") == "event" and not entry.get("anonymous"):
                    topic = "0x" + event_abi_to_log_topic(entry).hex()
                    self.events[(name, topic)] = entry

    @property
    def addresses(self) -> list[str]:
        return [checksum(address) for address in self.names]

    def decode(self, log: dict[str, Any]) -> DecodedLog:
        address = log["address"].lower()
        contract = self.names.get(address, "unknown")
        topics = [topic if isinstance(topic, str) else "0x" + topic.hex() for topic in log["topics"]]
        data = bytes.fromhex(log["data"][2:]) if isinstance(log["data"], str) else bytes(log["data"])
        accounts: set[str] = set()
        entry = self.events.get((contract, topics[0].lower())) if topics else None
        if entry is None:
            name, args = "UnknownEvent", {"topics": topics, "data": "0x" + data.hex()}
        else:
            name = entry["name"]
            indexed = [item for item in entry["inputs"] if item.get("indexed")]
            plain = [item for item in entry["inputs"] if not item.get("indexed")]
            values: dict[str, Any] = {}
            for item, topic in zip(indexed, topics[1:], strict=True):
                word = bytes.fromhex(topic[2:])
                if item["type"] in WORD_TYPES:
                    value = _word(item["type"], word)
                else:
                    (value,) = abi_decode([collapse_if_tuple(item)], word)
                values[item["name"]] = _jsonify(value, item, accounts)
            if all(item["type"] in WORD_TYPES for item in plain) and len(data) == 32 * len(plain):
                decoded = [_word(item["type"], data[32 * i : 32 * i + 32]) for i, item in enumerate(plain)]
            else:
                decoded = abi_decode([collapse_if_tuple(item) for item in plain], data)
            for item, value in zip(plain, decoded, strict=True):
                values[item["name"]] = _jsonify(value, item, accounts)
            args = {item["name"]: values[item["name"]] for item in entry["inputs"]}
        return DecodedLog(
            contract=contract,
            address=checksum(address),
            name=name,
            args=args,
            accounts=frozenset(accounts),
            block_number=int(log["blockNumber"], 16),
            block_hash=log["blockHash"],
            tx_hash=log["transactionHash"],
            tx_index=int(log["transactionIndex"], 16),
            log_index=int(log["logIndex"], 16),
        )
