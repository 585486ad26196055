"""对账: zero mismatches after the lifecycle; planted SQL edits are caught, by the API and by
`peerlend-indexer reconcile` (non-zero exit)."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update
from sqlmodel import Session

from backend.cli import main
from backend.core.reconcile import reconcile
from backend.db.models import Loan, Note, Token
from backend.settings import get_settings
from peerlend.db import make_engine
from tests.backend.helpers import make_settings, sync_to_head


def run_cli(chain, database_url: str, monkeypatch, *args):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PEERLEND_RPC_URL", chain.url)
    monkeypatch.setenv("PEERLEND_DEPLOYMENTS_DIR", str(chain.deployments_dir))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, ["reconcile", *args])
    finally:
        get_settings.cache_clear()


@pytest.fixture
def own_db(chain, any_db):
    """A database of its own (this test edits rows), indexed to the lifecycle's end."""
    settings = make_settings(chain, any_db)
    engine = make_engine(any_db)
    indexer = sync_to_head(settings, engine)
    return engine, indexer, any_db


def test_clean_then_planted_mismatches(chain, own_db, monkeypatch):
    engine, indexer, url = own_db
    sc = chain.scenario
    with Session(engine) as session:
        report = reconcile(session, indexer.rpc, indexer.deployment)
    assert report.ok and report.mismatches == []
    assert sum(report.checked.values()) > 250

    result = run_cli(chain, url, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "0 mismatches" in result.output

    # Plant: an active loan's principal outstanding, a claim that never happened, a reserve row.
    active = sc.loans["overdue_45"]
    with Session(engine) as session:
        session.exec(update(Loan).where(Loan.id == active).values(principal_outstanding=1))
        note = session.get(Note, sc.notes["unclaimed"])
        note.claimed += 5
        session.get(Token, sc.token).reserve += 7
        session.commit()
    with Session(engine) as session:
        report = reconcile(session, indexer.rpc, indexer.deployment)
    found = {(m.scope, m.key, m.field) for m in report.mismatches}
    assert ("loan", str(active), "principal_outstanding") in found
    identity_a = (
        "0x" + chain.contract("IdentityRegistry").functions.attestation(sc.borrower_a).call()[0].hex()
    )
    assert ("exposure", f"{identity_a}/{sc.token}", "exposure") in found  # outstanding feeds exposure
    assert ("note", str(sc.notes["unclaimed"]), "claimed") in found
    assert ("note", str(sc.notes["unclaimed"]), "claimable") in found
    assert ("token", sc.token, "held") in found  # recomputed from note rows
    assert ("token", sc.token, "reserve (token row)") in found
    wrong = next(m for m in report.mismatches if m.field == "principal_outstanding")
    assert wrong.sql == 1 and wrong.chain == 2_000 * 10**6

    result = run_cli(chain, url, monkeypatch)
    assert result.exit_code == 1
    assert f"MISMATCH loan {active} principal_outstanding: sql=1 chain=2000000000" in result.output
    as_json = run_cli(chain, url, monkeypatch, "--json")
    assert as_json.exit_code == 1 and '"ok": false' in as_json.output


def test_planted_status_mismatch(chain, indexed, tmp_path):
    """A loan row whose status was edited (REPAID → ACTIVE) is reported."""
    settings, engine, indexer = indexed
    path = tmp_path / "copy.db"
    with sqlite3.connect(settings.database_url.split("///", 1)[1]) as source, sqlite3.connect(path) as target:
        source.backup(target)  # WAL-safe copy
    copy = make_engine(f"sqlite:///{path}")
    with copy.begin() as conn:
        conn.execute(
            text("UPDATE loan SET status = 'ACTIVE' WHERE id = :id"), {"id": chain.scenario.loans["repaid"]}
        )
    with Session(copy) as session:
        report = reconcile(session, indexer.rpc, indexer.deployment)
    assert ("loan", str(chain.scenario.loans["repaid"]), "status") in {
        (m.scope, m.key, m.field) for m in report.mismatches
    }


def test_nothing_indexed_is_an_error(chain, tmp_path, monkeypatch):
    """An empty database used to reconcile as "0 checks, 0 mismatches", exit 0."""
    result = run_cli(chain, f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch)
    assert result.exit_code == 2, result.output
    assert "nothing indexed in this database yet" in result.output
    assert "0 mismatches" not in result.output


def test_another_chain_is_an_error(chain, indexed, tmp_path, monkeypatch):
    from peerlend.devchain import Anvil

    settings, engine, _ = indexed
    path = tmp_path / "copy.db"
    with sqlite3.connect(settings.database_url.split("///", 1)[1]) as source, sqlite3.connect(path) as target:
        source.backup(target)
    url = f"sqlite:///{path}"
    # A different chain with the same chain id (a fresh anvil): the indexed block is not its block.
    with Anvil() as other:
        mine = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "anvil_mine",
            "params": [hex(chain.scenario.end_block + 1)],
        }
        assert "error" not in httpx.post(other.url, json=mine).json()
        monkeypatch.setenv("PEERLEND_RPC_URL", other.url)
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("PEERLEND_DEPLOYMENTS_DIR", str(chain.deployments_dir))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(main, ["reconcile"])
        finally:
            get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert f"the chain's block {chain.scenario.end_block} is not the indexed one" in result.output
    # A database that indexes another chain id.
    with make_engine(url).begin() as conn:
        conn.execute(text("UPDATE sync_state SET chain_id = 5"))
    result = run_cli(chain, url, monkeypatch)
    assert (
        result.exit_code == 2
        and "this database indexes chain 5, but the RPC serves chain 31337" in result.output
    )


