"""Turning `ScoreRequested(account, nonce)` logs into score requests, from a stored cursor.

The cursor (`oracle_meta.requests_cursor`) is the last block whose logs are recorded. Each scan
reads logs in (cursor, safe head], where safe head = head − confirmations, inserts one request
per (account, nonce) it has not seen, and moves the cursor — all in one database transaction,
so a crash re-reads the range and the unique (account, nonce) key drops what it already has.
A request whose account has no application yet waits as `needs_application` and is queued by
`promote_waiting` as soon as the application arrives.

One pending request per account: CreditOracle answers only an account's latest request, so a
new request supersedes the account's older ones that are still waiting (`needs_application` or
`queued`; one already in a push is settled by that push's receipt). An account that keeps
requesting therefore holds one place in the queue, and moves to its back with each request.

A bounded queue: while `max_queued` requests are queued or pushing, the scan reads nothing more
and the cursor stays where it is (requests are never dropped: they wait on-chain). A scan adds
whole blocks only, stopping before the block that would overfill the queue (a first block is
always taken, so one block larger than the bound cannot stall the scan).
"""

from __future__ import annotations

import logging
from itertools import groupby

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from oracle.service import store
from oracle.service.chain import Chain
from oracle.service.store import Application, ScoreRequest

log = logging.getLogger(__name__)
CURSOR = "requests_cursor"
MAX_BLOCKS_PER_SCAN = 50_000


def queue_size(db) -> int:
    """Requests waiting to be pushed or being pushed: the work the bound applies to."""
    return db.exec(
        select(func.count())
        .select_from(ScoreRequest)
        .where(col(ScoreRequest.status).in_((store.QUEUED, store.PUSHING)))
    ).one()


def scan_requests(chain: Chain, engine: Engine, max_queued: int | None = None) -> int:
    """Records new ScoreRequested logs, up to the queue bound; returns how many requests were added."""
    bound = max_queued if max_queued is not None else chain.settings.max_queued
    with store.session(engine) as db:
        stored = store.get_meta(db, CURSOR)
        room = bound - queue_size(db)
    cursor = int(stored) if stored is not None else chain.start_block - 1
    safe = chain.safe_head()
    if safe <= cursor:
        return 0
    if room <= 0:
        log.warning(
            "request queue full (%d queued or pushing): ScoreRequested scan paused at block %d", bound, cursor
        )
        return 0
    to_block = min(safe, cursor + MAX_BLOCKS_PER_SCAN)
    logs = chain.get_logs(chain.oracle.events.ScoreRequested, cursor + 1, to_block)
    added = 0
    with store.session(engine) as db:
        for block, entries in groupby(logs, key=lambda entry: entry.blockNumber):
            entries = list(entries)
            if added and len(entries) > room:
                to_block = block - 1  # the rest waits for room
                log.info("request queue nearly full: scan stops before block %d", block)
                break
            for entry in entries:
                room -= _record(db, entry)
                added += 1
        store.set_meta(db, CURSOR, str(to_block))
    return added


def _record(db, entry) -> int:
    """Inserts the request of one log (unless already there) and supersedes the account's older
    waiting requests; returns by how much the queue grew (-1, 0 or 1)."""
    account, nonce = entry.args.account, int(entry.args.nonce)
    exists = db.exec(
        select(ScoreRequest).where(ScoreRequest.account == account, ScoreRequest.request_nonce == nonce)
    ).first()
    if exists is not None:
        return 0
    growth = 0
    for older in db.exec(
        select(ScoreRequest).where(
            ScoreRequest.account == account,
            col(ScoreRequest.status).in_((store.NEEDS_APPLICATION, store.QUEUED)),
        )
    ).all():
        if older.request_nonce is None or older.request_nonce < nonce:
            growth -= older.status == store.QUEUED
            older.status, older.error, older.updated_at = (
                store.SUPERSEDED,
                f"replaced by request {nonce}",
                store.now(),
            )
            db.add(older)
    has_application = db.get(Application, account) is not None
    db.add(
        ScoreRequest(
            account=account,
            source="chain",
            request_nonce=nonce,
            block_number=entry.blockNumber,
            log_index=entry.logIndex,
            request_tx="0x" + bytes(entry.transactionHash).hex(),
            status=store.QUEUED if has_application else store.NEEDS_APPLICATION,
        )
    )
    db.flush()
    log.info(
        "ScoreRequested %s nonce %d in block %d%s",
        account,
        nonce,
        entry.blockNumber,
        "" if has_application else ": no application yet",
    )
    return growth + has_application


def promote_waiting(engine: Engine, account: str | None = None) -> int:
    """Queues `needs_application` requests whose account now has an application (for a request
    that failed to score, an application received after the failure)."""
    with store.session(engine) as db:
        query = select(ScoreRequest).where(ScoreRequest.status == store.NEEDS_APPLICATION)
        if account is not None:
            query = query.where(ScoreRequest.account == account)
        promoted = 0
        for request in db.exec(query).all():
            app = db.get(Application, request.account)
            if app is not None and (request.error is None or app.received_at >= request.updated_at):
                request.status, request.error, request.updated_at = store.QUEUED, None, store.now()
                db.add(request)
                promoted += 1
    if promoted:
        log.info("%d waiting request(s) queued now that their application arrived", promoted)
    return promoted
