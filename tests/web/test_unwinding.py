"""The ways a loan ends early, driven from the browser in the wallets of the people who act:

the risk officer vetoes a fully funded loan during its review from the operator console and its
lender takes the money back with "Refund note"; a lender expires a request whose funding deadline
passed half funded and is refunded; a borrower pays a loan off with "Repay in full". Each is
asserted on the page and on the chain (statuses and balances to the unit).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from peerlend.vocabulary import DAY
from tests.web.helpers import wait_tx_ok

UNIT = 10**6  # tUSD has 6 decimals
ADMIN, RISK_OFFICER, ATTESTER, ORACLE = 0, 1, 2, 3
VETOED, EXPIRING, PAID_OFF = 14, 17, 18  # borrowers
LENDER, OTHER_LENDER = 15, 16
REPAID, CANCELLED, EXPIRED = 4, 6, 7


@pytest.fixture(scope="module")
def book(platform):
    """Money, KYC and scores set up from Python (the subject here is the browser)."""
    now = platform.w3.eth.get_block("latest").timestamp
    registry, oracle = platform.contract("IdentityRegistry"), platform.contract("CreditOracle")
    book = platform.contract("LoanBook")
    borrowers = [platform.account(i) for i in (VETOED, EXPIRING, PAID_OFF)]
    for i in (VETOED, EXPIRING, PAID_OFF, LENDER, OTHER_LENDER):
        account = platform.account(i)
        platform.send(platform.token, "mint", account, 10_000 * UNIT, sender=platform.account(ADMIN))
        platform.send(platform.token, "approve", book.address, 2**256 - 1, sender=account)
        ref = platform.w3.keccak(text=f"kyc-{i}")
        platform.send(registry, "attest", account, ref, now + 365 * DAY, sender=platform.account(ATTESTER))
    platform.send(oracle, "push_scores", borrowers, [760] * 3, b"\x42" * 32, 300 * DAY,
                  sender=platform.account(ORACLE))  # fmt: skip
    return book


def request(platform, book, borrower: int, principal: int) -> int:
    receipt = platform.send(book, "request_loan", platform.token.address, principal, 1_200, 3, 30 * DAY, 0,
                            7 * DAY, sender=platform.account(borrower))  # fmt: skip
    return book.events.LoanRequested().process_receipt(receipt)[0].args.loan_id


def fund(platform, book, loan: int, lender: int, amount: int) -> int:
    receipt = platform.send(book, "fund", loan, amount, sender=platform.account(lender))
    return book.events.LoanFunded().process_receipt(receipt)[0].args.note_id


def status(book, loan: int) -> int:
    return book.functions.loan(loan).call()[8]  # Loan.status


def balance(platform, index: int) -> int:
    return platform.token.functions.balanceOf(platform.account(index)).call()


def test_veto_during_review_then_refund(platform, book, pages):
    loan = request(platform, book, VETOED, 500 * UNIT)
    before = balance(platform, LENDER)
    note = fund(platform, book, loan, LENDER, 500 * UNIT)
    platform.wait_indexed()

    officer = pages(RISK_OFFICER)
    officer.goto("operator")
    officer.page.get_by_test_id(f"veto-{loan}").click()
    wait_tx_ok(officer.page, "Veto")
    assert status(book, loan) == CANCELLED

    lender = pages(LENDER)
    lender.goto(f"loan/{loan}")
    expect(lender.page.get_by_test_id("status")).to_have_attribute("data-status", "CANCELLED", timeout=30_000)
    lender.page.get_by_test_id(f"refund-{note}").click()
    wait_tx_ok(lender.page, f"Refund note #{note}")
    assert balance(platform, LENDER) == before
    expect(lender.page.get_by_test_id(f"refund-{note}")).to_have_count(0)  # nothing left to refund


def test_expire_a_request_past_its_funding_deadline_then_refund(platform, book, pages):
    loan = request(platform, book, EXPIRING, 800 * UNIT)
    before = balance(platform, OTHER_LENDER)
    note = fund(platform, book, loan, OTHER_LENDER, 300 * UNIT)
    platform.advance(7 * DAY + 60)
    platform.wait_indexed()

    lender = pages(OTHER_LENDER)
    lender.goto(f"loan/{loan}")
    lender.page.get_by_test_id("expire").click()
    wait_tx_ok(lender.page, "Expire")
    expect(lender.page.get_by_test_id("status")).to_have_attribute("data-status", "EXPIRED", timeout=30_000)
    assert status(book, loan) == EXPIRED
    lender.page.get_by_test_id(f"refund-{note}").click()
    wait_tx_ok(lender.page, f"Refund note #{note}")
    assert balance(platform, OTHER_LENDER) == before


def test_repay_in_full(platform, book, pages):
    loan = request(platform, book, PAID_OFF, 600 * UNIT)
    fund(platform, book, loan, LENDER, 600 * UNIT)
    platform.advance(DAY + 60)  # past the review
    platform.send(book, "disburse", loan, sender=platform.account(PAID_OFF))
    platform.advance(10 * DAY)  # ten days of interest
    platform.wait_indexed()
    lens = platform.contract("LoanLens")
    before = balance(platform, PAID_OFF)

    borrower = pages(PAID_OFF)
    borrower.goto(f"loan/{loan}")
    expect(borrower.page.get_by_test_id("repay-full")).to_contain_text("Repay in full")
    borrower.page.get_by_test_id("repay-full").click()
    wait_tx_ok(borrower.page, "Repay in full")
    expect(borrower.page.get_by_test_id("status")).to_have_attribute("data-status", "REPAID", timeout=30_000)
    assert status(book, loan) == REPAID
    (payment,) = book.events.Repayment().get_logs(from_block=0, argument_filters={"loan_id": loan})
    paid = payment.args
    assert before - balance(platform, PAID_OFF) == paid.amount  # taken to the unit, nothing more
    assert (paid.principal, paid.principal_outstanding) == (600 * UNIT, 0)
    # About ten days of 12 % interest, accrued to the second the payment landed.
    assert 600 * UNIT * 12 * 10 // (100 * 365) <= paid.interest < 600 * UNIT * 12 * 11 // (100 * 365)
    assert lens.functions.amount_due(loan).call()[5] == 0  # payoff
