"""Accepting signed applications and reporting an applicant's status.

A submission is accepted only if all of these hold, checked in this order; otherwise nothing
is stored and `Rejected(status, message)` says why:

1. `address` is an address, `nonce` in [0, 2^63), `scheme` is `eip712` or `eip191` — else 422;
2. the signature recovers to `address` (see `signing.py`) — else 401;
3. `issued_at` is at most `max_signature_age` seconds old and at most `max_clock_skew` seconds
   ahead — else 400 (stale or from the future);
4. `nonce` is larger than every nonce accepted from this address — else 409 (replay);
5. the fields pass the model's validation, and the model uses every one of them — else 422,
   naming the field.

Then, in one database transaction, the submission is logged (address, nonce, issued_at, fields
hash — no field values) and the applicant's application is replaced by the validated model
inputs. Nothing else the applicant sent is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from oracle.service import signing, store, watcher
from oracle.service.canonical import canonical_json, fields_hash
from oracle.service.scorer import Scorer
from oracle.service.settings import OracleSettings
from oracle.service.store import Application, Push, ScoreRequest, Submission
from peerlend.vocabulary import Grade

MAX_NONCE = 2**63 - 1


class Rejected(Exception):
    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass
class SignedApplication:
    address: str
    fields: dict[str, Any]
    nonce: int
    issued_at: int
    signature: str
    scheme: str = "eip712"


def checksum(address: str) -> str:
    if not isinstance(address, str) or not is_address(address):
        raise Rejected(422, f"{address!r} is not an address")
    return to_checksum_address(address)


def submit(
    engine: Engine, scorer: Scorer, settings: OracleSettings, chain_id: int, app: SignedApplication, now: int
) -> dict:
    address = checksum(app.address)
    if not 0 <= app.nonce <= MAX_NONCE:
        raise Rejected(422, f"nonce must be in [0, {MAX_NONCE}]")
    if app.scheme not in ("eip712", "eip191"):
        raise Rejected(422, f"scheme must be 'eip712' or 'eip191', not {app.scheme!r}")
    try:
        digest = fields_hash(app.fields)
    except ValueError as error:
        raise Rejected(422, f"fields are not canonical JSON: {error}") from None
    try:
        signing.verify(app.scheme, chain_id, address, app.fields, app.nonce, app.issued_at, app.signature)
    except signing.SignatureError as error:
        raise Rejected(401, f"bad signature: {error}") from None
    if app.issued_at < now - settings.max_signature_age:
        raise Rejected(
            400,
            f"stale: issued_at {app.issued_at} is more than {settings.max_signature_age}s old; sign again",
        )
    if app.issued_at > now + settings.max_clock_skew:
        raise Rejected(400, f"issued_at {app.issued_at} is in the future (server time {now})")
    with store.session(engine) as db:
        last = db.exec(select(func.max(Submission.nonce)).where(Submission.address == address)).one()
    if last is not None and app.nonce <= last:
        raise Rejected(
            409, f"replayed nonce: {app.nonce} is not above the last accepted nonce {last} of {address}"
        )
    try:
        inputs = scorer.validate(app.fields)
    except ValueError as error:
        raise Rejected(422, f"invalid application: {error}") from None

    try:
        with store.session(engine) as db:
            db.add(
                Submission(
                    address=address,
                    nonce=app.nonce,
                    issued_at=app.issued_at,
                    fields_hash="0x" + digest.hex(),
                    scheme=app.scheme,
                    received_at=now,
                )
            )
            row = db.get(Application, address) or Application(
                address=address, fields_json="{}", fields_hash="", nonce=0, issued_at=0, scheme=""
            )
            row.fields_json = canonical_json(inputs)
            row.fields_hash = "0x" + digest.hex()
            row.nonce, row.issued_at, row.scheme, row.received_at = app.nonce, app.issued_at, app.scheme, now
            db.add(row)
    except IntegrityError:  # a concurrent submission with the same nonce won
        raise Rejected(409, f"replayed nonce: {app.nonce} was already used by {address}") from None
    watcher.promote_waiting(engine, address)
    return status_of(engine, address)


def status_of(engine: Engine, address: str) -> dict | None:
    """The applicant's status, or None if the service knows nothing about the address.

    `status` is `pending` (not scored since the latest request or application), `scored`, or
    `failed`; `stage` says what it waits for: `needs_application`, `awaiting_request` (call
    CreditOracle.request_score()), `queued`, `pushing`, `superseded` (a newer request of the
    account is on-chain but not read yet), `scored`, `failed`.
    """
    address = checksum(address)
    with store.session(engine) as db:
        app = db.get(Application, address)
        request = store.latest_request(db, address)
        push = db.get(Push, request.push_id) if request is not None and request.push_id else None
        requests = db.exec(
            select(func.count()).select_from(ScoreRequest).where(ScoreRequest.account == address)
        ).one()
    if app is None and request is None:
        return None
    if app is None:
        status, stage = "pending", "needs_application"
    elif request is None:
        status, stage = ("scored", "scored") if app.scored_at else ("pending", "awaiting_request")
    elif request.status in (store.QUEUED, store.PUSHING, store.NEEDS_APPLICATION, store.SUPERSEDED):
        status, stage = "pending", request.status  # superseded: a newer request is not read yet
    elif request.status == store.FAILED:
        status, stage = "failed", "failed"
    else:
        status, stage = "scored", "scored"
    if (
        status == "scored"
        and app is not None
        and app.scored_at is not None
        and app.received_at > app.scored_at
    ):
        status, stage = "pending", "awaiting_request"  # a newer application than the pushed score
    out: dict[str, Any] = {
        "address": address,
        "status": status,
        "stage": stage,
        "score": app.score if app else None,
        "grade": app.grade if app else None,
        "grade_letter": Grade(app.grade).letter if app and app.grade is not None else None,
        "pd": app.pd if app else None,
        "reasons": json.loads(app.reasons_json) if app and app.reasons_json else [],
        "model_id": app.model_id if app else None,
        "tx_hash": app.tx_hash if app else None,
        "scored_at": app.scored_at if app else None,
        "application_received_at": app.received_at if app else None,
        "requests": requests,
        "error": request.error if request is not None and request.status != store.DONE else None,
    }
    if stage == "pushing" and push is not None:
        out["pending_tx_hash"] = push.tx_hashes[-1]
    return out
