from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from sqlalchemy import select

from backend.api.deps import SessionDep
from backend.api.schemas import Health
from backend.db.models import SyncState

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Chain id, head, indexed block and lag")
def health(request: Request, session: SessionDep) -> Health:
    state = session.scalars(select(SyncState).limit(1)).first()
    indexer = request.app.state.indexer
    status = asdict(indexer.status) if indexer is not None else None
    settings = request.app.state.settings
    if state is None:
        return Health(
            ok=False, chain_id=status and status["chain_id"], head=status and status["head"], indexed_block=None,
            indexed_timestamp=None, lag=None, confirmations=None, indexer=status,
        )  # fmt: skip
    head = max(state.head_block, (status or {}).get("head") or 0)
    indexed = state.last_block if state.last_block >= state.start_block else None
    confirmations = settings.confirmations_for(state.chain_id)
    lag = head - state.last_block
    ok = indexed is not None and lag <= confirmations + 5 and not (status and status["consecutive_errors"])
    return Health(
        ok=ok,
        chain_id=state.chain_id,
        head=head,
        indexed_block=indexed,
        indexed_timestamp=state.last_block_timestamp or None,
        lag=lag,
        confirmations=confirmations,
        indexer=status,
    )
