"""Which contracts to index: the deployment record `deployments/<chain_id>.json`."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from backend import abi
from peerlend.deployments import abi_hash

log = logging.getLogger(__name__)


class DeploymentError(RuntimeError):
    pass


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    start_block: int
    contracts: dict[str, str]  # indexed contract name -> checksummed address
    tokens: tuple[str, ...]
    abi_mismatches: tuple[str, ...]  # contracts whose deployed ABI hash differs from the vendored ABI
    path: Path

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps({"chain_id": self.chain_id, "contracts": self.contracts}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def book(self) -> str:
        return self.contracts["LoanBook"]


def load_deployment(path: Path, chain_id: int) -> Deployment:
    if not path.exists():
        raise DeploymentError(
            f"no deployment record at {path}: deploy first (`ape run deploy`) or set PEERLEND_DEPLOYMENT_FILE"
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
            "deployed ABI of %s differs from backend/abi (run `python -m backend.abi` after `ape compile`)",
            ", ".join(mismatches),
        )
    return Deployment(
        chain_id=chain_id,
        start_block=int(record.get("start_block", 0)),
        contracts=contracts,
        tokens=tuple(to_checksum_address(t) for t in record.get("tokens", [])),
        abi_mismatches=tuple(mismatches),
        path=path,
    )
