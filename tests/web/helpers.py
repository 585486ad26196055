"""Constants and page helpers the browser tests and their fixtures share (imported from here,
never from conftest)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_JS = (Path(__file__).parent / "wallet_provider.js").read_text()
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
CHAIN_ID = 31337
# Screenshots go to the test's temporary directory; PEERLEND_SCREENSHOTS=1 writes the committed
# ones in docs/screenshots/ (their dates and hashes change on every run).
SCREENSHOTS = ROOT / "docs" / "screenshots"
OPERATOR_TOKEN = "operator-test-token"  # acknowledges AML alerts (PEERLEND_RISK_OPERATOR_TOKEN)


def wait_tx_ok(page, label: str) -> None:
    """The transaction log line whose label starts with `label` says it was confirmed."""
    line = page.locator("[data-testid=tx]", has=page.locator("b", has_text=label)).first
    expect(line).to_have_class(re.compile(r"\btx-ok\b"), timeout=30_000)
    expect(line).to_contain_text("Confirmed in block")
