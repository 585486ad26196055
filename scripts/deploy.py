"""Deploy Peerlend: `ape run deploy --network ethereum:local:foundry [--params local] [--account NAME]`.

On a local chain the deployer is the first test account and a test stablecoin is deployed;
on any other network pass `--account NAME` (an ape keystore or hardware-wallet account) and a
parameter file whose roles are addresses. Writes `deployments/<chain_id>.json`; re-running
reuses what is already deployed.
"""

from __future__ import annotations

import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand

from peerlend import deployments
from peerlend.deploy import deploy_all, load_params
from peerlend.settings import LOCAL_CHAIN_IDS


@click.command(cls=ConnectedProviderCommand)
@click.option("--account", "account_alias", default=None, help="ape account alias of the deployer")
@click.option(
    "--params",
    "params_name",
    default="local",
    show_default=True,
    help="deployments/params/<name>.json or a path",
)
@click.option("--fresh", is_flag=True, help="deploy new contracts even if a deployment record exists")
def cli(account_alias, params_name, fresh):
    """Deploy Peerlend and write deployments/<chain_id>.json."""
    if account_alias:
        deployer = accounts.load(account_alias)
    elif chain.chain_id in LOCAL_CHAIN_IDS:
        deployer = accounts.test_accounts[0]
    else:
        raise click.UsageError("on a public network pass --account NAME (see `ape accounts list`)")
    try:
        params = load_params(params_name)
    except FileNotFoundError as error:
        raise click.UsageError(str(error)) from None
    try:
        record = deploy_all(deployer, params, reuse=not fresh, echo=click.echo)
    except ValueError as error:  # a blank or wrong value in the params file
        raise click.UsageError(f"{params_name}: {error}") from None
    path = deployments.save(record)
    for name, entry in record["contracts"].items():
        click.echo(f"{name}: {entry['address']}")
    click.echo(f"deployment written to {path}")
