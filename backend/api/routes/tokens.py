from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from backend.api.deps import SessionDep
from backend.api.schemas import TokenOut
from backend.db.models import Token, TokenInfo

router = APIRouter(tags=["tokens"])


@router.get(
    "/tokens",
    response_model=list[TokenOut],
    summary="Every token the book has seen, with its symbol and decimals (read from the chain once)",
)
def list_tokens(session: SessionDep) -> list[dict]:
    allowed = {row.address: row.allowed for row in session.scalars(select(Token))}
    return [
        {"address": row.address, "symbol": row.symbol, "name": row.name, "decimals": row.decimals,
         "allowed": allowed.get(row.address, False)}
        for row in session.scalars(select(TokenInfo).order_by(TokenInfo.address))
    ]  # fmt: skip
