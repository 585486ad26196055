"""Backend fixtures: one anvil per test process with the full lifecycle of `lifecycle.py`
deployed and driven through ape, then indexed into SQLite (and PostgreSQL when available).

ape is connected only while the chain is built; the tests talk to the chain with web3 and
the vendored ABIs, as the indexer does.
"""

from __future__ import annotations

import functools
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from backend.db.session import migrate
from backend.indexer.sync import Indexer
from backend.settings import Settings
from peerlend import abi, deployments
from peerlend.db import make_engine
from peerlend.devchain import Anvil
from tests.backend.lifecycle import Scenario, drive

POSTGRES_URL_ENV = "PEERLEND_TEST_POSTGRES_URL"


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


def connect_ape(url: str):
    from ape import networks

    os.environ["APE_FOUNDRY_HOST"] = url
    return networks.parse_network_choice("ethereum:local:foundry")


@pytest.fixture(scope="session")
def chain(tmp_path_factory) -> Chain:
    from ape import accounts

    from peerlend.deploy import deploy_all, load_params

    node = Anvil(accounts=20).start()
    previous = os.environ.get("APE_FOUNDRY_HOST")
    try:
        with connect_ape(node.url):
            record = deploy_all(
                accounts.test_accounts[0], load_params("local"), reuse=False, echo=lambda *_: None
            )
            scenario = drive(record)
        directory = tmp_path_factory.mktemp("deployments")
        deployments.save(record, directory)
        yield Chain(node, node.url, directory, record, scenario, Web3(Web3.HTTPProvider(node.url)))
    finally:
        if previous is None:
            os.environ.pop("APE_FOUNDRY_HOST", None)
        else:
            os.environ["APE_FOUNDRY_HOST"] = previous
        node.stop()


def make_settings(chain: Chain, database_url: str, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        rpc_url=chain.url,
        deployments_dir=chain.deployments_dir,
        confirmations=0,
        poll_interval=0.05,
        max_backoff=0.5,
    )
    values.update(overrides)
    return Settings(**values)


def sync_to_head(settings: Settings, engine=None, **indexer_kw) -> Indexer:
    engine = engine or make_engine(settings.database_url)
    migrate(engine)
    indexer = Indexer(settings, engine, **indexer_kw)
    indexer.run(exit_at_head=True)
    return indexer


# ---------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------


def postgres_required() -> bool:
    return os.environ.get("PEERLEND_REQUIRE_POSTGRES", "").lower() not in ("", "0", "false", "no")


@functools.cache
def postgres_status() -> tuple[str | None, str | None]:
    """(admin URL, None) if the PostgreSQL server in PEERLEND_TEST_POSTGRES_URL answers, else (None, reason)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        url = os.environ["DATABASE_URL"]
    if not url:
        return (
            None,
            f"{POSTGRES_URL_ENV} is not set (scripts/ci_postgres.sh starts a server and prints its URL)",
        )
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3):
            return url, None
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"


def postgres_param():
    """The "postgres" parameter of `any_db`: skipped at collection when no server answers, unless
    PEERLEND_REQUIRE_POSTGRES is set (then the test fails). Skipping at collection, not inside a
    fixture, keeps titanoboa's per-fixture anchors (its pytest plugin) balanced."""
    url, reason = postgres_status()
    marks = [] if url or postgres_required() else [pytest.mark.skip(reason=f"no PostgreSQL server: {reason}")]
    return pytest.param("postgres", marks=marks)


@pytest.fixture
def postgres_db():
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server, reason = postgres_status()
    if server is None:
        pytest.fail(f"PEERLEND_REQUIRE_POSTGRES is set but PostgreSQL is not usable: {reason}")
    name = f"peerlend_test_{uuid.uuid4().hex[:12]}"
    admin = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", postgres_param()])
def any_db(request, tmp_path):
    """A fresh database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'peerlend.db'}"
    return request.getfixturevalue("postgres_db")


@pytest.fixture(scope="session")
def indexed(chain, tmp_path_factory):
    """The lifecycle chain indexed into a SQLite database: (settings, engine, indexer)."""
    path = tmp_path_factory.mktemp("db") / "indexed.db"
    settings = make_settings(chain, f"sqlite:///{path}")
    engine = make_engine(settings.database_url)
    indexer = sync_to_head(settings, engine)
    return settings, engine, indexer


# ---------------------------------------------------------------------------
# Comparing databases
# ---------------------------------------------------------------------------


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
