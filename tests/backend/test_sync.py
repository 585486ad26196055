"""The sync loop against the lifecycle chain: completeness, exactness, batching, RPC failures."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from backend.core import derive
from backend.core.reconcile import reconcile
from backend.db.models import Block, Event, Loan, SyncState, metadata
from backend.db.session import migrate
from backend.indexer.apply import replay
from backend.indexer.sync import Indexer
from peerlend.db import make_engine
from peerlend.deployments import DeploymentError
from peerlend.rpc import Rpc, RpcError
from tests.backend.helpers import dump, make_settings, sync_to_head


def chain_logs(chain) -> list[dict]:
    addresses = [
        chain.record["contracts"][name]["address"]
        for name in ("LoanBook", "LoanNote", "IdentityRegistry", "CreditOracle")
    ]
    return chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": chain.scenario.end_block, "address": addresses})


def test_lifecycle_indexed_exactly(chain, any_db):
    """Core test, on SQLite and PostgreSQL: every log is stored once, and all derived state
    (loans, ledgers, notes, balances, exposure) equals the contract's views at the indexed block."""
    settings = make_settings(chain, any_db)
    engine = make_engine(any_db)
    indexer = sync_to_head(settings, engine)
    logs = chain_logs(chain)
    with Session(engine) as session:
        state = session.get(SyncState, 31337)
        assert state.last_block == chain.scenario.end_block
        assert state.last_block_timestamp == chain.scenario.end_time
        stored = session.execute(select(Event.tx_hash, Event.log_index)).all()
        assert sorted(stored) == sorted((log["transactionHash"].to_0x_hex(), log["logIndex"]) for log in logs)
        assert session.scalar(select(func.count()).select_from(Loan)) == 10
        report = reconcile(session, indexer.rpc, indexer.deployment)
    assert report.mismatches == []
    assert report.checked["loan"] >= 9 * 20 and report.checked["note"] >= 12 and report.checked["token"] == 7


def test_replay_from_events_equals_incremental_state(chain, indexed):
    """Reorg recovery rebuilds derived tables from the event table, and the served state from
    them: it must give the same rows as the batch-by-batch path."""
    settings, engine, _ = indexed
    before = dump(engine)
    with Session(engine) as session:
        assert replay(session) == session.scalar(select(func.count()).select_from(Event))
        session.rollback()  # leave the shared database as it was
    copy = make_engine(f"sqlite:///{settings.database_url.split('///', 1)[1]}")
    with Session(copy) as session:
        replay(session)
        state = session.get(SyncState, 31337)
        derive.refresh(session, state.last_block, state.last_block_timestamp)
        session.flush()
        rows = {
            table.name: sorted(map(tuple, session.execute(select(table)).all()), key=repr)
            for table in metadata.sorted_tables
            if table.name
            in ("loan", "note", "repayment", "claim", "score", "identity", "token", "account", "snapshot")
        }
        session.rollback()
    with Session(engine) as session:
        original = {
            name: sorted(map(tuple, session.execute(select(metadata.tables[name])).all()), key=repr)
            for name in rows
        }
    # Surrogate ids are the same event ids in both (same event table).
    assert rows == original
    assert dump(engine) == before


def test_sync_is_idempotent(chain, indexed):
    settings, engine, _ = indexed
    before = dump(engine)
    indexer = Indexer(settings, engine)
    assert indexer.sync_once() is True
    assert indexer.status.events == 0
    assert dump(engine) == before


def test_batch_size_does_not_change_the_result(chain, indexed, tmp_path):
    """One block per batch (a transaction per block) ends in the same state as one big batch."""
    _, reference, _ = indexed
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'tiny.db'}", batch_blocks=1, max_batch_blocks=3)
    engine = make_engine(settings.database_url)
    indexer = sync_to_head(settings, engine)
    assert indexer.status.batches >= chain.scenario.end_block // 3
    assert dump(engine, skip=("block",)) == dump(reference, skip=("block",))
    with Session(engine) as session:
        # Every batch's last block and every block with an event keeps its hash.
        numbers = set(session.scalars(select(Block.number)))
        assert {e.block_number for e in session.scalars(select(Event))} <= numbers