def test_reconcile_cli_without_chain(chain, tmp_path, monkeypatch):
    monkeypatch.setenv("PEERLEND_RPC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["reconcile"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "cannot reconcile" in result.output


def test_reset_command(chain, tmp_path, monkeypatch):
    """`reset` empties the database so it can index another deployment; a re-run rebuilds it."""
    from sqlalchemy import func, select

    from backend.db.models import Event

    url = f"sqlite:///{tmp_path / 'reset.db'}"
    engine = make_engine(url)
    sync_to_head(make_settings(chain, url), engine)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["reset", "--yes"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        assert session.scalar(select(func.count()).select_from(Loan)) == 0
    sync_to_head(make_settings(chain, url), engine)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Loan)) == 10


def test_every_kind_of_drift_is_reported(chain, indexed, tmp_path):
    """One planted difference per kind of served field with an on-chain counterpart, in a copy of
    the indexed database: reconcile names each (scope, key, field)."""
    from backend.db.models import Identity, Score

    settings, engine, indexer = indexed
    sc = chain.scenario
    path = tmp_path / "drift.db"
    with sqlite3.connect(settings.database_url.split("///", 1)[1]) as source, sqlite3.connect(path) as target:
        source.backup(target)
    copy = make_engine(f"sqlite:///{path}")
    repaid, defaulted, active = sc.loans["repaid"], sc.loans["defaulted"], sc.loans["overdue_45"]
    with Session(copy) as session:
        session.get(Loan, repaid).apr_bps += 1  # the loan record
        session.get(Loan, defaulted).coverage_bps += 1  # a frozen term
        session.get(Loan, active).penalty_charged += 1  # the ledger
        session.get(Loan, defaulted).default_cover += 1  # the default record
        session.get(Note, sc.notes["sold"]).owner = sc.lenders[0]  # the owner (a sale missed)
        session.get(Note, sc.notes["l2_loan1"]).share += 1  # the note record
        token = session.get(Token, sc.token)
        token.fees += 3  # the fee balance
        token.allowed = False
        blocked = session.get(Identity, "0x000000000000000000000000000000000000bEEF")
        blocked.blocked = False  # KYC / blocklist
        latest = session.scalars(
            select(Score).where(Score.account == sc.borrower_a).order_by(Score.event_id.desc())
        ).first()
        latest.score += 1  # the oracle's score
        session.delete(session.get(Note, sc.notes["l2_loan9"]))  # a note never indexed
        session.commit()
    with Session(copy) as session:
        report = reconcile(session, indexer.rpc, indexer.deployment)
    found = {(m.scope, m.key, m.field) for m in report.mismatches}
    expected = {
        ("loan", str(repaid), "apr_bps"),
        ("loan", str(defaulted), "terms.coverage_bps"),
        ("loan", str(active), "ledger.penalty_charged"),
        ("loan", str(defaulted), "default.cover"),
        ("note", str(sc.notes["sold"]), "owner"),
        ("note", str(sc.notes["l2_loan1"]), "share"),
        ("token", sc.token, "fees (token row)"),
        ("token", sc.token, "allowed"),
        ("account", "0x000000000000000000000000000000000000bEEF", "kyc.blocked"),
        ("account", sc.borrower_a, "score"),
        ("totals", "LoanBook", "note_count"),
    }
    assert expected <= found, expected - found
    assert report.rpc_requests < report.calls / 50  # JSON-RPC batches, not one request per call
