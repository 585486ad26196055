"""The FastAPI application: read-only JSON over the indexed database, OpenAPI at /docs."""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.api.cache import IndexedBlock, ResponseCache
from backend.api.docs import mount_docs
from backend.api.routes import (
    accounts,
    calculator,
    calendar,
    events,
    health,
    loans,
    notes,
    reconcile,
    risk,
    stats,
    stream,
    tokens,
)
from backend.api.schemas import Ping
from backend.db.session import migrate
from backend.indexer.sync import Indexer
from backend.risk.monitor import Monitor
from backend.settings import Settings, get_settings
from peerlend.db import make_engine

log = logging.getLogger("peerlend.api")

# Answers that are a function of the indexed block (cached per block, with ETags) ...
CACHED = (
    "/loans",
    "/notes",
    "/accounts",
    "/events",
    "/stats",
    "/tokens",
    "/calculator",
    "/openapi.json",
    "/docs",
)
# ... except the live stream.
NOT_CACHED = ("/events/stream",)
NOT_CACHED_ASSETS = ("/events/stream", "/docs/assets")


def _message(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
    message = error.get("msg", "invalid")
    return f"{where}: {message}" if where else message


class InFlightLimit:
    """Admits at most `limit` requests at a time; the rest wait in the event loop.

    FastAPI runs a sync dependency and the sync handler of one request on two different
    threadpool hops, and the request holds its database connection in between. Past
    pool-size concurrent requests, every pool connection can end up held by a request
    waiting for a thread while every thread waits for a connection: the server stops
    answering (measured by bench/api.py at 100 connections). Waiting here, before any
    connection or thread is taken, removes that cycle.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        # Streams stay open and hold no connection between pushes: they do not count.
        if scope["type"] != "http" or scope["path"].startswith(NOT_CACHED):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)


def pool_capacity(engine) -> int:
    """Connections the engine's pool can hand out at once (size + overflow)."""
    pool = engine.pool
    size = getattr(pool, "size", lambda: 5)()
    overflow = getattr(pool, "_max_overflow", 10)
    return max(1, size + max(overflow, 0))


def create_app(settings: Settings | None = None, *, engine=None, run_indexer: bool = False) -> FastAPI:
    """The API over `settings.database_url` (migrated on startup). With `run_indexer`, the
    indexer syncs in a background thread of the same process (`peerlend-indexer serve`)."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)

    block = IndexedBlock(engine, poll=settings.api_block_poll)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await anyio.to_thread.run_sync(migrate, engine)
        await block.start()
        thread = None
        if run_indexer:
            indexer = Indexer(settings, engine)
            indexer.on_commit = block.notify
            app.state.indexer = indexer
            thread = threading.Thread(
                target=indexer.run,
                kwargs={"fatal_deployment_errors": False},
                name="peerlend-indexer",
                daemon=True,
            )
            thread.start()
            # Transfers for the AML rules and reminder delivery: next to the one indexer.
            monitor = app.state.risk_monitor = Monitor(settings, engine)
            monitor_thread = threading.Thread(target=monitor.run, name="peerlend-risk", daemon=True)
            monitor_thread.start()
        try:
            yield
        finally:
            await block.stop()
            if thread is not None:
                app.state.indexer.stop()
                app.state.risk_monitor.stop()
                await anyio.to_thread.run_sync(thread.join, 10)
                await anyio.to_thread.run_sync(monitor_thread.join, 10)

    app = FastAPI(
        title="Peerlend indexer API",
        version="0.1.0",
        description=(
            "Read-only view of Peerlend's contracts, indexed from chain events. Amounts are decimal strings "
            "of token base units; times are block timestamps; statuses and amounts due are as of the last "
            "indexed block."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.indexer = None
    app.state.risk_monitor = None
    app.state.block = block
    # One connection is the indexer's when it runs in this process.
    app.add_middleware(InFlightLimit, limit=max(1, pool_capacity(engine) - (1 if run_indexer else 0)))
    # Outermost: a cached answer is sent before anything else runs.
    app.add_middleware(ResponseCache, block=block, prefixes=CACHED, exclude=NOT_CACHED_ASSETS)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        detail = "; ".join(_message(error) for error in errors) or "invalid request"
        clean = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        return JSONResponse(status_code=422, content={"detail": detail, "errors": clean})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse(status_code=500, content={"detail": f"internal error: {type(exc).__name__}"})

    for module in (
        health,
        loans,
        notes,
        accounts,
        calendar,
        events,
        stream,
        calculator,
        stats,
        tokens,
        reconcile,
        risk,
    ):
        app.include_router(module.router)
    mount_docs(app)

    @app.get(
        "/ping", response_model=Ping, tags=["health"], summary="A constant answer: the framework's own cost"
    )
    async def ping() -> dict:
        return {"ok": True}

    # The web app at `/` (same origin as the API); imported here so the API alone stays importable.
    from backend.web import mount

    mount(app)
    return app