class RangeLimitedRpc(Rpc):
    """A node that refuses getLogs over more than `limit` blocks, like hosted RPCs do."""

    def __init__(self, url: str, limit: int):
        super().__init__(url)
        self.limit = limit
        self.refused = 0

    def get_logs(self, from_block, to_block, addresses):
        if to_block - from_block + 1 > self.limit:
            self.refused += 1
            raise RpcError("eth_getLogs: query returned more than 10000 results", -32005)
        return super().get_logs(from_block, to_block, addresses)


def test_range_shrinks_on_too_many_results(chain, indexed, tmp_path):
    _, reference, _ = indexed
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'limited.db'}", batch_blocks=64)
    engine = make_engine(settings.database_url)
    rpc = RangeLimitedRpc(chain.url, limit=5)
    indexer = sync_to_head(settings, engine, rpc=rpc)
    assert rpc.refused > 0
    assert indexer.batch_blocks <= 8  # grows back to at most twice the limit before shrinking again
    assert dump(engine, skip=("block",)) == dump(reference, skip=("block",))


class FlakyRpc(Rpc):
    """Fails a quarter of the requests (seeded) with a connection error."""

    def __init__(self, url: str):
        super().__init__(url)
        self.random = random.Random(7)
        self.failures = 0

    def _maybe_fail(self, method):
        if self.random.random() < 0.25:
            self.failures += 1
            raise RpcError(f"{method}: ConnectionError: connection reset by peer")

    def request(self, method, params):
        self._maybe_fail(method)
        return super().request(method, params)

    def batch(self, calls, chunk=100, raise_errors=True):
        self._maybe_fail("batch")
        return super().batch(calls, chunk, raise_errors)


def test_rpc_errors_are_retried_with_backoff(chain, indexed, tmp_path):
    _, reference, _ = indexed
    settings = make_settings(
        chain,
        f"sqlite:///{tmp_path / 'flaky.db'}",
        batch_blocks=4,
        min_batch_blocks=4,
        max_batch_blocks=4,
        backoff_max=0.05,
    )
    engine = make_engine(settings.database_url)
    rpc = FlakyRpc(chain.url)
    indexer = sync_to_head(settings, engine, rpc=rpc)
    assert rpc.failures > 3
    assert "connection reset" in indexer.status.last_error
    assert indexer.status.consecutive_errors == 0  # cleared by the successful polls after it
    assert indexer.status.last_block == chain.scenario.end_block
    assert dump(engine, skip=("block",)) == dump(reference, skip=("block",))


def test_failure_inside_a_batch_leaves_the_last_committed_batch(chain, indexed, tmp_path, monkeypatch):
    """An exception after the batch's events were written (a crash mid-transaction) rolls the
    whole batch back: cursor, events and derived rows stay at the previous batch boundary."""
    import backend.indexer.sync as sync_module

    _, reference, _ = indexed
    settings = make_settings(
        chain, f"sqlite:///{tmp_path / 'partial.db'}", batch_blocks=10, max_batch_blocks=10
    )
    engine = make_engine(settings.database_url)
    migrate(engine)
    real_apply = sync_module.apply_event
    calls = {"n": 0}

    def exploding_apply(session, event):
        calls["n"] += 1
        if calls["n"] == 40:
            raise RuntimeError("power cut")
        real_apply(session, event)

    monkeypatch.setattr(sync_module, "apply_event", exploding_apply)
    indexer = Indexer(settings, engine)
    with pytest.raises(RuntimeError, match="power cut"):
        indexer.sync_once()
    with Session(engine) as session:
        state = session.get(SyncState, 31337)
        events = session.scalars(select(Event)).all()
        assert all(event.block_number <= state.last_block for event in events)
        assert len(events) < 40
        # Derived rows exist only for committed events.
        loans = session.scalars(select(Loan)).all()
        assert {loan.id for loan in loans} == {
            int(e.args["loan_id"]) for e in events if e.name == "LoanRequested"
        }
    monkeypatch.setattr(sync_module, "apply_event", real_apply)
    Indexer(settings, engine).run(exit_at_head=True)
    assert dump(engine, skip=("block",)) == dump(reference, skip=("block",))


