"""Indexer and API settings, read from the environment (pydantic-settings).

Every setting has an environment variable `PEERLEND_<NAME>` (the chain settings shared with
the oracle service are in `peerlend.settings.ChainSettings`); the database also reads the
conventional `DATABASE_URL`. A `.env` file in the working directory is read too.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from peerlend.settings import ChainSettings

ROOT = Path(__file__).resolve().parent.parent


class Settings(ChainSettings):
    """The indexer's settings: the chain fields of `ChainSettings` plus the database, the sync
    loop and the API."""

    model_config = SettingsConfigDict(
        env_prefix="PEERLEND_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        "sqlite:///peerlend.db",
        validation_alias=AliasChoices("DATABASE_URL", "PEERLEND_DATABASE_URL"),
        description="SQLAlchemy URL; postgresql://... uses psycopg 3.",
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
    backoff_base: float = Field(
        1.0, gt=0, description="First delay (s) after a failed poll; doubles per failure."
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_block_poll: float = Field(
        0.25,
        gt=0,
        description="Seconds between the API's checks for a newly indexed block (another process indexes).",
    )
    api_access_log: bool = Field(
        False, description="uvicorn's per-request access log (costs ~30% of throughput)."
    )

    # Risk operations (backend/risk, docs/risk_operations.md). Amount thresholds are in token
    # base units, per token address; a token without an entry is not checked by that rule.
    risk_top_n: int = Field(5, ge=1, le=100, description="Largest borrowers/lenders shown by concentration.")
    risk_concentration_warn_share: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Warn when one borrower or lender holds more than this share of outstanding.",
    )
    risk_pd_bands: dict[str, tuple[float, float]] | None = Field(
        None,
        description='PD band per grade letter, e.g. {"A": [0, 0.0244]}; default: the shipped model card\'s bands.',
    )
    risk_model_card: Path = Field(
        ROOT / "oracle" / "model" / "model_card.json",
        description="Model card JSON whose scaling.grades[].max_pd define the PD bands (when risk_pd_bands is unset).",
    )
    risk_drift_margin: float = Field(
        0.05,
        ge=0,
        le=1,
        description="How far outside its PD band a grade's observed rate may be before a warning.",
    )
    risk_drift_min_loans: int = Field(
        20, ge=1, description="Disbursed loans a grade needs before drift is judged (fewer: 'insufficient')."
    )
    risk_large_amount: dict[str, int] = Field(
        default_factory=dict,
        description="AML 'large transaction' threshold per token address, in base units.",
    )
    risk_in_out_window_seconds: int = Field(
        86_400,
        ge=1,
        description="AML 'in and out': a note funded or bought and passed on within this many seconds.",
    )
    risk_self_funding_lookback_seconds: int = Field(
        30 * 86_400,
        ge=1,
        description="AML self-funding: how far before a funding the lender's inflows are traced.",
    )
    risk_fan_out_wallets: int = Field(
        5,
        ge=2,
        description="AML one-source: this many new wallets first funded by one source raise an alert.",
    )
    risk_fan_out_window_seconds: int = Field(
        7 * 86_400, ge=1, description="AML one-source: the window in which those first fundings fall."
    )
    risk_trusted_sources: list[str] = Field(
        default_factory=list,
        description="Addresses never treated as a common source (exchange hot wallets, the treasury).",
    )
    risk_operator_token: str | None = Field(
        None, description="Bearer token required to acknowledge alerts (unset: acknowledgements are refused)."
    )
    risk_reminder_days: list[int] = Field(
        default_factory=lambda: [3],
        description="'Due in N days' reminders are sent N days before each due time.",
    )
    risk_reminder_max_age_seconds: int = Field(
        7 * 86_400,
        ge=0,
        description="Events older than this (block time) get no reminder (e.g. on a first start).",
    )
    risk_webhook_urls: list[str] = Field(
        default_factory=list, description="Endpoints every reminder is POSTed to (empty: webhooks off)."
    )
    risk_webhook_secret: str = Field("", description="HMAC-SHA256 key of the webhook signature header.")
    risk_webhook_timeout: float = Field(5.0, gt=0, description="Seconds per webhook request.")
    risk_webhook_max_attempts: int = Field(
        8, ge=1, description="Attempts before a delivery is marked failed."
    )
    risk_webhook_backoff: float = Field(
        2.0, gt=0, description="Seconds before the first retry; doubles per attempt."
    )
    risk_webhook_backoff_max: float = Field(600.0, gt=0, description="Ceiling of the retry delay.")
    risk_poll_interval: float = Field(2.0, gt=0, description="Seconds between passes of the risk monitor.")


@lru_cache
def get_settings() -> Settings:
    return Settings()
