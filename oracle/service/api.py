"""The HTTP API (FastAPI): applicants submit signed applications and read their status.

POST /applications            signed application → 201 status | 4xx {"detail": reason}
GET  /applications/{address}  status, score, grade, reasons, tx hash → 200 | 404
GET  /signing                 the EIP-712 domain and types to sign with
GET  /health                  chain, signer, model, cursor, open push, queue size and bound
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import col, select

from oracle.service import signing, store, watcher
from oracle.service.applications import Rejected, SignedApplication, status_of, submit
from oracle.service.runtime import Runtime
from oracle.service.store import Push


class ApplicationIn(BaseModel):
    address: str = Field(description="The applicant's wallet address; must be the signer.")
    fields: dict[str, Any] = Field(
        description="Application fields (the model's inputs, lending_club schema)."
    )
    nonce: int = Field(description="Larger than every nonce this address used before.")
    issued_at: int = Field(description="Unix seconds when signed; must be recent.")
    signature: str = Field(description="0x-hex 65-byte signature.")
    scheme: Literal["eip712", "eip191"] = "eip712"


def create_app(runtime: Runtime, clock: Callable[[], float] = time.time) -> FastAPI:
    app = FastAPI(title="Peerlend Oracle", version="1")
    engine, chain_id = runtime.engine, runtime.chain.chain_id

    @app.post("/applications", status_code=201)
    def post_application(body: ApplicationIn) -> dict:
        try:
            return submit(
                engine,
                runtime.scorer,
                runtime.settings,
                chain_id,
                SignedApplication(**body.model_dump()),
                now=int(clock()),
            )
        except Rejected as error:
            raise HTTPException(status_code=error.status_code, detail=error.message) from None

    @app.get("/applications/{address}")
    def get_application(address: str) -> dict:
        try:
            found = status_of(engine, address)
        except Rejected as error:
            raise HTTPException(status_code=error.status_code, detail=error.message) from None
        if found is None:
            raise HTTPException(status_code=404, detail=f"nothing known about {address}")
        return found

    @app.get("/signing")
    def signing_info() -> dict:
        return {
            "domain": {"name": signing.DOMAIN_NAME, "version": signing.DOMAIN_VERSION, "chainId": chain_id},
            "types": signing.APPLICATION_TYPES,
            "primaryType": "Application",
            "fields": runtime.scorer.input_fields,
            "fieldsHash": "keccak256(utf8(RFC 8785 canonical JSON of fields))",
        }

    @app.get("/health")
    def health() -> dict:
        with store.session(engine) as db:
            cursor = store.get_meta(db, watcher.CURSOR)
            open_push = db.exec(select(Push).where(col(Push.status).in_(store.OPEN_PUSH))).first()
            queued = watcher.queue_size(db)
        return {
            "chain_id": chain_id,
            "credit_oracle": runtime.chain.oracle.address,
            "signer": runtime.account.address if runtime.account else None,
            "model_id": runtime.scorer.model_id,
            "requests_cursor": int(cursor) if cursor is not None else None,
            "open_push": open_push.id if open_push else None,
            "queued": queued,
            "max_queued": runtime.settings.max_queued,
        }

    return app
