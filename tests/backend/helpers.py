"""Helpers of the backend tests: the deployed lifecycle chain, indexer settings for it, syncing
to the head, comparing two databases row by row, and sending a transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from backend.db.session import migrate
from backend.indexer.sync import Indexer
from backend.settings import Settings
from peerlend import abi
from peerlend.db import make_engine
from peerlend.devchain import Anvil
from tests.backend.lifecycle import Scenario


@dataclass
class Chain:
    anvil: Anvil
    url: str
    deployments_dir: Path
    record: dict
    scenario: Scenario
    w3: Web3

    def contract(self, name: str):
        return self.w3.eth.contract(address=self.record["contracts"][name]["address"], abi=abi.load(name))

    @property
    def book(self):
        return self.contract("LoanBook")

    @property
    def lens(self):
        return self.contract("LoanLens")


def make_settings(chain: Chain, database_url: str, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        rpc_url=chain.url,
        deployments_dir=chain.deployments_dir,
        confirmations=0,
        poll_interval=0.05,
        backoff_max=0.5,
    )
    values.update(overrides)
    return Settings(**values)


def sync_to_head(settings: Settings, engine=None, **indexer_kw) -> Indexer:
    engine = engine or make_engine(settings.database_url)
    migrate(engine)
    indexer = Indexer(settings, engine, **indexer_kw)
    indexer.run(exit_at_head=True)
    return indexer


def dump(engine, skip: tuple[str, ...] = ()) -> dict[str, list]:
    """Every row of every table, with surrogate event ids replaced by (tx_hash, log_index),
    so two databases built by different runs (or dialects) compare equal when their content is."""
    import json

    from sqlalchemy import select

    from backend.db.models import Event, metadata

    def norm(value):
        if isinstance(value, dict | list):
            return json.dumps(value, sort_keys=True)
        return value

    out = {}
    with engine.connect() as conn:
        ids = {
            row.id: (row.tx_hash, row.log_index)
            for row in conn.execute(select(Event.id, Event.tx_hash, Event.log_index))
        }
        for table in metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = []
            for row in conn.execute(select(table)):
                data = dict(row._mapping)
                if table.name == "event":
                    data.pop("id")
                if table.name == "sync_state":  # this database's reorg history, not chain content
                    data.pop("reorgs")
                    data.pop("last_reorg_block")
                if "event_id" in data:
                    data["event_id"] = ids[data["event_id"]]
                rows.append(tuple(sorted((key, norm(value)) for key, value in data.items())))
            out[table.name] = sorted(rows, key=repr)
    return out


def send(chain: Chain, contract: str, fn: str, *args, sender: str):
    """A transaction from one of anvil's unlocked accounts; returns the receipt."""
    tx_hash = getattr(chain.contract(contract).functions, fn)(*args).transact({"from": sender})
    receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1, f"{contract}.{fn}{args} reverted"
    return receipt
