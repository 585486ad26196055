"""`serve`: the API with the indexer in a background thread; the API never goes down with the RPC."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import httpx
from fastapi.testclient import TestClient

from backend.api.app import create_app
from peerlend.devchain import free_port
from tests.backend.helpers import make_settings


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_api_with_background_indexer(chain, tmp_path):
    settings = make_settings(chain, f"sqlite:///{tmp_path / 'serve.db'}")
    with TestClient(create_app(settings, run_indexer=True)) as client:
        health = wait_for(
            lambda: (h := client.get("/health").json())["indexed_block"] == chain.scenario.end_block and h
        )
        assert health["ok"] is True and health["indexer"]["running"] is True
        assert health["indexer"]["events"] > 0 and health["indexer"]["last_error"] is None
        assert client.get("/loans").json()["total"] == 10


def test_api_survives_a_dead_rpc(chain, tmp_path):
    settings = make_settings(
        chain, f"sqlite:///{tmp_path / 'dead.db'}", rpc_url="http://127.0.0.1:9", rpc_timeout=0.5
    )
    with TestClient(create_app(settings, run_indexer=True)) as client:
        health = wait_for(
            lambda: (h := client.get("/health").json())["indexer"] and h["indexer"]["last_error"] and h
        )
        assert health["ok"] is False and health["indexed_block"] is None
        assert (
            "ConnectionError" in health["indexer"]["last_error"]
            or "Connection" in health["indexer"]["last_error"]
        )
        assert client.get("/loans").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
        assert client.get("/stats").status_code == 200
        response = client.get("/reconcile")
        assert response.status_code == 503 and "chain not reachable" in response.json()["detail"]


def test_serve_command(chain, tmp_path):
    port = free_port()
    script = shutil.which("peerlend-indexer")
    command = [script] if script else [sys.executable, "-m", "backend.cli"]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "PEERLEND_RPC_URL": chain.url,
        "PEERLEND_DEPLOYMENTS_DIR": str(chain.deployments_dir),
        "PEERLEND_POLL_INTERVAL": "0.1",
    }
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def indexed():
            try:
                body = httpx.get(f"{url}/health", timeout=1).json()
            except httpx.HTTPError:
                return None
            return body["indexed_block"] == chain.scenario.end_block and body

        assert wait_for(indexed, timeout=60)["chain_id"] == 31337
        assert httpx.get(f"{url}/loans/1").json()["status"] == "REPAID"
        assert "openapi" in httpx.get(f"{url}/openapi.json").json()
    finally:
        process.terminate()
        process.wait(timeout=20)
