"""The whole story driven from the browser, each role in its own page and wallet:

a KYC attester verifies the borrower; the borrower applies for a score (EIP-712 signed in the
wallet, scored by the oracle service) and requests a loan; two lenders fund it (approval step,
the second capped at what is left); it is disbursed after review; the borrower repays one
installment late, with a penalty; a lender claims and transfers a note (a contract that cannot
hold it is refused); another loan defaults and the reserve covers part; the disclosure page
shows it. Each step is asserted on the page and on the chain. Screenshots of every page, at
desktop and phone width, are written to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from peerlend.vocabulary import DAY
from tests.oracle.helpers import dev_account, fields_for, signed_payload
from tests.web.helpers import DESKTOP, PHONE, wait_tx_ok

UNIT = 10**6  # tUSD has 6 decimals
ATTESTER, ORACLE, ADMIN, RISK = 2, 3, 0, 1
BORROWER, OTHER_BORROWER, LENDER_A, LENDER_B, BUYER = 4, 5, 7, 8, 10
ACTIVE, DEFAULTED = 3, 5
SHOTS: list[Path] = []


def money(units: int) -> str:
    return f"{units:,.2f} tUSD"


@pytest.fixture(scope="module")
def funded_accounts(platform):
    """Test money (the test stablecoin's owner mints), KYC for the lenders and the second
    borrower, and a risk reserve, set up from Python: the story's subject is the browser."""
    admin = platform.account(ADMIN)
    book = platform.contract("LoanBook")
    registry = platform.contract("IdentityRegistry")
    for index in (BORROWER, OTHER_BORROWER, LENDER_A, LENDER_B):
        platform.send(platform.token, "mint", platform.account(index), 20_000 * UNIT, sender=admin)
    expires = platform.w3.eth.get_block("latest")["timestamp"] + 3 * 365 * DAY
    for index in (LENDER_A, LENDER_B, OTHER_BORROWER):
        ref = platform.w3.keccak(text=f"kyc-{index}")
        platform.send(
            registry, "attest", platform.account(index), ref, expires, sender=platform.account(ATTESTER)
        )
    platform.send(platform.token, "mint", admin, 1_000 * UNIT, sender=admin)
    platform.send(platform.token, "approve", book.address, 300 * UNIT, sender=admin)
    platform.send(book, "deposit_reserve", platform.token.address, 300 * UNIT, sender=admin)
    platform.wait_indexed()
    return platform


def balance(platform, index: int) -> int:
    return platform.token.functions.balanceOf(platform.account(index)).call()


def shoot(wallet_page, name: str) -> None:
    """Desktop and phone screenshots of the page as it is now (into SHOTS, set by test_story)."""
    page = wallet_page.page
    page.evaluate("document.getElementById('txlog').replaceChildren()")  # transaction toasts
    SHOTS[0].mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)  # charts resize to the new box
        # Responsive: nothing wider than the screen (tables stack into cards on a phone).
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name} is {width}px wide at {viewport['width']}px"
        page.screenshot(path=str(SHOTS[0] / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def second_loan_in_default(platform) -> int:
    """Another borrower's loan, set up from Python up to the point where it may be marked in
    default: scored through the oracle service, requested, funded by lender B, disbursed."""
    account = dev_account(OTHER_BORROWER)
    body = signed_payload(account, fields_for(2), nonce=1)
    answer = requests.post(f"{platform.oracle_url}/applications", json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    oracle = platform.contract("CreditOracle")
    platform.send(oracle, "request_score", sender=account.address)
    deadline = time.monotonic() + 60
    while oracle.functions.score_of(account.address).call()[1] == 0:
        assert time.monotonic() < deadline, "the oracle service did not push the second borrower's score"
        time.sleep(0.2)
    book = platform.contract("LoanBook")
    token = platform.token.address
    receipt = platform.send(
        book, "request_loan", token, 500 * UNIT, 1500, 2, 30 * DAY, 0, 7 * DAY, sender=account.address
    )
    loan_id = book.events.LoanRequested().process_receipt(receipt)[0]["args"]["loan_id"]
    lender = platform.account(LENDER_B)
    platform.send(platform.token, "approve", book.address, 500 * UNIT, sender=lender)
    platform.send(book, "fund", loan_id, 500 * UNIT, sender=lender)
    platform.advance(DAY + 1)
    platform.send(book, "disburse", loan_id, sender=account.address)
    return loan_id


def test_story(funded_accounts, pages, screenshot_dir):
    platform = funded_accounts
    SHOTS[:] = [screenshot_dir]
    book = platform.contract("LoanBook")
    oracle = platform.contract("CreditOracle")
    registry = platform.contract("IdentityRegistry")
    borrower_address = platform.account(BORROWER)

    # 1. The KYC attester verifies the borrower in the operator console.
    attester = pages(ATTESTER)
    attester.goto("operator")
    expect(attester.page.get_by_test_id("roles")).to_contain_text("IdentityRegistry.KYC_ATTESTER_ROLE")
    attester.page.get_by_test_id("kyc-address").fill(borrower_address)
    attester.page.get_by_test_id("kyc-reference").fill("ID-2026-0004")
    attester.page.get_by_test_id("attest").click()
    wait_tx_ok(attester.page, "Attest")
    assert registry.functions.is_verified(borrower_address).call()

    # 2. The borrower applies for a score (typed data signed in the wallet) and requests a loan.
    borrower = pages(BORROWER)
    borrower.goto("borrow")
    expect(borrower.page.get_by_test_id("kyc")).to_contain_text("Verified until")
    expect(borrower.page.get_by_test_id("score")).to_have_text("No score yet")
    borrower.page.get_by_test_id("apply").click()
    expect(borrower.page.get_by_test_id("score")).to_contain_text(
        re.compile(r"Score \d+, grade [A-E]"), timeout=60_000
    )
    score = oracle.functions.score_of(borrower_address).call()
    assert 300 <= score[0] <= 850 and 1 <= score[1] <= 5
    expect(borrower.page.get_by_test_id("score")).to_contain_text(f"Score {score[0]}")
    expect(borrower.page.get_by_test_id("application-status")).to_contain_text("scored")

    borrower.page.get_by_test_id("req-principal").fill("1000")
    borrower.page.get_by_test_id("req-apr").fill("15")
    borrower.page.get_by_test_id("req-installments").fill("3")
    borrower.page.get_by_test_id("req-period").fill("30")
    expect(borrower.page.get_by_test_id("calc-fee")).to_contain_text("10.00 tUSD (1.00%)")
    expect(borrower.page.get_by_test_id("calc-receive")).to_contain_text("990.00 tUSD")
    expect(borrower.page.get_by_test_id("grade-limits")).to_contain_text("Max loan")
    shoot(borrower, "borrow")
    borrower.page.get_by_test_id("request").click()
    expect(borrower.page.get_by_test_id("page-loan")).to_be_visible(timeout=30_000)
    loan_id = book.functions.loan_count().call()
    assert loan_id == 1
    assert borrower.page.url.endswith(f"#/loan/{loan_id}")
    expect(borrower.page.get_by_test_id("status")).to_have_text("Open")
    assert book.functions.loan(loan_id).call()[3] == 1000 * UNIT

    # 3. Two lenders fund it: the first 600 (approval, then fund), the second is capped at 400.
    lender_a = pages(LENDER_A)
    lender_a.goto("market")
    expect(lender_a.page.get_by_test_id(f"loan-link-{loan_id}")).to_be_visible()
    shoot(lender_a, "market")
    lender_a.page.get_by_test_id(f"loan-link-{loan_id}").click()
    expect(lender_a.page.get_by_test_id("fund-cap")).to_contain_text(f"At most {money(1000)} is still open")
    lender_a.page.get_by_test_id("fund-amount").fill("600")
    lender_a.page.get_by_test_id("fund").click()
    wait_tx_ok(lender_a.page, f"Fund {money(600)}")  # after the approval
    expect(lender_a.page.get_by_test_id("funded")).to_contain_text(f"{money(600)} / {money(1000)}")

    lender_b = pages(LENDER_B)
    lender_b.goto(f"loan/{loan_id}")
    expect(lender_b.page.get_by_test_id("fund-cap")).to_contain_text(f"At most {money(400)} is still open")
    lender_b.page.get_by_test_id("fund-amount").fill("1000")
    before_b = balance(platform, LENDER_B)
    lender_b.page.get_by_test_id("fund").click()
    wait_tx_ok(lender_b.page, f"Fund {money(400)}")
    expect(lender_b.page.get_by_test_id("status")).to_have_text("In review")
    assert before_b - balance(platform, LENDER_B) == 400 * UNIT
    # Lender A's page follows the indexer live: no reload.
    expect(lender_a.page.get_by_test_id("status")).to_have_text("In review")
    expect(lender_a.page.get_by_test_id("funded")).to_contain_text(f"{money(1000)} / {money(1000)}")
    assert book.functions.loan(loan_id).call()[11] == 1000 * UNIT  # funded

    # 4. After the review window the borrower disburses.
    platform.advance(DAY + 1)
    before = balance(platform, BORROWER)
    borrower.goto(f"loan/{loan_id}")
    borrower.page.get_by_test_id("disburse").click()
    wait_tx_ok(borrower.page, "Disburse")
    expect(borrower.page.get_by_test_id("status")).to_have_text("Active")
    assert balance(platform, BORROWER) - before == 990 * UNIT
    assert book.functions.loan(loan_id).call()[8] == ACTIVE

    # 5. The first installment is repaid 5 days late: past the 3-day grace, with a penalty.
    platform.advance(35 * DAY)
    platform.wait_indexed()
    borrower.goto("portfolio")
    expect(borrower.page.get_by_test_id(f"overdue-{loan_id}")).to_contain_text("Overdue by 5 days")
    borrower.page.get_by_test_id(f"repay-link-{loan_id}").click()
    penalty_text = borrower.page.get_by_test_id("due-penalty")
    expect(penalty_text).not_to_have_text(money(0))
    shown_due = borrower.page.get_by_test_id("repay-amount").input_value()
    # Penalty keeps accruing by the second until the transaction lands: pay a cent more.
    borrower.page.get_by_test_id("repay-amount").fill(f"{float(shown_due) + 0.01:.6f}")
    borrower.page.get_by_test_id("repay").click()
    wait_tx_ok(borrower.page, "Repay ")  # after the approval
    expect(borrower.page.get_by_test_id("repayments")).to_be_visible()
    expect(borrower.page.get_by_test_id("penalty-paid")).not_to_have_text(money(0))
    repayments = book.events.Repayment().get_logs(from_block=platform.record["start_block"])
    assert len(repayments) == 1 and repayments[0]["args"]["penalty"] > 0
    assert book.functions.ledger(loan_id).call()[0] == 2  # cursor: installment 1 settled
    shoot(borrower, "loan")

    # 6. Lender A claims, then transfers the note; a contract that cannot hold it is refused.
    lender_a.goto("portfolio")
    note_id = 1
    expect(lender_a.page.get_by_test_id(f"claimable-{note_id}")).not_to_have_text(money(0))
    before = balance(platform, LENDER_A)
    claimable = book.functions.claimable(note_id).call()
    assert claimable > 0
    lender_a.page.get_by_test_id(f"claim-{note_id}").click()
    expect(lender_a.page.get_by_test_id(f"claimable-{note_id}")).to_have_text(money(0), timeout=30_000)
    assert balance(platform, LENDER_A) - before == claimable
    assert book.functions.claimable(note_id).call() == 0
    shoot(lender_a, "portfolio")

    notes = platform.contract("LoanNote")
    lender_a.page.get_by_test_id(f"transfer-to-{note_id}").fill(book.address)
    lender_a.page.get_by_test_id(f"transfer-{note_id}").click()
    expect(lender_a.page.get_by_test_id(f"transfer-error-{note_id}")).to_contain_text("cannot hold notes")
    assert notes.functions.ownerOf(note_id).call() == platform.account(LENDER_A)
    buyer = platform.account(BUYER)
    lender_a.page.get_by_test_id(f"transfer-to-{note_id}").fill(buyer)
    lender_a.page.get_by_test_id(f"transfer-{note_id}").click()
    expect(lender_a.page.get_by_test_id(f"claim-{note_id}")).to_have_count(0)
    expect(lender_a.page.get_by_test_id(f"transfer-{note_id}")).to_have_count(0, timeout=30_000)
    assert notes.functions.ownerOf(note_id).call() == buyer

    # 7. Another loan defaults; lender B marks it, and the reserve covers part.
    second = second_loan_in_default(platform)
    reserve_before = book.functions.reserve(platform.token.address).call()
    platform.advance(30 * DAY + 30 * DAY + 2 * DAY)
    platform.wait_indexed()
    lender_b.goto(f"loan/{second}")
    lender_b.page.get_by_test_id("mark-default").click()
    expect(lender_b.page.get_by_test_id("status")).to_have_text("Defaulted", timeout=30_000)
    record = book.functions.default_record(second).call()  # debt, cover, recovered, principal
    assert book.functions.loan(second).call()[8] == DEFAULTED
    assert 0 < record[1] < record[0]  # the reserve covered part, not all
    assert book.functions.reserve(platform.token.address).call() == reserve_before - record[1]
    expect(lender_b.page.get_by_test_id("reserve-cover")).to_have_text(money(record[1] / UNIT))

    # Lender B now holds two notes with money to claim (a repayment, the reserve's cover): claim all.
    lender_b.goto("portfolio")
    before = balance(platform, LENDER_B)
    owed = [book.functions.claimable(note).call() for note in (2, 3)]
    assert all(owed)
    lender_b.page.get_by_test_id("claim-all").click()
    expect(lender_b.page.get_by_test_id("claim-all")).to_have_count(0, timeout=30_000)
    assert [book.functions.claimable(note).call() for note in (2, 3)] == [0, 0]
    assert balance(platform, LENDER_B) - before == sum(owed)

    # 8. The disclosure page shows the default and the reserve's cover.
    visitor = pages(None)
    visitor.goto("disclosure")
    expect(visitor.page.get_by_test_id("stat-loans")).to_have_text("2")
    expect(visitor.page.get_by_test_id("stat-cover")).to_have_text(money(record[1] / UNIT))
    expect(visitor.page.get_by_test_id("stat-default-rate")).to_have_text("50.00%")
    expect(visitor.page.get_by_test_id("by-grade")).to_be_visible()
    # Volume and outstanding over time: both series drawn, one point a month, in token units; the
    # last month's outstanding is the book's outstanding now.
    over_time = visitor.page.get_by_test_id("volume-outstanding-chart")
    expect(over_time.locator("canvas")).to_be_visible()
    volume, outstanding = json.loads(over_time.get_attribute("data-points"))
    assert len(volume) == len(outstanding) >= 1 and sum(volume) > 0
    stats = requests.get(f"{platform.app_url}/stats", timeout=10).json()["tokens"][0]
    assert (
        outstanding[-1] == pytest.approx(int(stats["principal_outstanding"]) / UNIT) and outstanding[-1] > 0
    )
    with visitor.page.expect_download() as download:
        visitor.page.get_by_test_id("download-csv").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("token,section,key") and "grade" in csv_text
    shoot(visitor, "disclosure")

    # The remaining pages, for the screenshots: audit with the reconcile result, the operator console.
    visitor.goto("audit")
    expect(visitor.page.get_by_test_id("events")).to_contain_text("LoanDefaulted")
    visitor.page.get_by_test_id("run-reconcile").click()
    expect(visitor.page.get_by_test_id("reconcile-result")).to_have_text(
        "SQL mirror matches the chain", timeout=30_000
    )
    shoot(visitor, "audit")
    risk = pages(RISK)
    risk.goto("operator")
    expect(risk.page.get_by_test_id("paused")).to_have_text("Running")
    shoot(risk, "operator")
    risk.page.get_by_test_id("pause").click()
    expect(risk.page.get_by_test_id("paused")).to_have_text("Paused", timeout=30_000)
    assert book.functions.paused().call()
    risk.page.get_by_test_id("unpause").click()
    expect(risk.page.get_by_test_id("paused")).to_have_text("Running", timeout=30_000)
    assert not book.functions.paused().call()
    chinese = pages(None, lang="zh")
    chinese.goto(f"loan/{loan_id}")
    expect(chinese.page.get_by_test_id("status")).to_have_text("还款中")
    shoot(chinese, "loan-zh")
