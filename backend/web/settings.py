"""Web app settings (environment, like the indexer's): where the oracle service answers, and
which RPC URL a wallet should add for the local chain."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEERLEND_", env_file=".env", extra="ignore")

    oracle_url: str | None = None
    """The oracle service (`peerlend-oracle serve`); the page reaches it through `/oracle/`."""
    public_rpc_url: str | None = None
    """The RPC URL offered to wallets by wallet_addEthereumChain (default: the indexer's)."""
