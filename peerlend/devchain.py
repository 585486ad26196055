"""A local anvil chain as a context manager, for tests, benchmarks and the demo.

    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url))

The process is always stopped on exit, and a free port is picked unless one is given.
From a shell, `python -m peerlend.devchain COMMAND...` (what `scripts/devchain.sh` runs) starts
an anvil on `$PEERLEND_ANVIL_PORT` (default 8545) for the length of COMMAND, with
`APE_FOUNDRY_HOST` and `PEERLEND_RPC_URL` pointing at it. We start anvil ourselves instead of
letting ape-foundry spawn it: ape-foundry 0.8.12 polls anvil's log for "Listening on" without
waiting and races a slow start.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The well-known development mnemonic: anvil funds its accounts, deployments/params/local.json
# gives them roles by index. Never holds real money.
TEST_MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337


def test_account(index: int):
    """Test account `index` of TEST_MNEMONIC (an eth_account LocalAccount, key included)."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(TEST_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@contextlib.contextmanager
def ape_connected(url: str):
    """ape connected to the running node at `url` (ape-foundry attaches to it by host, instead
    of spawning its own); `APE_FOUNDRY_HOST` is restored afterwards. Yields the provider."""
    from ape import networks

    previous = os.environ.get("APE_FOUNDRY_HOST")
    os.environ["APE_FOUNDRY_HOST"] = url
    try:
        with networks.parse_network_choice("ethereum:local:foundry") as provider:
            yield provider
    finally:
        if previous is None:
            os.environ.pop("APE_FOUNDRY_HOST", None)
        else:
            os.environ["APE_FOUNDRY_HOST"] = previous


def anvil_binary() -> str | None:
    """The anvil executable itself. node_modules/.bin/anvil is a Node wrapper that spawns it;
    running the binary directly means stopping our process stops the chain, with no orphan.
    npm installs it under the project's node_modules (the working directory), else PATH."""
    for candidate in sorted(Path.cwd().glob("node_modules/@foundry-rs/anvil-*/bin/anvil")):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("anvil")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Anvil:
    port: int = 0
    accounts: int = 20
    balance_eth: int = 100_000
    chain_id: int = CHAIN_ID  # another id makes anvil pose as that chain (e.g. a testnet's, for deploy tests)
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
            "--chain-id", str(self.chain_id),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m peerlend.devchain",
        description="Run COMMAND with a local anvil up; anvil is stopped when COMMAND ends.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PEERLEND_ANVIL_PORT") or 8545))
    parser.add_argument("--log", type=Path, default=Path(".run") / "anvil.log", help="anvil's log file")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("give a COMMAND to run")
    if port_in_use(args.port):
        print(
            f"devchain: port {args.port} is already in use; set PEERLEND_ANVIL_PORT to a free port",
            file=sys.stderr,
        )
        return 1
    # SIGTERM unwinds like Ctrl-C, so the `with` below always stops anvil.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with Anvil(port=args.port, extra_args=["--silent"], log_path=args.log) as node:
        env = dict(os.environ, APE_FOUNDRY_HOST=node.url, PEERLEND_RPC_URL=node.url)
        try:
            return subprocess.call(args.command, env=env)
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