def test_other_deployment_is_refused(chain, indexed):
    settings, engine, _ = indexed
    with Session(engine) as session:
        state = session.get(SyncState, 31337)
        fingerprint, state.deployment = state.deployment, "somethingelse"
        session.commit()
    try:
        with pytest.raises(DeploymentError, match="another deployment"):
            Indexer(settings, engine).sync_once()
    finally:
        with Session(engine) as session:
            session.get(SyncState, 31337).deployment = fingerprint
            session.commit()


def test_missing_deployment_record(chain, tmp_path):
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'none.db'}", deployments_dir=tmp_path)
    engine = make_engine(settings.database_url)
    migrate(engine)
    with pytest.raises(DeploymentError, match="no deployment record"):
        Indexer(settings, engine).sync_once()


def test_confirmations_keep_the_index_behind_head(chain, tmp_path):
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'conf.db'}", confirmations=5)
    indexer = sync_to_head(settings)
    assert indexer.status.last_block == chain.scenario.end_block - 5
    assert indexer.status.head == chain.scenario.end_block


def _corrupt_blocks(engine, above: int) -> None:
    from sqlalchemy import update

    with Session(engine) as session:
        session.exec(update(Block).where(Block.number > above).values(hash="0x" + "ee" * 32))
        session.commit()


@pytest.mark.parametrize("fork_above", [40, -1])
def test_deep_reorg_found_beyond_the_window(chain, indexed, tmp_path, fork_above):
    """Stored hashes that no longer match, deeper than one reorg window: the ancestor is searched
    page by page (window of 4); with no stored block matching, the index is rebuilt from start_block."""
    _, reference, _ = indexed
    settings = make_settings(
        chain, f"sqlite:///{tmp_path / 'deep.db'}", reorg_window=4, batch_blocks=3, max_batch_blocks=3
    )
    engine = make_engine(settings.database_url)
    indexer = sync_to_head(settings, engine)
    with Session(engine) as session:
        stored = sorted(session.scalars(select(Block.number)))
        state = session.get(SyncState, 31337)
        start = state.start_block
    _corrupt_blocks(engine, fork_above)
    indexer.run(exit_at_head=True)
    expected = max((n for n in stored if n <= fork_above), default=start - 1)
    assert indexer.status.reorgs == 1
    assert indexer.status.last_reorg["to_block"] == expected
    assert indexer.status.last_block == chain.scenario.end_block
    assert dump(engine, skip=("block",)) == dump(reference, skip=("block",))


def test_reorg_seen_by_a_batch_parent_check(chain, tmp_path):
    """A reorg between the poll's hash check and the batch (the stored cursor hash is not the next
    block's parent) rolls back instead of extending a stale branch."""
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'race.db'}")
    engine = make_engine(settings.database_url)
    indexer = sync_to_head(settings, engine)
    with Session(engine) as session:
        state = session.get(SyncState, 31337)
        state.last_block_hash = "0x" + "ab" * 32  # as if the cursor block was replaced meanwhile
        session.commit()
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        chain.w3.provider.make_request("evm_mine", [])
        indexer.run(exit_at_head=True)
        assert indexer.status.reorgs == 1
        assert indexer.status.last_reorg["to_block"] < chain.scenario.end_block
        assert indexer.status.last_block == chain.scenario.end_block + 1
        with Session(engine) as session:
            assert reconcile(session, indexer.rpc, indexer.deployment).mismatches == []
    finally:
        chain.w3.provider.make_request("evm_revert", [snapshot])
    assert chain.w3.eth.block_number == chain.scenario.end_block


def test_a_commit_listener_sees_the_counts_of_the_block_it_is_told_of(chain, tmp_path):
    """`serve` answers /health the moment the indexer commits: the status it reads then already
    counts the committed batch (it once showed the new block with the old event count)."""
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'listener.db'}")
    engine = make_engine(settings.database_url)
    migrate(engine)
    indexer = Indexer(settings, engine)
    seen: list[tuple[int | None, int]] = []
    indexer.on_commit = lambda: seen.append((indexer.status.last_block, indexer.status.events))
    indexer.run(exit_at_head=True)
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Event))
    assert seen and seen[-1] == (chain.scenario.end_block, stored)
