"""Many concurrent requests against a small connection pool must all be answered.

Without the in-flight limit, sync dependencies and handlers on separate threadpool hops
deadlock once requests outnumber pool connections (bench/api.py saw the server stop at 100
connections with the default pool).
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from sqlalchemy import create_engine
from sqlalchemy.pool import QueuePool

from backend.api.app import create_app, pool_capacity


def test_hundred_concurrent_requests_on_a_two_connection_pool(indexed):
    settings, engine, _ = indexed
    small = create_engine(engine.url, poolclass=QueuePool, pool_size=1, max_overflow=1, pool_timeout=5,
                          connect_args={"check_same_thread": False})  # fmt: skip
    assert pool_capacity(small) == 2
    app = create_app(settings, engine=small)

    async def hammer():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api", timeout=60) as client:
            paths = ["/loans", "/loans/1", "/health", "/stats"] * 25
            return await asyncio.gather(*(client.get(path) for path in paths))

    # A fresh thread for the event loop: in a worker that already ran the browser tests,
    # Playwright's sync API keeps a loop running on the main thread, where asyncio.run refuses.
    results: list = []
    runner = threading.Thread(target=lambda: results.append(asyncio.run(hammer())))
    runner.start()
    runner.join(timeout=120)
    assert results, "the requests did not all complete within 120 s"
    responses = results[0]
    assert [r.status_code for r in responses] == [200] * 100
