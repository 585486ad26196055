"""Deployment records: `deployments/<chain_id>.json`, one per chain.

The file is the single place where scripts, the oracle service, the indexer and the
wallet CLI learn contract addresses. It is written atomically so a crash mid-write
never leaves a half file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPLOYMENTS_DIR = Path(os.environ.get("PEERLEND_DEPLOYMENTS_DIR", ROOT / "deployments"))


class DeploymentNotFound(LookupError):
    """No deployment record exists for the requested chain."""


def path_for(chain_id: int, directory: Path | None = None) -> Path:
    return (directory or DEPLOYMENTS_DIR) / f"{chain_id}.json"


def abi_hash(abi: list[dict[str, Any]]) -> str:
    """sha256 of the canonical JSON ABI: tells clients whether their ABI matches the deployed one."""
    canonical = json.dumps(abi, sort_keys=True, separators=(",", ":"))
    return "0x" + hashlib.sha256(canonical.encode()).hexdigest()


def load(chain_id: int, directory: Path | None = None) -> dict[str, Any]:
    path = path_for(chain_id, directory)
    if not path.exists():
        raise DeploymentNotFound(f"no deployment for chain {chain_id} at {path}; run `ape run deploy` first")
    return json.loads(path.read_text())


def save(record: dict[str, Any], directory: Path | None = None) -> Path:
    path = path_for(int(record["chain_id"]), directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deploy-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)
    return path
