"""Responses cached per indexed block, with ETags.

Every answer of the read API is a function of the database at the last indexed block, so one
computed answer serves every request for the same URL until the indexer commits the next batch.
`IndexedBlock` tracks that block — (chain id, block number, block hash, reorg count) of
`sync_state` — by polling the database every `poll` seconds, and at once when the in-process
indexer commits (`notify`). `ResponseCache` is an ASGI middleware in front of the app: a GET
whose URL was answered at the current block is sent from memory without entering FastAPI (no
routing, validation, threadpool hop or database); `If-None-Match` with the answer's ETag gets
`304 Not Modified`. A miss runs the app once per URL (concurrent requests for it wait for that
answer) and keeps it under the block the handler actually read (`record_block`), so an answer
computed while the indexer committed is never served as the newer block's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import SyncState
from peerlend.db import snapshot_reads

log = logging.getLogger("peerlend.api.cache")

Marker = tuple  # (chain_id, last_block, last_block_hash, reorgs), or () before anything is indexed
STATE_KEY = "peerlend.block"


def read_marker(session: Session) -> Marker:
    row = session.execute(
        select(SyncState.chain_id, SyncState.last_block, SyncState.last_block_hash, SyncState.reorgs).limit(1)
    ).first()
    return tuple(row) if row is not None else ()


def record_block(scope: dict, marker: Marker) -> None:
    """Called by the request's session dependency: the indexed block this answer is computed at."""
    scope.setdefault("state", {})[STATE_KEY] = marker


class IndexedBlock:
    """The last indexed block as this process knows it, and a way to wait for the next one."""

    def __init__(self, engine, poll: float = 0.25):
        self.engine = snapshot_reads(engine)  # read-only: never waits for the indexer's write lock
        self.poll = poll
        self.marker: Marker | None = None
        self._changed: asyncio.Condition | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self.listeners: list[Callable[[Marker, Marker | None], None]] = []

    def _read(self) -> Marker:
        with Session(self.engine) as session:
            return read_marker(session)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        self._wake = asyncio.Event()
        self.marker = await anyio.to_thread.run_sync(self._read)
        self._task = asyncio.create_task(self._run(), name="peerlend-indexed-block")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def notify(self) -> None:
        """From any thread (the in-process indexer after a commit): look again now."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)
            self._wake.clear()
            try:
                marker = await anyio.to_thread.run_sync(self._read)
            except Exception as exc:  # noqa: BLE001  (database briefly unavailable: keep the old view)
                log.warning("reading the indexed block failed: %s", exc)
                continue
            if marker != self.marker:
                previous, self.marker = self.marker, marker
                for listener in self.listeners:
                    try:
                        listener(marker, previous)
                    except Exception:  # noqa: BLE001
                        log.exception("indexed-block listener failed")
                async with self._changed:
                    self._changed.notify_all()

    @property
    def running(self) -> bool:
        return self._changed is not None

    async def wait_change(self, seen: Marker | None, timeout: float) -> Marker | None:
        """Returns once the marker differs from `seen` (or after `timeout`)."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.marker != seen), timeout)
        return self.marker


@dataclass
class Entry:
    marker: Marker | None  # None: the answer does not depend on the database (e.g. /calculator)
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


def _header(scope: dict, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


class ResponseCache:
    """ASGI middleware: GET answers of `prefixes` cached per indexed block, with ETag / 304."""

    def __init__(self, app, block: IndexedBlock, prefixes: tuple[str, ...], exclude: tuple[str, ...] = (),
                 max_entries: int = 20_000, max_body: int = 4 * 2**20):  # fmt: skip
        self.app = app
        self.block = block
        self.prefixes = prefixes
        self.exclude = exclude
        self.max_entries = max_entries
        self.max_body = max_body
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.pending: dict[bytes, asyncio.Future] = {}
        self.hits = self.misses = 0
        block.listeners.append(self._drop_stale)

    def _drop_stale(self, marker: Marker, previous: Marker | None) -> None:
        for key in [key for key, entry in self.entries.items() if entry.marker not in (None, marker)]:
            del self.entries[key]

    def _cacheable(self, scope: dict) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path = scope["path"]
        return path.startswith(self.prefixes) and not path.startswith(self.exclude)

    async def __call__(self, scope, receive, send):
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        key = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        entry = self._fresh(key)
        if entry is None:
            waiting = self.pending.get(key)
            if waiting is not None:
                entry = await asyncio.shield(waiting)
                if entry is not None and entry.marker not in (None, self.block.marker):
                    entry = None
        if entry is None:
            self.misses += 1
            entry = await self._compute(key, scope, receive, send)
            if entry is None:  # not cacheable: already sent
                return
        else:
            self.hits += 1
        await self._send(entry, scope, send)

    def _fresh(self, key: bytes) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None or entry.marker not in (None, self.block.marker):
            return None
        self.entries.move_to_end(key)
        return entry

    async def _compute(self, key: bytes, scope, receive, send) -> Entry | None:
        future = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        status, headers, chunks, streamed = 0, [], [], False

        async def capture(message):
            nonlocal status, headers, streamed
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                streamed |= message.get("more_body", False)

        try:
            await self.app(scope, receive, capture)
            body = b"".join(chunks)
            marker = scope.get("state", {}).get(STATE_KEY)
            entry = Entry(
                marker,
                status,
                headers,
                body,
                b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"',
            )
            current = marker is None or self.block.marker is None or marker == self.block.marker
            if status == 200 and len(body) <= self.max_body and current:
                self.entries[key] = entry
                self.entries.move_to_end(key)
                while len(self.entries) > self.max_entries:
                    self.entries.popitem(last=False)
            future.set_result(entry if status == 200 else None)
            return entry
        except BaseException:
            future.set_result(None)
            raise
        finally:
            self.pending.pop(key, None)

    async def _send(self, entry: Entry, scope, send) -> None:
        if entry.status == 200 and _header(scope, b"if-none-match") == entry.etag:
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(b"etag", entry.etag), (b"cache-control", b"no-cache")]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(k, v) for k, v in entry.headers if k.lower() not in (b"etag", b"cache-control")]
        if entry.status == 200:
            headers += [(b"etag", entry.etag), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
