"""Indexer and API settings, read from the environment (pydantic-settings).

Every setting has an environment variable `PEERLEND_<NAME>`; the database also reads the
conventional `DATABASE_URL`. A `.env` file in the working directory is read too.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
LOCAL_CHAIN_IDS = frozenset({1337, 31337})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PEERLEND_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        "sqlite:///peerlend.db",
        validation_alias=AliasChoices("DATABASE_URL", "PEERLEND_DATABASE_URL"),
        description="SQLAlchemy URL; postgresql://... uses psycopg 3.",
    )
    rpc_url: str = Field("http://127.0.0.1:8545", description="JSON-RPC endpoint of the chain to index.")
    rpc_timeout: float = Field(10.0, gt=0, description="Seconds before one RPC request times out.")
    deployments_dir: Path = Field(
        ROOT / "deployments", description="Where deployments/<chain_id>.json lives."
    )
    deployment_file: Path | None = Field(
        None, description="Explicit deployment record; overrides deployments_dir."
    )
    confirmations: int | None = Field(
        None,
        ge=0,
        description="Blocks behind head to stay; default 0 on local chains (1337, 31337), 12 elsewhere.",
    )
    batch_blocks: int = Field(
        2_000, ge=1, description="Initial eth_getLogs range (blocks); adapts at run time."
    )
    min_batch_blocks: int = Field(1, ge=1)
    max_batch_blocks: int = Field(10_000, ge=1)
    poll_interval: float = Field(2.0, ge=0, description="Seconds between polls once caught up with the head.")
    sync_throttle: float = Field(
        0.0, ge=0, description="Seconds to sleep between batches (rate-limited RPCs)."
    )
    reorg_window: int = Field(
        64, ge=1, description="Newest stored block hashes re-checked against the chain per poll."
    )
    keep_block_hashes: int = Field(
        1_024, ge=16, description="Block hashes kept below the cursor; older ones are pruned."
    )
    max_backoff: float = Field(30.0, gt=0, description="Ceiling of the exponential backoff after RPC errors.")
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    def confirmations_for(self, chain_id: int) -> int:
        if self.confirmations is not None:
            return self.confirmations
        return 0 if chain_id in LOCAL_CHAIN_IDS else 12

    def deployment_path(self, chain_id: int) -> Path:
        return self.deployment_file or (self.deployments_dir / f"{chain_id}.json")


@lru_cache
def get_settings() -> Settings:
    return Settings()
