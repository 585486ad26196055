"""Turning `ScoreRequested(account, nonce)` logs into score requests, from a stored cursor.

The cursor (`oracle_meta.requests_cursor`) is the last block whose logs are recorded. Each scan
reads logs in (cursor, safe head], where safe head = head − confirmations, inserts one request
per (account, nonce) it has not seen, and moves the cursor — all in one database transaction,
so a crash re-reads the range and the unique (account, nonce) key drops what it already has.
A request whose account has no application yet waits as `needs_application` and is queued by
`promote_waiting` as soon as the application arrives.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import select

from oracle.service import store
from oracle.service.chain import Chain
from oracle.service.store import Application, ScoreRequest

log = logging.getLogger(__name__)
CURSOR = "requests_cursor"
MAX_BLOCKS_PER_SCAN = 50_000


def scan_requests(chain: Chain, engine: Engine) -> int:
    """Records new ScoreRequested logs; returns how many requests were added."""
    with store.session(engine) as db:
        stored = store.get_meta(db, CURSOR)
    cursor = int(stored) if stored is not None else chain.start_block - 1
    safe = chain.safe_head()
    if safe <= cursor:
        return 0
    to_block = min(safe, cursor + MAX_BLOCKS_PER_SCAN)
    logs = chain.get_logs(chain.oracle.events.ScoreRequested, cursor + 1, to_block)
    added = 0
    with store.session(engine) as db:
        for entry in logs:
            account, nonce = entry.args.account, int(entry.args.nonce)
            exists = db.exec(
                select(ScoreRequest).where(
                    ScoreRequest.account == account, ScoreRequest.request_nonce == nonce
                )
            ).first()
            if exists is not None:
                continue
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
            added += 1
            log.info(
                "ScoreRequested %s nonce %d in block %d%s",
                account,
                nonce,
                entry.blockNumber,
                "" if has_application else ": no application yet",
            )
        store.set_meta(db, CURSOR, str(to_block))
    return added


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
