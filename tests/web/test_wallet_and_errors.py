"""The web app's edges in a real browser: connecting through EIP-6963, a wallet on the wrong
chain, an unknown loan id, a contract revert shown in plain words, and the language switch."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import requests
from playwright.sync_api import expect

from tests.web.helpers import CHAIN_ID, ROOT


def test_served_at_root_with_local_assets(platform, pages):
    visitor = pages(None)
    requested = []
    visitor.page.on("request", lambda request: requested.append(request.url))
    visitor.goto("market")
    expect(visitor.page.get_by_test_id("page-market")).to_be_visible()
    expect(visitor.page.get_by_test_id("no-wallet")).to_be_visible()
    scripts = visitor.page.eval_on_selector_all(
        "script[src], link[rel=stylesheet]", "els => els.map(e => e.src || e.href)"
    )
    assert scripts and all(src.startswith(platform.app_url + "/app/") for src in scripts)
    # Live updates: the indexer's event stream when the API has one, else polling /health.
    config = requests.get(f"{platform.app_url}/app/config.json", timeout=10).json()
    live = f"{platform.app_url}/events/stream" if config["stream"] else f"{platform.app_url}/health"
    expect(visitor.page.get_by_test_id("market-empty")).to_be_visible()
    visitor.page.wait_for_timeout(1500)
    assert live in requested


def test_connect_through_eip6963(platform, pages):
    lender = pages(7, connected=False)
    lender.goto("market")
    lender.page.get_by_test_id("connect").click()
    expect(lender.page.get_by_test_id("account")).to_contain_text(platform.account(7)[:6])
    assert lender.wallet.connected


def test_several_wallets_discovered_by_eip6963(platform, pages):
    """Two wallets announce themselves: the page offers a choice and uses the one picked."""
    visitor = pages(7, second=8)
    visitor.goto("market")
    choice = visitor.page.get_by_test_id("wallet-choice")
    expect(choice.locator("option")).to_have_text(["Peerlend Test Wallet", "Second Wallet"])
    expect(visitor.page.get_by_test_id("account")).to_contain_text(platform.account(7)[:6])
    choice.select_option("Second Wallet")
    expect(visitor.page.get_by_test_id("account")).to_contain_text(
        "Second Wallet · " + platform.account(8)[:6]
    )


def test_wrong_chain_is_detected_and_switched(platform, pages):
    lender = pages(7)
    lender.wallet.chain_id = 1
    lender.goto("portfolio")
    banner = lender.page.get_by_test_id("wrong-chain")
    expect(banner).to_contain_text(f"chain 1, Peerlend runs on chain {CHAIN_ID}")
    lender.page.get_by_test_id("switch-chain").click()
    expect(banner).to_have_count(0)
    assert lender.wallet.chain_id == CHAIN_ID


def test_unknown_chain_is_added_then_switched(platform, pages):
    """A wallet that never saw the local chain answers 4902: the page adds it, then switches."""
    lender = pages(8)
    lender.wallet.chain_id, lender.wallet.knows_local_chain = 5, False
    lender.goto("market")
    lender.page.get_by_test_id("switch-chain").click()
    expect(lender.page.get_by_test_id("wrong-chain")).to_have_count(0)
    assert lender.wallet.added_chains == [CHAIN_ID] and lender.wallet.chain_id == CHAIN_ID
    assert lender.wallet.added_params["rpcUrls"] == [platform.anvil.url]


def test_unknown_loan_id(platform, pages):
    visitor = pages(None)
    visitor.goto("loan/999999")
    expect(visitor.page.get_by_test_id("not-found")).to_have_text("Loan #999999 was not found.")
    visitor.goto("loan/abc")
    expect(visitor.page.get_by_test_id("not-found")).to_be_visible()


def test_revert_reason_in_plain_words(platform, pages):
    """The operator withdraws fees before any were collected: the page says why it failed."""
    admin = pages(0)
    admin.goto("operator")
    admin.page.locator("[data-testid^=withdraw-]").first.click()
    error = admin.page.locator("[data-testid=tx].tx-error")
    expect(error).to_contain_text("There are no fees to withdraw. (loanbook: no fees)")


def test_language_switch(platform, pages):
    visitor = pages(None)
    visitor.goto("market")
    visitor.page.get_by_test_id("lang").click()
    expect(visitor.page.get_by_test_id("nav-market")).to_have_text("借款标的")
    expect(visitor.page.get_by_test_id("nav-disclosure")).to_have_text("信息披露")
    visitor.page.get_by_test_id("lang").click()
    expect(visitor.page.get_by_test_id("nav-market")).to_have_text(re.compile("Market"))


def test_connection_help_printed_by_make_demo(platform):
    """`python -m backend.web URL` (the end of `make demo`): URL, RPC, chain id, an account."""
    env = {**os.environ, "PEERLEND_RPC_URL": platform.anvil.url, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "backend.web", platform.app_url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"web app: {platform.app_url}/" in out
    assert f"RPC URL       {platform.anvil.url}" in out
    assert f"chain id      {CHAIN_ID}" in out
    assert platform.account(7) in out  # the demo's lender, to import


def test_operator_console_only_for_roles_and_blocklist(platform, pages):
    """No role: no Operator link and the console says so. The risk officer blocks an account and
    lifts the block again; the chain agrees each time."""
    nobody = pages(13)
    nobody.goto("operator")
    expect(nobody.page.get_by_test_id("no-role")).to_be_visible()
    expect(nobody.page.get_by_test_id("nav-operator")).to_have_count(0)

    registry = platform.contract("IdentityRegistry")
    target = platform.account(13)
    risk = pages(1)
    risk.goto("operator")
    expect(risk.page.get_by_test_id("nav-operator")).to_be_visible()
    risk.page.get_by_test_id("block-address").fill(target)
    risk.page.get_by_test_id("block").click()
    expect(risk.page.locator("[data-testid=tx].tx-ok")).to_have_count(1, timeout=30_000)
    assert registry.functions.is_blocked(target).call()
    risk.page.get_by_test_id("block-address").fill(target)
    risk.page.get_by_test_id("unblock").click()
    expect(risk.page.locator("[data-testid=tx].tx-ok")).to_have_count(2, timeout=30_000)
    assert not registry.functions.is_blocked(target).call()
