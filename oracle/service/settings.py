"""Oracle service settings, read from the environment (pydantic-settings).

Every setting has an environment variable `PEERLEND_ORACLE_<NAME>` (e.g. `PEERLEND_ORACLE_RPC_URL`);
a `.env` file in the working directory is read too. The signing key comes either from an
encrypted keystore (`PEERLEND_ORACLE_KEYSTORE` + `PEERLEND_ORACLE_PASSWORD`) or, for development
only, from a raw key in `PEERLEND_ORACLE_PRIVATE_KEY`. Secrets are `SecretStr`: they never show in
`repr`, logs or error messages.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from peerlend.settings import ChainSettings
from peerlend.vocabulary import MAX_BATCH, MAX_TTL, MIN_TTL


class OracleSettings(ChainSettings):
    """The service's settings: the chain fields of `ChainSettings` (rpc_url, rpc_timeout,
    deployments_dir, deployment_file, confirmations, backoff_base, backoff_max) plus the ones below."""

    model_config = SettingsConfigDict(env_prefix="PEERLEND_ORACLE_", env_file=".env", extra="ignore")

    # chain
    chain_id: int | None = Field(None, description="Expected chain id; default: whatever the RPC reports.")
    log_chunk_blocks: int = Field(5_000, ge=1, description="Largest eth_getLogs block range per call.")

    # storage and model
    db_url: str = Field(
        "sqlite:///.run/oracle.db",
        description="SQLAlchemy URL of the service database (default .run/oracle.db in the working directory).",
    )
    model_path: Path | None = Field(None, description="The model artifact (model-<sha12>.json); required.")
    model_id: str | None = Field(
        None, description="Expected model id (0x sha256 of the artifact); any other artifact is refused."
    )

    # pushing
    batch_size: int = Field(64, ge=1, le=MAX_BATCH, description="Most accounts per push_scores transaction.")
    ttl_seconds: int = Field(30 * 86_400, ge=MIN_TTL, le=MAX_TTL, description="Validity of a pushed score.")
    poll_interval: float = Field(2.0, ge=0, description="Seconds between worker iterations when idle.")
    gas_multiplier: float = Field(1.25, ge=1.0, description="Safety factor on eth_estimateGas.")
    max_fee_gwei: float | None = Field(None, gt=0, description="Ceiling of maxFeePerGas; default: none.")
    replace_after_seconds: float = Field(
        180.0,
        gt=0,
        description="Re-sign an unmined push with the same nonce and higher fees after this long.",
    )
    receipt_wait_seconds: float = Field(10.0, ge=0, description="How long one iteration waits for a receipt.")
    receipt_deadline_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a push whose nonce is used but whose receipt is not served yet waits "
        "for it (by hash) before it counts as dropped.",
    )
    max_queued: int = Field(
        10_000,
        ge=1,
        description="Most requests queued or pushing; the ScoreRequested scan pauses while the queue is full.",
    )
    rpc_retries: int = Field(5, ge=0, description="Retries of one RPC call on transient errors.")

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8100
    max_signature_age: int = Field(
        600, ge=1, description="Oldest accepted issued_at of a signed application (s)."
    )
    max_clock_skew: int = Field(60, ge=0, description="How far in the future issued_at may be (s).")

    # key: an encrypted keystore + password, or (dev only) a raw key
    keystore: Path | None = Field(
        None, description="Encrypted JSON keystore (Web3 Secret Storage) of the oracle key."
    )
    password: SecretStr | None = Field(None, description="Password of the keystore.")
    private_key: SecretStr | None = Field(None, description="Raw hex key; development only.")

    @model_validator(mode="after")
    def _one_key_source(self) -> OracleSettings:
        if self.keystore is not None and self.private_key is not None:
            raise ValueError("set either PEERLEND_ORACLE_KEYSTORE or PEERLEND_ORACLE_PRIVATE_KEY, not both")
        return self
