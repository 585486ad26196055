"""The chain settings every service shares (pydantic-settings); each service subclasses
`ChainSettings` with its own environment prefix (`PEERLEND_` for the indexer,
`PEERLEND_ORACLE_` for the oracle service) and adds its own fields.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from peerlend.deployments import DEFAULT_DIRECTORY, Deployment, load_deployment

# Development chains (anvil, ganache/hardhat): no reorgs worth waiting for, test accounts funded.
LOCAL_CHAIN_IDS = frozenset({1337, 31337})
PUBLIC_CHAIN_CONFIRMATIONS = 12


def is_local_chain(chain_id: int) -> bool:
    return chain_id in LOCAL_CHAIN_IDS


class ChainSettings(BaseSettings):
    """Where the chain is, how patiently to talk to it, and which deployment record to trust."""

    rpc_url: str = Field("http://127.0.0.1:8545", description="JSON-RPC endpoint (http/https).")
    rpc_timeout: float = Field(10.0, gt=0, description="Seconds before one RPC request times out.")
    deployments_dir: Path = Field(
        DEFAULT_DIRECTORY, description="Where <chain_id>.json lives (default ./deployments)."
    )
    deployment_file: Path | None = Field(
        None, description="Explicit deployment record; overrides deployments_dir."
    )
    confirmations: int | None = Field(
        None,
        ge=0,
        description="Blocks on top before a block counts; default 0 on local chains (1337, 31337), 12 elsewhere.",
    )
    # the retry policy (peerlend.retry) after RPC or database errors
    backoff_base: float = Field(0.5, gt=0, description="First retry delay (s); doubles per retry.")
    backoff_max: float = Field(30.0, gt=0, description="Ceiling of the retry delay (s).")

    def confirmations_for(self, chain_id: int) -> int:
        if self.confirmations is not None:
            return self.confirmations
        return 0 if is_local_chain(chain_id) else PUBLIC_CHAIN_CONFIRMATIONS

    def deployment_path(self, chain_id: int) -> Path:
        return self.deployment_file or (self.deployments_dir / f"{chain_id}.json")

    def load_deployment(self, chain_id: int) -> Deployment:
        return load_deployment(chain_id, self.deployment_path(chain_id))
