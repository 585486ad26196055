"""The sync loop: eth_getLogs over adaptive block ranges up to head − confirmations.

Guarantees (DESIGN.md §5):
- One DB transaction per batch holds the batch's events, the state derived from them, the
  block hashes and the cursor (`sync_state.last_block`): a crash at any point leaves the
  database at a batch boundary, and a restart resumes from the cursor, losing or doubling
  nothing. Events are also unique on (chain_id, tx_hash, log_index).
- Reorgs: every indexed block with an event and every batch's last block have their hash
  stored. Each poll re-checks the newest `reorg_window` stored hashes against the chain, and
  each batch checks that its first block's parent is the stored cursor block. On a mismatch
  the newest stored block still on the chain is the common ancestor: events and block
  hashes above it are deleted, derived tables are rebuilt by replaying the remaining
  events, and syncing continues from there, all in one transaction.
- RPC failures shrink the range (a node's 'too many results' limit, timeouts) and are
  retried with exponential backoff; the loop never exits on them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from eth_abi import decode as abi_decode
from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from backend.core import derive
from backend.db.models import Block, Event, EventAccount, Note, Snapshot, SyncState, TokenInfo
from backend.indexer.apply import apply_event, get, replay, reset_cache
from backend.indexer.decode import Decoder
from backend.settings import Settings
from peerlend.deployments import Deployment, DeploymentError, check_database_deployment
from peerlend.retry import Backoff, Stopped, retry_forever
from peerlend.rpc import Rpc, RpcError

log = logging.getLogger("peerlend.indexer")

# ERC-20 symbol(), name(), decimals() selectors.
ERC20_METADATA = ("0x95d89b41", "0x06fdde03", "0x313ce567")


class ReorgDetected(RuntimeError):
    def __init__(self, message: str, suspect_cursor: bool = False):
        super().__init__(message)
        self.suspect_cursor = suspect_cursor


class InconsistentView(RpcError):
    """Logs and headers disagree (the chain moved while we read it): retry the batch."""


@dataclass
class Status:
    chain_id: int | None = None
    head: int | None = None
    last_block: int | None = None
    batch_blocks: int = 0
    batches: int = 0
    events: int = 0
    reorgs: int = 0
    last_reorg: dict[str, Any] | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    consecutive_errors: int = 0
    last_sync_at: float | None = None
    running: bool = False
    abi_mismatches: list[str] = field(default_factory=list)


class Indexer:
    def __init__(self, settings: Settings, engine, rpc: Rpc | None = None):
        self.settings = settings
        self.engine = engine
        self.rpc = rpc or Rpc(settings.rpc_url, settings.rpc_timeout)
        self.batch_blocks = min(settings.batch_blocks, settings.max_batch_blocks)
        self.deployment: Deployment | None = None
        self.decoder: Decoder | None = None
        self.confirmations = 0
        self.status = Status(batch_blocks=self.batch_blocks)
        self._stop = threading.Event()
        self.on_commit: Callable[[], None] | None = None

    # ------------------------------------------------------------------
    # Setup
    # ------------------------------------------------------------------

    def setup(self) -> Deployment:
        if self.deployment is not None:
            return self.deployment
        chain_id = self.rpc.chain_id()
        deployment = self.settings.load_deployment(chain_id)
        with Session(self.engine) as session:
            state = session.get(SyncState, chain_id)
            others = session.scalar(
                select(func.count()).select_from(SyncState).where(SyncState.chain_id != chain_id)
            )
            if others:
                raise DeploymentError(
                    f"this database indexes another chain; use a fresh DATABASE_URL for chain {chain_id}"
                )
            if state is None:
                session.add(
                    SyncState(
                        chain_id=chain_id,
                        deployment=deployment.fingerprint,
                        start_block=deployment.start_block,
                        last_block=deployment.start_block - 1,
                        last_block_timestamp=0,
                        head_block=0,
                    )
                )
                session.commit()
            else:
                check_database_deployment(
                    state.deployment,
                    deployment.fingerprint,
                    remedy=f"{deployment.path} is {deployment.fingerprint}: use a fresh DATABASE_URL or "
                    "`peerlend-indexer reset`",
                )
        self.deployment = deployment
        self.decoder = Decoder(deployment.contracts)
        self.confirmations = self.settings.confirmations_for(chain_id)
        self.status.chain_id = chain_id
        self.status.abi_mismatches = list(deployment.abi_mismatches)
        return deployment

    # ------------------------------------------------------------------
    # One poll
    # ------------------------------------------------------------------

    def sync_once(self, max_batches: int | None = None) -> bool:
        """Indexes up to head − confirmations. Returns True when caught up."""
        deployment = self.setup()
        head = self.rpc.block_number()
        target = head - self.confirmations
        self.status.head = head
        with Session(self.engine, expire_on_commit=False) as session:
            state = session.get(SyncState, deployment.chain_id)
            if self._check_reorg(session, state):
                session.commit()
                self._committed()
            if state.last_block >= state.start_block and session.get(Snapshot, "stats") is None:
                # Indexed by a release before the served state was materialised: compute it all.
                derive.refresh(session, state.last_block, state.last_block_timestamp)
                session.commit()
                self._committed()
            if state.head_block != head:
                state.head_block = head
                session.commit()
            batches = 0
            while state.last_block < target and not self._stop.is_set():
                if max_batches is not None and batches >= max_batches:
                    return False
                try:
                    self._batch(session, state, target)
                except ReorgDetected as exc:
                    session.rollback()
                    log.warning("%s", exc)
                    if self._check_reorg(session, state, suspect_cursor=exc.suspect_cursor):
                        session.commit()
                        self._committed()
                    return False
                batches += 1
                if self.settings.sync_throttle:
                    time.sleep(self.settings.sync_throttle)
            self.status.last_block = state.last_block
            self.status.last_sync_at = time.time()
            return state.last_block >= target

    def _fetch_logs(self, start: int, target: int) -> tuple[int, list[dict[str, Any]]]:
        """Logs of [start, end] with the range adapted to the node: shrink on errors, grow when quick."""
        settings = self.settings
        while True:
            end = min(target, start + self.batch_blocks - 1)
            began = time.monotonic()
            try:
                logs = self.rpc.get_logs(start, end, self.decoder.addresses)
            except RpcError as exc:
                if self.batch_blocks <= settings.min_batch_blocks:
                    raise
                self.batch_blocks = max(settings.min_batch_blocks, self.batch_blocks // 2)
                log.info("getLogs %d-%d failed (%s); range now %d blocks", start, end, exc, self.batch_blocks)
                continue
            elapsed = time.monotonic() - began
            full = end - start + 1 == self.batch_blocks
            if full and elapsed < 1.0 and len(logs) < 5_000:
                self.batch_blocks = min(settings.max_batch_blocks, self.batch_blocks * 2)
            elif elapsed > 5.0:
                self.batch_blocks = max(settings.min_batch_blocks, self.batch_blocks // 2)
            self.status.batch_blocks = self.batch_blocks
            return end, [entry for entry in logs if not entry.get("removed")]

    def _batch(self, session: Session, state: SyncState, target: int) -> None:
        start = state.last_block + 1
        end, logs = self._fetch_logs(start, target)
        numbers = {start, end} | {int(entry["blockNumber"], 16) for entry in logs}
        headers = self.rpc.get_headers(sorted(numbers))
        first = headers.get(start)
        if first is None or headers.get(end) is None:
            raise ReorgDetected(f"blocks {start}-{end} vanished while syncing")
        if state.last_block_hash is not None and first["parent_hash"] != state.last_block_hash:
            raise ReorgDetected(
                f"block {start}'s parent is not the indexed block {state.last_block}", suspect_cursor=True
            )
        decoded = sorted(
            (self.decoder.decode(entry) for entry in logs), key=lambda d: (d.block_number, d.log_index)
        )
        for item in decoded:
            header = headers.get(item.block_number)
            if header is None or header["hash"] != item.block_hash:
                raise InconsistentView(f"log in block {item.block_number} does not match the block's header")

        reset_cache(session)
        notes = self._note_loans(session, decoded)
        session.execute(
            insert(Block),
            [
                {
                    "number": n,
                    "hash": headers[n]["hash"],
                    "parent_hash": headers[n]["parent_hash"],
                    "timestamp": headers[n]["timestamp"],
                }
                for n in sorted(numbers)
            ],
        )
        rows = [
            {
                "chain_id": state.chain_id,
                "block_number": item.block_number,
                "block_hash": item.block_hash,
                "block_timestamp": headers[item.block_number]["timestamp"],
                "tx_hash": item.tx_hash,
                "tx_index": item.tx_index,
                "log_index": item.log_index,
                "address": item.address,
                "contract": item.contract,
                "name": item.name,
                "args": item.args,
                "loan_id": notes[i][0],
                "note_id": notes[i][1],
            }
            for i, item in enumerate(decoded)
        ]
        if rows:
            # Ids are assigned here (the indexer is the only writer): deterministic, and no
            # RETURNING round trip for bulk inserts.
            first_id = (session.scalar(select(func.max(Event.id))) or 0) + 1
            ids = list(range(first_id, first_id + len(rows)))
            for event_id, row in zip(ids, rows, strict=True):
                row["id"] = event_id
            session.execute(insert(Event), rows)
            accounts = [
                {"event_id": event_id, "address": address}
                for event_id, item in zip(ids, decoded, strict=True)
                for address in sorted(item.accounts)
            ]
            if accounts:
                session.execute(insert(EventAccount), accounts)
            with session.no_autoflush:
                for row in rows:
                    apply_event(session, SimpleNamespace(**row))
        self._read_token_info(session, decoded, end)
        # What the API serves at this block, in the same transaction (backend/core/derive.py).
        derive.refresh(
            session,
            end,
            headers[end]["timestamp"],
            loan_ids={row["loan_id"] for row in rows if row["loan_id"] is not None},
            accounts={address for item in decoded for address in item.accounts},
        )
        state.last_block = end
        state.last_block_hash = headers[end]["hash"]
        state.last_block_timestamp = headers[end]["timestamp"]
        session.exec(delete(Block).where(Block.number < end - self.settings.keep_block_hashes))
        session.commit()
        # The counters first: a listener told of the commit may answer /health at once, and
        # must not show the new block beside the old counts.
        self.status.batches += 1
        self.status.events += len(rows)
        self.status.last_block = end
        self._committed()
        log.debug("indexed %d-%d: %d events", start, end, len(rows))

    @staticmethod
    def _note_loans(session: Session, decoded) -> list[tuple[int | None, int | None]]:
        """(loan_id, note_id) of each event: from its arguments, and for a note's ERC-721
        events the loan the note belongs to (notes minted in this batch included)."""
        minted: dict[int, int] = {}
        out = []
        for item in decoded:
            args = item.args
            loan_id = int(args["loan_id"]) if "loan_id" in args else None
            note_id = args.get("note_id", args.get("token_id") if item.contract == "LoanNote" else None)
            note_id = int(note_id) if note_id is not None else None
            if item.name == "LoanFunded":
                minted[note_id] = loan_id
            if loan_id is None and note_id is not None:
                loan_id = minted.get(note_id)
                if loan_id is None:
                    note = get(session, Note, note_id)
                    loan_id = note.loan_id if note is not None else None
            out.append((loan_id, note_id))
        return out

    def _committed(self) -> None:
        """Tells the in-process API (serve) that the database moved: it refreshes its view of the
        indexed block at once and pushes the new events to its stream."""
        if self.on_commit is not None:
            try:
                self.on_commit()
            except Exception:  # noqa: BLE001  (a listener must never stop indexing)
                log.exception("on_commit listener failed")

    def _read_token_info(self, session: Session, decoded, block: int) -> None:
        """Symbol, name and decimals of tokens first seen in this batch, read from the chain once."""
        tokens = {
            item.args["token"]
            for item in decoded
            if item.contract == "LoanBook" and isinstance(item.args.get("token"), str)
        }
        known = (
            set(session.scalars(select(TokenInfo.address).where(TokenInfo.address.in_(tokens))))
            if tokens
            else set()
        )
        for token in sorted(tokens - known):
            calls = [
                ("eth_call", [{"to": token, "data": selector}, hex(block)]) for selector in ERC20_METADATA
            ]
            results = self.rpc.batch(calls, raise_errors=False)
            if any(isinstance(result, Exception) or not result or result == "0x" for result in results):
                log.warning(
                    "token %s: no ERC-20 symbol/name/decimals; its amounts are served without them", token
                )
                continue
            symbol, name = (abi_decode(["string"], bytes.fromhex(r[2:]))[0] for r in results[:2])
            decimals = int(results[2], 16)
            session.add(TokenInfo(address=token, symbol=symbol, name=name, decimals=decimals))

    # ------------------------------------------------------------------
    # Reorgs
    # ------------------------------------------------------------------

    def _check_reorg(self, session: Session, state: SyncState, suspect_cursor: bool = False) -> bool:
        """Compares stored block hashes with the chain; rolls back to the common ancestor if they
        differ. `suspect_cursor`: a batch found the cursor block's hash is not its successor's
        parent; if the stored hashes all still match, the cursor block is rolled back anyway."""
        rows = session.scalars(
            select(Block).order_by(Block.number.desc()).limit(self.settings.reorg_window)
        ).all()
        if not rows:
            return False
        headers = self.rpc.get_headers([row.number for row in rows])
        if all(headers[row.number] is not None and headers[row.number]["hash"] == row.hash for row in rows):
            if not suspect_cursor:
                return False
            older = [row for row in rows if row.number < state.last_block]
            self._rollback(session, state, older[0] if older else None)
            return True
        self._rollback(session, state, self._find_ancestor(session, list(rows), headers))
        return True

    def _find_ancestor(self, session: Session, rows: list[Block], headers: dict[int, Any]) -> Block | None:
        while rows:
            for row in rows:
                header = headers.get(row.number)
                if header is not None and header["hash"] == row.hash:
                    return row
            older = session.scalars(
                select(Block)
                .where(Block.number < rows[-1].number)
                .order_by(Block.number.desc())
                .limit(self.settings.reorg_window)
            ).all()
            rows = list(older)
            headers = self.rpc.get_headers([row.number for row in rows]) if rows else {}
        return None

    def _rollback(self, session: Session, state: SyncState, ancestor: Block | None) -> None:
        old = state.last_block
        keep = ancestor.number if ancestor is not None else state.start_block - 1
        stale = select(Event.id).where(Event.block_number > keep)
        removed = session.scalar(select(func.count()).select_from(Event).where(Event.block_number > keep))
        session.exec(delete(EventAccount).where(EventAccount.event_id.in_(stale)))
        session.exec(delete(Event).where(Event.block_number > keep))
        session.exec(delete(Block).where(Block.number > keep))
        state.last_block = keep
        state.last_block_hash = ancestor.hash if ancestor is not None else None
        state.last_block_timestamp = ancestor.timestamp if ancestor is not None else 0
        replayed = replay(session)
        derive.refresh(session, keep, state.last_block_timestamp)
        state.reorgs += 1
        state.last_reorg_block = keep
        self.status.reorgs += 1
        self.status.last_reorg = {
            "from_block": old,
            "to_block": keep,
            "events_removed": removed,
            "at": time.time(),
        }
        log.warning(
            "reorg: rolled back from block %d to %d (%d events removed, %d replayed)",
            old,
            keep,
            removed,
            replayed,
        )

    # ------------------------------------------------------------------
    # The loop
    # ------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self, exit_at_head: bool = False, fatal_deployment_errors: bool = True) -> None:
        """Polls forever (or until caught up with `exit_at_head`), retrying every error with the
        shared backoff (`backoff_base` doubling to `backoff_max`, `peerlend.retry`)."""
        backoff = Backoff(base=self.settings.backoff_base, ceiling=self.settings.backoff_max)

        def on_error(exc: BaseException, delay: float) -> None:
            self._record_error(exc)
            if not isinstance(exc, DeploymentError):
                log.warning("sync failed (%s); retrying in %.1fs", exc, delay)

        def fatal(exc: BaseException) -> bool:
            if isinstance(exc, DeploymentError) and fatal_deployment_errors:
                self._record_error(exc)
                return True
            return False

        self.status.running = True
        try:
            while not self._stop.is_set():
                try:
                    caught_up = retry_forever(
                        self.sync_once, stop=self._stop, backoff=backoff, on_error=on_error, fatal=fatal
                    )
                except Stopped:
                    return
                self.status.consecutive_errors = 0
                if caught_up:
                    if exit_at_head:
                        return
                    self._stop.wait(self.settings.poll_interval)
        finally:
            self.status.running = False

    def _record_error(self, exc: Exception) -> None:
        self.status.last_error = f"{type(exc).__name__}: {exc}"
        self.status.last_error_at = time.time()
        self.status.consecutive_errors += 1
