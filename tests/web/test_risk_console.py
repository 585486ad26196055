"""The operator console's risk section in a real browser: a self-funded loan raises an AML alert
with its evidence, the vintage chart is drawn, and the risk officer blocklists the accounts on
chain and acknowledges the alert from the page."""

from __future__ import annotations

import time

import requests
from playwright.sync_api import expect

from peerlend.vocabulary import DAY
from tests.web.helpers import OPERATOR_TOKEN

UNIT = 10**6


def test_alerts_and_vintage_chart_in_the_operator_console(platform, pages):
    deployer, attester, oracle_key = (platform.account(i) for i in (0, 2, 3))
    borrower, mule = platform.account(12), platform.account(13)
    book, identity, oracle = (platform.contract(n) for n in ("LoanBook", "IdentityRegistry", "CreditOracle"))
    token = platform.token
    now = platform.w3.eth.get_block("latest").timestamp
    platform.send(token, "mint", borrower, 5_000 * UNIT, sender=deployer)
    for i, account in enumerate((borrower, mule)):
        platform.send(token, "approve", book.address, 2**256 - 1, sender=account)
        platform.send(identity, "attest", account, bytes([0x70 + i]) * 32, now + 365 * DAY, sender=attester)
    platform.send(oracle, "push_scores", [borrower], [760], b"\x42" * 32, 300 * DAY, sender=oracle_key)
    receipt = platform.send(
        book, "request_loan", token.address, 500 * UNIT, 1_200, 3, 30 * DAY, 0, 7 * DAY, sender=borrower
    )
    loan = book.events.LoanRequested().process_receipt(receipt)[0].args.loan_id
    platform.send(token, "transfer", mule, 600 * UNIT, sender=borrower)  # the lender's money
    funding = platform.send(book, "fund", loan, 500 * UNIT, sender=mule)
    platform.advance(DAY + 60)
    platform.send(book, "disburse", loan, sender=borrower)
    platform.wait_indexed()

    def self_funding():
        items = requests.get(f"{platform.app_url}/risk/alerts?rule=self_funding", timeout=5).json()["items"]
        return [a for a in items if a["loan_id"] == loan]

    deadline = time.monotonic() + 30
    while not self_funding() and time.monotonic() < deadline:
        time.sleep(0.2)
    (alert,) = self_funding()

    risk_officer = pages(1)
    risk_officer.goto("operator")
    page = risk_officer.page
    row = page.get_by_test_id("alerts").locator(
        "tr", has=page.locator(f"[data-testid=blocklist-{alert['id']}]")
    )
    expect(row).to_contain_text("self_funding", timeout=30_000)  # the console reads roles first
    expect(row).to_contain_text(f"Loan {loan} funded by {mule}")
    expect(row.locator("code[title]").first).to_have_attribute(
        "title", "0x" + bytes(funding.transactionHash).hex()
    )
    expect(page.get_by_test_id("vintage-chart").locator("canvas")).to_be_visible()

    page.get_by_test_id("operator-token").fill(OPERATOR_TOKEN)
    page.get_by_test_id("ack-by").fill("officer-1")
    page.get_by_test_id(f"blocklist-{alert['id']}").click()
    expect(page.get_by_test_id(f"ack-{alert['id']}")).to_have_text("blocklisted · officer-1", timeout=30_000)
    assert identity.functions.is_blocked(borrower).call() and identity.functions.is_blocked(mule).call()
    stored = requests.get(f"{platform.app_url}/risk/alerts/{alert['id']}", timeout=5).json()
    assert stored["ack"]["action"] == "blocklisted" and stored["blocked"] == {borrower: True, mule: True}


def test_borrower_portfolio_links_the_repayment_calendar(platform, pages):
    """The borrower of the previous test has an active loan: the portfolio links its calendar."""
    from icalendar import Calendar

    borrower = pages(12)
    borrower.goto("portfolio")
    link = borrower.page.get_by_test_id("calendar-link")
    expect(link).to_have_attribute("href", f"/accounts/{platform.account(12)}/calendar.ics", timeout=30_000)
    feed = requests.get(platform.app_url + link.get_attribute("href"), timeout=5)
    events = Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) == 3 and all("installment" in str(e["UID"]) for e in events)
