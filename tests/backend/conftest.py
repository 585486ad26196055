"""Backend fixtures: one anvil per test process with the full lifecycle of `lifecycle.py`
deployed and driven through ape, then indexed into SQLite (and PostgreSQL when available).
What tests import (settings, sync, dump, send) is in helpers.py, not here.

ape is connected only while the chain is built; the tests talk to the chain with web3 and
the vendored ABIs, as the indexer does.
"""

from __future__ import annotations

import functools
import os
import uuid

import pytest
from web3 import Web3

from peerlend import deployments
from peerlend.db import make_engine
from peerlend.devchain import Anvil, ape_connected
from tests.backend.helpers import Chain, make_settings, sync_to_head
from tests.backend.lifecycle import drive

POSTGRES_URL_ENV = "PEERLEND_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def chain(tmp_path_factory) -> Chain:
    from ape import accounts

    from peerlend.deploy import deploy_all, load_params

    node = Anvil(accounts=20).start()
    try:
        with ape_connected(node.url):
            record = deploy_all(
                accounts.test_accounts[0], load_params("local"), reuse=False, echo=lambda *_: None
            )
            scenario = drive(record)
        directory = tmp_path_factory.mktemp("deployments")
        deployments.save(record, directory)
        yield Chain(node, node.url, directory, record, scenario, Web3(Web3.HTTPProvider(node.url)))
    finally:
        node.stop()


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
