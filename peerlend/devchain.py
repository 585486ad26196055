"""A local anvil chain as a context manager, for tests, benchmarks and the demo.

    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url))

The process is always stopped on exit, and a free port is picked unless one is given.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

TEST_MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337


def anvil_binary() -> str | None:
    """The anvil executable itself. node_modules/.bin/anvil is a Node wrapper that spawns it;
    running the binary directly means stopping our process stops the chain, with no orphan."""
    root = Path(__file__).resolve().parent.parent
    for candidate in sorted(root.glob("node_modules/@foundry-rs/anvil-*/bin/anvil")):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("anvil")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Anvil:
    port: int = 0
    accounts: int = 20
    balance_eth: int = 100_000
    extra_args: list[str] = field(default_factory=list)
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Anvil:
        binary = anvil_binary()
        if binary is None:
            raise RuntimeError("anvil not found on PATH; run `make setup` (it installs @foundry-rs/anvil)")
        if not self.port:
            self.port = free_port()
        command = [
            binary,
            "--port", str(self.port),
            "--mnemonic", TEST_MNEMONIC,
            "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth),
            "--chain-id", str(CHAIN_ID),
            *self.extra_args,
        ]  # fmt: skip
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self.process.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
