"""A JSON-RPC proxy in front of anvil that serves each receipt late.

A node imports a block (so the sender's `latest` nonce already counts its transactions) a
little before it serves the block's receipts; on anvil the gap is usually too short to hit
from a test. This proxy makes it `lag` seconds wide and deterministic: the first time a
receipt exists upstream the proxy notes the time, and it answers `null` for that receipt
until `lag` seconds have passed. Everything else is forwarded unchanged.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from peerlend.devchain import free_port


class LaggingReceipts:
    def __init__(self, upstream: str, lag: float):
        self.upstream, self.lag = upstream, lag
        self.first_seen: dict[str, float] = {}
        self.hidden = 0  # receipts answered as null although they existed
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answer(self, call: dict, client: httpx.Client) -> dict:
        reply = client.post(self.upstream, json=call).json()
        if call.get("method") == "eth_getTransactionReceipt" and reply.get("result") is not None:
            tx_hash = str(call["params"][0]).lower()
            with self.lock:
                seen = self.first_seen.setdefault(tx_hash, time.monotonic())
                if time.monotonic() - seen < self.lag:
                    self.hidden += 1
                    return {**reply, "result": None}
        return reply

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with httpx.Client(timeout=30) as client:
                    if isinstance(body, list):
                        out = [proxy._answer(call, client) for call in body]
                    else:
                        out = proxy._answer(body, client)
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> LaggingReceipts:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
