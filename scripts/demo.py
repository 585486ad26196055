"""The Peerlend demo: `ape run demo --network ethereum:local:foundry` (run by `make demo`).

Plays the story in peerlend/demo.py on a local chain: KYC, real credit scores from the model
trained on Lending Club data, five loans through every path, then a summary.
"""

from __future__ import annotations

import json
import os

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

from peerlend.settings import LOCAL_CHAIN_IDS
from scripts._demo import scoring
from scripts._demo import story as demo


@click.command(cls=ConnectedProviderCommand)
@click.option(
    "--summary-json", type=click.Path(dir_okay=False), default=None, help="also write the summary here"
)
def cli(summary_json):
    """Run the demo story on a local chain."""
    if chain.chain_id not in LOCAL_CHAIN_IDS:
        raise click.UsageError("the demo moves the chain's clock: run it on a local anvil only")
    oracle_url = os.environ.get("PEERLEND_ORACLE_URL")
    scorer = scoring.via_service(oracle_url) if oracle_url else scoring.in_process()
    story = demo.run_story(accounts, chain, project, scorer, echo=click.echo)
    summary = demo.summarize(story)
    demo.print_summary(summary, echo=click.echo, api_url=os.environ.get("PEERLEND_API_URL"))
    demo.print_cast(story.cast, accounts, echo=click.echo)
    if summary_json:
        with open(summary_json, "w") as handle:
            json.dump({"summary": summary, "loans": story.loans, "notes": story.notes}, handle, indent=2)
