"""One full loan on a real anvil through ape: three lenders, repayment, claims."""

from __future__ import annotations

import pytest

from peerlend.vocabulary import DAY
from tests.integration.helpers import MODEL_ID as MODEL
from tests.integration.helpers import UNIT, deploy_fresh


@pytest.fixture(scope="module")
def deployed(ape_network):
    record, contracts = deploy_fresh()
    return contracts, record


def test_three_lenders_full_loan(deployed):
    from ape import accounts, chain

    contracts, record = deployed
    token, book, notes = contracts["TestStablecoin"], contracts["LoanBook"], contracts["LoanNote"]
    lens = contracts["LoanLens"]
    identity, oracle = contracts["IdentityRegistry"], contracts["CreditOracle"]
    test = accounts.test_accounts
    deployer, attester, oracle_key = test[0], test[2], test[3]
    borrower, lenders = test[4], [test[5], test[6], test[7]]

    for i, account in enumerate([borrower, *lenders]):
        token.mint(account, 100_000 * UNIT, sender=deployer)
        token.approve(book.address, 2**256 - 1, sender=account)
        identity.attest(account, bytes([i + 1]) * 32, chain.pending_timestamp + 365 * DAY, sender=attester)
    oracle.push_scores([borrower.address], [700], MODEL, 30 * DAY, sender=oracle_key)

    receipt = book.request_loan(token.address, 3_000 * UNIT, 1_200, 3, 30 * DAY, 0, 7 * DAY, sender=borrower)
    loan_id = receipt.events.filter(book.LoanRequested)[0].loan_id
    note_ids = []
    for lender in lenders:
        receipt = book.fund(loan_id, 1_000 * UNIT, sender=lender)
        note_ids.append(receipt.events.filter(book.LoanFunded)[0].note_id)
    assert [notes.ownerOf(n) for n in note_ids] == [lender.address for lender in lenders]
    assert book.loan(loan_id).status == 2  # FUNDED

    chain.pending_timestamp += DAY
    balance = token.balanceOf(borrower)
    book.disburse(loan_id, sender=borrower)
    assert token.balanceOf(borrower) - balance == 3_000 * UNIT * 99 // 100  # 1% origination fee

    schedule = lens.schedule(3_000 * UNIT, 1_200, 3, 30 * DAY, 0)
    for row in schedule:
        chain.pending_timestamp += 30 * DAY
        book.repay(loan_id, row.principal + row.interest, sender=borrower)
    assert book.loan(loan_id).status == 4  # REPAID

    interest = sum(row.interest for row in schedule)
    fee = interest * 1_000 // 10_000
    received = []
    for lender, note_id in zip(lenders, note_ids, strict=True):
        before = token.balanceOf(lender)
        book.claim(note_id, sender=lender)
        received.append(token.balanceOf(lender) - before)
    total = 3_000 * UNIT + interest - fee
    assert total - 3 <= sum(received) <= total
    assert max(received) - min(received) <= 1
    assert token.balanceOf(book.address) >= book.held(token.address) + book.reserve(
        token.address
    ) + book.fees(token.address)
