"""Deployment records: `<deployments dir>/<chain_id>.json`, one per chain.

The record is the single place where scripts, the oracle service, the indexer and the wallet
CLI learn contract addresses; `load_deployment` is the one reader and `save` the one writer
(atomic, so a crash mid-write never leaves a half file behind).

The folder is a setting: `PEERLEND_DEPLOYMENTS_DIR`, default `./deployments` in the working
directory (where `ape run deploy` writes it in a checkout). Services may also name one record
file directly (`ChainSettings.deployment_file`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from peerlend import abi

log = logging.getLogger(__name__)

DIRECTORY_ENV = "PEERLEND_DEPLOYMENTS_DIR"
DEFAULT_DIRECTORY = Path("deployments")


class DeploymentError(RuntimeError):
    """A deployment record is missing, malformed, or not the one this database or chain has."""


class DeploymentNotFound(DeploymentError, LookupError):
    """No deployment record exists for the requested chain."""


def default_directory() -> Path:
    """`$PEERLEND_DEPLOYMENTS_DIR`, else `./deployments`."""
    return Path(os.environ.get(DIRECTORY_ENV) or DEFAULT_DIRECTORY)


def path_for(chain_id: int, directory: Path | None = None) -> Path:
    return Path(directory or default_directory()) / f"{chain_id}.json"


def abi_hash(abi_entries: list[dict[str, Any]]) -> str:
    """sha256 of the canonical JSON ABI: tells clients whether their ABI matches the deployed one."""
    canonical = json.dumps(abi_entries, sort_keys=True, separators=(",", ":"))
    return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Deployment:
    """One chain's deployment record, checked and typed."""

    chain_id: int
    start_block: int
    contracts: dict[str, str]  # every contract with a vendored ABI (`abi.INDEXED`) -> checksummed address
    tokens: tuple[str, ...]  # allow-listed tokens, checksummed
    abi_mismatches: tuple[str, ...]  # contracts whose deployed ABI hash differs from the vendored ABI
    path: Path
    record: dict[str, Any] = field(compare=False, repr=False)  # the JSON as written by `deploy_all`

    @property
    def fingerprint(self) -> str:
        """Identifies the deployment (chain and addresses): a database indexes exactly one."""
        canonical = json.dumps({"chain_id": self.chain_id, "contracts": self.contracts}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def book(self) -> str:
        return self.contracts["LoanBook"]

    def address(self, name: str) -> str:
        """The checksummed address of contract `name`, including ones without a vendored ABI."""
        if name in self.contracts:
            return self.contracts[name]
        entry = self.record.get("contracts", {}).get(name)
        if entry is None:
            raise DeploymentError(f"{self.path} has no {name}")
        return to_checksum_address(entry["address"])


def check_database_deployment(
    stored: str | None, current: str, *, remedy: str, error: type[Exception] = DeploymentError
) -> None:
    """The one guard that a database belongs to one deployment: the indexer's and the oracle
    service's databases record which deployment they were built from (`stored`, None when new)
    and refuse any other (`current`), since their cursors and rows would be wrong there."""
    if stored is not None and stored != current:
        raise error(f"this database belongs to another deployment ({stored}, not {current}); {remedy}")


def load_deployment(chain_id: int, path: Path | None = None) -> Deployment:
    """The record of `chain_id` at `path` (default `<deployments dir>/<chain_id>.json`).

    Raises `DeploymentNotFound` if there is none, `DeploymentError` if it is for another chain
    or lacks a contract. A deployed ABI that differs from the vendored one is logged and listed
    in `abi_mismatches`, not fatal: the events the services read may be unchanged.
    """
    path = Path(path) if path is not None else path_for(chain_id)
    if not path.exists():
        raise DeploymentNotFound(
            f"no deployment record for chain {chain_id} at {path}: deploy first (`ape run deploy`)"
        )
    record = json.loads(path.read_text())
    if int(record["chain_id"]) != chain_id:
        raise DeploymentError(f"{path} is for chain {record['chain_id']}, the RPC serves chain {chain_id}")
    contracts, mismatches = {}, []
    for name in abi.INDEXED:
        entry = record["contracts"].get(name)
        if entry is None:
            raise DeploymentError(f"{path} has no {name}")
        contracts[name] = to_checksum_address(entry["address"])
        if entry.get("abi_hash") and entry["abi_hash"] != abi_hash(abi.load(name)):
            mismatches.append(name)
    if mismatches:
        log.warning(
            "deployed ABI of %s differs from peerlend/abi (run `python -m peerlend.abi` after `ape compile`)",
            ", ".join(mismatches),
        )
    return Deployment(
        chain_id=chain_id,
        start_block=int(record.get("start_block", 0)),
        contracts=contracts,
        tokens=tuple(to_checksum_address(t) for t in record.get("tokens", [])),
        abi_mismatches=tuple(mismatches),
        path=path,
        record=record,
    )


def save(record: dict[str, Any], directory: Path | None = None) -> Path:
    """Writes `record` to `<directory>/<chain_id>.json` atomically; returns the path."""
    path = path_for(int(record["chain_id"]), directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deploy-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
    return path
