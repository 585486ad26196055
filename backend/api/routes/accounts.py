from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import func, select

from backend.api.deps import Address, AsOfDep, SessionDep
from backend.api.schemas import AccountOut
from backend.core.views import GRADE_LETTERS
from backend.db.models import Account, EventAccount, Identity, Score

router = APIRouter(tags=["accounts"])

EMPTY = {
    "borrower": {"loans": [], "borrowed": {}, "principal_outstanding": {}, "exposure": {}, "payoff": {}, "past_due": {}},
    "lender": {
        "notes": [], "funded_notes": [], "invested": {}, "lent": {}, "principal_outstanding": {}, "received": {},
        "refunded": {}, "claimable": {}, "realised_return": {},
    },
    "roles": [],
}  # fmt: skip


@router.get(
    "/accounts/{address}",
    response_model=AccountOut,
    summary="An account as borrower and as lender, with KYC and score history",
)
def get_account(session: SessionDep, point: AsOfDep, address: Annotated[Address, Path()]) -> dict:
    now = point.timestamp
    # Totals and lists as of the indexed block, materialised by the indexer (backend/core/derive.py).
    row = session.get(Account, address)
    totals = row.totals if row is not None else EMPTY
    scores = [
        {
            "score": score.score,
            "grade": score.grade,
            "grade_letter": GRADE_LETTERS.get(score.grade),
            "model": score.model,
            "expires_at": score.expires_at,
            "block_number": score.block_number,
            "timestamp": score.timestamp,
        }
        for score in session.scalars(select(Score).where(Score.account == address).order_by(Score.event_id))
    ]
    identity = session.get(Identity, address)
    kyc = {
        "verified": bool(identity and identity.identity_hash and now < identity.kyc_expires_at),
        "identity_hash": identity.identity_hash if identity else None,
        "expires_at": identity.kyc_expires_at if identity and identity.identity_hash else None,
        "attested_at": identity.attested_at if identity else None,
        "revoked_at": identity.revoked_at if identity else None,
        "blocked": bool(identity and identity.blocked),
        "blocked_changed_at": identity.blocked_changed_at if identity else None,
    }
    events = session.scalar(
        select(func.count()).select_from(EventAccount).where(EventAccount.address == address)
    )
    return {
        "address": address,
        "as_of": point.as_dict(),
        "kyc": kyc,
        "borrower": {**totals["borrower"], "scores": scores},
        "lender": totals["lender"],
        "event_count": events,
        "is_known": bool(row is not None or identity or scores or events),
        "roles": totals["roles"],
    }
