"""Deploy Peerlend's contracts: `ape run deploy --network ethereum:local:foundry`.

On a local chain the deployer is the first test account and a test stablecoin is
deployed; elsewhere pass `--account NAME` (an ape keystore or hardware account).
The addresses go to `deployments/<chain_id>.json`.
"""

from __future__ import annotations

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

from peerlend import deployments

LOCAL_CHAIN_IDS = {1337, 31337}


def _deployer(account_alias: str | None):
    if account_alias:
        return accounts.load(account_alias)
    if chain.chain_id in LOCAL_CHAIN_IDS:
        return accounts.test_accounts[0]
    raise click.UsageError("on a public network pass --account NAME (see `ape accounts list`)")


def deploy_all(deployer) -> dict:
    """Deploys every contract for this chain and returns the deployment record."""
    record: dict = {"chain_id": chain.chain_id, "deployer": deployer.address, "contracts": {}}
    start_block = chain.blocks.head.number

    if chain.chain_id in LOCAL_CHAIN_IDS:
        stablecoin = deployer.deploy(project.TestStablecoin)
        record["contracts"]["TestStablecoin"] = {
            "address": stablecoin.address,
            "abi_hash": deployments.abi_hash([a.model_dump(mode="json") for a in stablecoin.contract_type.abi]),
        }

    record["start_block"] = start_block
    return record


@click.command(cls=ConnectedProviderCommand)
@click.option("--account", "account_alias", default=None, help="ape account alias of the deployer")
def cli(account_alias):
    """Deploy Peerlend and write deployments/<chain_id>.json."""
    deployer = _deployer(account_alias)
    record = deploy_all(deployer)
    path = deployments.save(record)
    for name, entry in record["contracts"].items():
        click.echo(f"{name}: {entry['address']}")
    click.echo(f"deployment written to {path}")
