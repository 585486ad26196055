"""Browser tests: headless Debian chromium driven by Playwright, against the real stack.

One anvil + deployment + oracle service + indexer API (which serves the web app) per test
module; one browser per session. Each role gets its own page (own browser context) with an
injected EIP-1193 wallet (wallet_provider.js) whose requests the Python side answers: account
and chain requests itself, everything else forwarded to anvil, which signs for its unlocked dev
accounts (eth_sendTransaction, eth_signTypedData_v4). Any request that leaves 127.0.0.1 fails
the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from web3 import Web3

from peerlend import abi
from peerlend.devchain import Anvil, free_port
from tests.oracle.helpers import deploy, dev_account, model_path, service_env, start_service
from tests.web.helpers import (
    CHAIN_ID,
    CHROMIUM_ARGS,
    DESKTOP,
    OPERATOR_TOKEN,
    PROVIDER_JS,
    ROOT,
    SCREENSHOTS,
)


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory) -> Path:
    if os.environ.get("PEERLEND_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def chromium_path() -> str:
    """Debian's chromium, installed by scripts/ci_chromium.sh when missing (as root, in CI)."""
    path = os.environ.get("PEERLEND_CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "ci_chromium.sh")], capture_output=True, text=True
        )
        if result.returncode != 0:
            message = f"chromium unavailable: {result.stderr.strip().splitlines()[-1:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        path = result.stdout.strip()
    return path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Pages re-render when the indexer catches up; on a loaded 2-core machine that takes seconds.
    expect.set_options(timeout=15_000)
    executable = chromium_path()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Platform:
    anvil: Anvil
    record: dict
    w3: Web3
    app_url: str
    oracle_url: str
    logs: Path

    def contract(self, name: str):
        return self.w3.eth.contract(address=self.record["contracts"][name]["address"], abi=abi.load(name))

    @property
    def token(self):
        return self.w3.eth.contract(address=self.record["tokens"][0], abi=abi.TEST_STABLECOIN)

    def account(self, index: int) -> str:
        return dev_account(index).address

    def send(self, contract, fn: str, *args, sender: str):
        tx = getattr(contract.functions, fn)(*args).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt.status == 1, f"{fn}{args} reverted"
        return receipt

    def advance(self, seconds: int) -> None:
        """Moves the chain's clock and mines a block, so the indexer sees the new time."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])

    def wait_indexed(self, timeout: float = 30) -> int:
        head = self.w3.eth.block_number
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            indexed = requests.get(f"{self.app_url}/health", timeout=5).json().get("indexed_block") or 0
            if indexed >= head:
                return indexed
            time.sleep(0.1)
        raise AssertionError(f"indexer did not reach block {head}")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """anvil, the contracts, the oracle service and the indexer API serving the web app."""
    work = tmp_path_factory.mktemp("web")
    node = Anvil(accounts=20).start()
    processes = []
    try:
        deployments_dir = work / "deployments"
        record = deploy(node.url, deployments_dir)
        oracle_port, api_port = free_port(), free_port()
        env = service_env(
            node.url, deployments_dir, work / "oracle.db", model_path(work / "models"),
            PEERLEND_ORACLE_PRIVATE_KEY=dev_account(3).key.hex(), PEERLEND_ORACLE_API_PORT=str(oracle_port),
        )  # fmt: skip
        oracle_log = work / "oracle.log"
        processes.append(start_service(env, "serve", log_path=oracle_log))
        oracle_url = f"http://127.0.0.1:{oracle_port}"
        wait_http(f"{oracle_url}/health", processes[-1], oracle_log)

        api_env = {k: v for k, v in os.environ.items() if not k.startswith("PEERLEND_")}
        api_env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=f"sqlite:///{work / 'indexer.db'}",
            PEERLEND_RPC_URL=node.url,
            PEERLEND_DEPLOYMENTS_DIR=str(deployments_dir),
            PEERLEND_CONFIRMATIONS="0",
            PEERLEND_POLL_INTERVAL="0.1",
            PEERLEND_ORACLE_URL=oracle_url,
            PEERLEND_RISK_OPERATOR_TOKEN=OPERATOR_TOKEN,
        )
        api_log = work / "api.log"
        with open(api_log, "ab") as handle:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "backend.cli", "serve", "--port", str(api_port)],
                    cwd=ROOT, env=api_env, stdout=handle, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        app_url = f"http://127.0.0.1:{api_port}"
        wait_http(f"{app_url}/health", processes[-1], api_log)
        w3 = Web3(Web3.HTTPProvider(node.url))
        platform = Platform(node, record, w3, app_url, oracle_url, work)
        platform.wait_indexed()
        yield platform
    finally:
        for process in reversed(processes):
            stop(process)
        node.stop()


@dataclass
class Wallet:
    """The injected wallet's state on the Python side: which account it holds, which chain it
    says it is on, and whether the page has been granted the account."""

    rpc_url: str
    account: str
    chain_id: int = CHAIN_ID
    connected: bool = False
    knows_local_chain: bool = True  # False: like a wallet that never saw the local chain (4902)
    added_chains: list = field(default_factory=list)
    added_params: dict | None = None
    page: object = None

    def handle(self, method: str, params: list) -> dict:
        if method in ("eth_requestAccounts",):
            self.connected = True
            return {"result": [self.account]}
        if method == "eth_accounts":
            return {"result": [self.account] if self.connected else []}
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "net_version":
            return {"result": str(self.chain_id)}
        if method == "wallet_switchEthereumChain":
            wanted = int(params[0]["chainId"], 16)
            known = wanted in self.added_chains or (wanted == CHAIN_ID and self.knows_local_chain)
            if not known:
                return {"error": {"code": 4902, "message": "Unrecognized chain ID"}}
            self.chain_id = wanted
            self.page.evaluate("(id) => window.__peerlendWallet.emit('chainChanged', id)", hex(wanted))
            return {"result": None}
        if method == "wallet_addEthereumChain":
            self.added_chains.append(int(params[0]["chainId"], 16))
            self.added_params = params[0]
            return {"result": None}
        if self.chain_id != CHAIN_ID and method in ("eth_sendTransaction", "eth_signTypedData_v4"):
            return {"error": {"code": 4901, "message": "wallet is on another chain"}}
        if method == "eth_sendTransaction" and params[0].get("from", "").lower() != self.account.lower():
            return {"error": {"code": 4100, "message": "unauthorised account"}}
        if method in ("eth_sign", "personal_sign", "eth_signTypedData_v4") and not self.connected:
            return {"error": {"code": 4100, "message": "not connected"}}
        answer = requests.post(
            self.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=30
        ).json()
        if "error" in answer:
            return {"error": answer["error"]}
        return {"result": answer.get("result")}


@dataclass
class WalletPage:
    page: object
    wallet: Wallet
    context: object

    def goto(self, route: str = "") -> None:
        self.page.goto(f"{self.base}/#/{route}")

    base: str = ""


def is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:")) or urlparse(url).hostname == "127.0.0.1"


@pytest.fixture(scope="module")
def pages(browser, platform, request):
    """`open_page(account_index, viewport=DESKTOP)` → a WalletPage; every request that leaves
    127.0.0.1 is recorded and fails the test module."""
    contexts, outside = [], []

    def open_page(
        index: int | None,
        viewport=DESKTOP,
        connected: bool = True,
        lang: str = "en",
        second: int | None = None,
    ) -> WalletPage:
        """`second`: a second wallet (another extension, another account) announced by EIP-6963."""
        context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC")
        context.add_init_script(f"localStorage.setItem('peerlend.lang', '{lang}');")

        def guard(route):
            if is_local(route.request.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        wallet = Wallet(
            platform.anvil.url, platform.account(index) if index is not None else "", connected=connected
        )
        if index is not None:
            context.expose_binding(
                "__peerlendWalletRpc", lambda _source, method, params: wallet.handle(method, params)
            )
            context.add_init_script(PROVIDER_JS)
        if second is not None:
            other = Wallet(platform.anvil.url, platform.account(second), connected=connected)
            context.expose_binding(
                "__peerlendWalletRpc2", lambda _source, method, params: other.handle(method, params)
            )
            spec = {
                "binding": "__peerlendWalletRpc2", "global": "__peerlendWallet2", "primary": False,
                "uuid": "5e5f9d3a-1c1b-4c6e-9a63-peerlend0002", "name": "Second Wallet", "rdns": "org.example.second",
            }  # fmt: skip
            context.add_init_script(f"window.__peerlendWalletSpec = {json.dumps(spec)};\n{PROVIDER_JS}")
        page = context.new_page()
        page.on("request", lambda req: None if is_local(req.url) else outside.append(req.url))
        page.set_default_timeout(20_000)
        wallet.page = page
        contexts.append(context)
        return WalletPage(page, wallet, context, base=platform.app_url)

    yield open_page
    for context in contexts:
        context.close()
    assert not outside, f"pages requested outside 127.0.0.1: {sorted(set(outside))}"
