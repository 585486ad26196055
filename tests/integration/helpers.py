"""Helpers of the integration tests: a fresh deployment through ape (connected by the
`ape_network` fixture), its contracts as ape objects, and onboarding test accounts."""

from __future__ import annotations

from typing import Any

from peerlend.vocabulary import DAY

UNIT = 10**6  # TestStablecoin has 6 decimals
MODEL_ID = b"\x42" * 32  # a model id for scores pushed by hand


def deploy_fresh() -> tuple[dict[str, Any], dict[str, Any]]:
    """New contracts on the connected chain with the local parameters: (record, {name: contract})."""
    from ape import accounts

    from peerlend.deploy import deploy_all, load_params

    record = deploy_all(accounts.test_accounts[0], load_params("local"), reuse=False, echo=lambda *_: None)
    return record, contracts_of(record)


def contracts_of(record: dict[str, Any]) -> dict[str, Any]:
    from ape import project

    return {name: getattr(project, name).at(entry["address"]) for name, entry in record["contracts"].items()}


def onboard(contracts: dict[str, Any], accounts: list, *, mint: int = 100_000 * UNIT, identity_seed: int = 0):
    """Mints `mint` tUSD to each account and KYC-attests it for a year (attester: test account 2)."""
    from ape import accounts as ape_accounts
    from ape import chain

    test = ape_accounts.test_accounts
    for i, account in enumerate(accounts):
        contracts["TestStablecoin"].mint(account, mint, sender=test[0])
        contracts["IdentityRegistry"].attest(
            account, bytes([identity_seed + i + 1]) * 32, chain.pending_timestamp + 365 * DAY, sender=test[2]
        )
