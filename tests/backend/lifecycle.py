"""Drives a full Peerlend history on a real anvil with ape, for the indexer tests.

Ten loans covering every status and path: repaid (one late installment with penalty, a note
sold to a buyer, a pay-ahead, repay_in_full), defaulted (reserve cover, a partial recovery),
defaulted and recovered in full (a partial recovery, then repay_in_full), cancelled (refund),
expired and recorded (refund), expired unrecorded (EXPIRED only by deadline), active 31–90 and
1–30 days past due (the first with two notes of one lender), open, funded in review; several
lenders with several notes each; plus KYC attest/revoke, a blocklist entry, two score pushes,
a reserve deposit and a fee withdrawal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peerlend.vocabulary import DAY

UNIT = 10**6
MODEL = b"\x42" * 32
MODEL2 = b"\x43" * 32
DEAD = "0x000000000000000000000000000000000000dEaD"
BEEF = "0x000000000000000000000000000000000000bEEF"


@dataclass
class Scenario:
    contracts: dict[str, str]
    token: str
    deployer: str
    borrower_a: str
    borrower_b: str
    lenders: list[str]
    buyer: str
    loans: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    end_block: int = 0
    end_time: int = 0


def drive(record: dict) -> Scenario:
    from ape import accounts, chain, project

    c = {name: getattr(project, name).at(entry["address"]) for name, entry in record["contracts"].items()}
    token, book, notes, lens = c["TestStablecoin"], c["LoanBook"], c["LoanNote"], c["LoanLens"]
    identity, oracle = c["IdentityRegistry"], c["CreditOracle"]
    test = accounts.test_accounts
    deployer, officer, attester, oracle_key = test[0], test[1], test[2], test[3]
    a, b = test[4], test[5]
    l1, l2, l3 = test[6], test[7], test[8]
    buyer = test[10] if len(test) > 10 else test[1]
    sc = Scenario(
        contracts={name: entry["address"] for name, entry in record["contracts"].items()},
        token=token.address,
        deployer=deployer.address,
        borrower_a=a.address,
        borrower_b=b.address,
        lenders=[l1.address, l2.address, l3.address],
        buyer=buyer.address,
    )

    def at(timestamp: int) -> None:
        chain.pending_timestamp = timestamp

    def request(who, principal, apr, n, period, method, funding) -> int:
        receipt = book.request_loan(
            token.address, principal * UNIT, apr, n, period, method, funding, sender=who
        )
        return receipt.events.filter(book.LoanRequested)[0].loan_id

    def fund(loan_id, who, amount) -> int:
        receipt = book.fund(loan_id, amount * UNIT, sender=who)
        return receipt.events.filter(book.LoanFunded)[0].note_id

    # Setup: money, approvals, KYC, scores, reserve.
    t0 = chain.pending_timestamp
    for account in (a, b, l1, l2, l3, buyer, deployer):
        token.mint(account, 100_000 * UNIT, sender=deployer)
        token.approve(book.address, 2**256 - 1, sender=account)
    for i, account in enumerate((a, b, l1, l2, l3, buyer)):
        identity.attest(account, bytes([i + 1]) * 32, t0 + 730 * DAY, sender=attester)
    identity.attest(DEAD, b"\x99" * 32, t0 + 730 * DAY, sender=attester)
    identity.revoke(DEAD, sender=attester)
    identity.set_blocked(BEEF, True, sender=officer)
    oracle.push_scores([a.address, b.address], [760, 650], MODEL, 300 * DAY, sender=oracle_key)
    book.deposit_reserve(token.address, 2_000 * UNIT, sender=deployer)

    # T0: four requests.
    sc.loans["repaid"] = loan1 = request(a, 3_000, 1_200, 3, 30 * DAY, 0, 7 * DAY)
    sc.notes["sold"] = fund(loan1, l1, 1_000)
    sc.notes["l2_loan1"] = fund(loan1, l2, 1_000)
    sc.notes["unclaimed"] = fund(loan1, l3, 1_000)
    sc.loans["defaulted"] = loan2 = request(b, 1_000, 1_500, 2, 30 * DAY, 1, 7 * DAY)
    sc.notes["l2_loan2"] = fund(loan2, l2, 600)
    sc.notes["l3_loan2"] = fund(loan2, l3, 400)
    sc.loans["cancelled"] = loan3 = request(a, 500, 1_000, 1, 30 * DAY, 3, 7 * DAY)
    sc.notes["cancelled"] = fund(loan3, l1, 200)
    book.cancel(loan3, sender=a)
    book.refund(sc.notes["cancelled"], sender=l1)
    sc.loans["expired"] = loan4 = request(b, 400, 1_500, 2, 30 * DAY, 2, DAY)
    sc.notes["expired"] = fund(loan4, l3, 100)

    # T1: review over, disburse; the lapsed request is refunded (records the expiry).
    at(chain.blocks.head.timestamp + DAY + 60)
    book.disburse(loan1, sender=a)
    book.disburse(loan2, sender=b)
    book.refund(sc.notes["expired"], sender=l3)
    sc.loans["expired_unrecorded"] = request(b, 300, 1_500, 1, 30 * DAY, 3, DAY)
    start = book.loan(loan1).start

    # Loan 1: first installment on time, then the note is sold.
    schedule1 = lens.schedule(3_000 * UNIT, 1_200, 3, 30 * DAY, 0)
    at(start + 30 * DAY)
    book.repay(loan1, schedule1[0].principal + schedule1[0].interest, sender=a)
    notes.transferFrom(l1, buyer, sc.notes["sold"], sender=l1)
    book.withdraw_fees(token.address, sender=deployer)

    # Second installment 10 days late (7 days of penalty after the 3-day grace), plus 5 ahead
    # (less than the last installment's interest, so settling early leaves some unearned).
    chain.mine(timestamp=start + 70 * DAY)
    due = lens.amount_due(loan1)
    book.repay(loan1, due.past_due + due.penalty * 2 + 5 * UNIT, sender=a)

    # Loan 2 defaults; the reserve covers half; the borrower recovers a little.
    at(start + 75 * DAY)
    book.mark_default(loan2, sender=l2)
    book.repay(loan2, 200 * UNIT, sender=b)
    book.claim(sc.notes["l2_loan2"], sender=l2)

    at(start + 80 * DAY)
    oracle.push_scores([a.address], [780], MODEL2, 300 * DAY, sender=oracle_key)

    # Loan 1 is settled early; the buyer and L2 claim, L3 leaves its credit unclaimed.
    at(start + 85 * DAY)
    book.repay_in_full(loan1, sender=a)
    book.claim(sc.notes["sold"], sender=buyer)
    book.claim(sc.notes["l2_loan1"], sender=l2)

    # Loan 6: interest-only, will be 45 days past due at the end.
    sc.loans["overdue_45"] = loan6 = request(a, 2_000, 1_000, 4, 30 * DAY, 2, 7 * DAY)
    # Two lenders, three notes: L1 funds twice.
    sc.notes["l1_loan6"] = fund(loan6, l1, 1_000)
    sc.notes["l1_loan6_again"] = fund(loan6, l1, 500)
    sc.notes["buyer_loan6"] = fund(loan6, buyer, 500)
    # Loan 7 will default, be partly recovered, then recovered in full (repay_in_full).
    sc.loans["recovered"] = loan_r = request(b, 600, 1_500, 2, 30 * DAY, 0, 7 * DAY)
    sc.notes["l1_recovered"] = fund(loan_r, l1, 200)
    sc.notes["l3_recovered"] = fund(loan_r, l3, 300)
    sc.notes["l1_recovered_again"] = fund(loan_r, l1, 100)
    at(chain.blocks.head.timestamp + DAY + 60)
    book.disburse(loan6, sender=a)
    book.disburse(loan_r, sender=b)
    start6 = book.loan(loan6).start
    at(start6 + 30 * DAY)
    schedule6 = lens.schedule(2_000 * UNIT, 1_000, 4, 30 * DAY, 2)
    book.repay(loan6, schedule6[0].interest, sender=a)
    end = start6 + 105 * DAY

    # Loan 7: 10 days past due at the end.
    at(end - 42 * DAY)
    sc.loans["overdue_11"] = loan7 = request(b, 500, 1_500, 3, 30 * DAY, 0, 7 * DAY)
    sc.notes["l3_loan7"] = fund(loan7, l3, 500)
    at(chain.blocks.head.timestamp + DAY + 60)
    book.disburse(loan7, sender=b)

    # The loan to recover: more than 30 days past its first due date, defaulted; 100 recovered,
    # then the rest with repay_in_full; L1 claims one of its two notes.
    at(start6 + 65 * DAY)
    book.mark_default(loan_r, sender=l3)
    book.repay(loan_r, 100 * UNIT, sender=b)
    book.repay_in_full(loan_r, sender=b)
    book.claim(sc.notes["l1_recovered"], sender=l1)

    # Still open, and fully funded in review, at the end.
    at(end - 2 * DAY)
    sc.loans["open"] = loan8 = request(a, 1_000, 900, 6, 30 * DAY, 1, 7 * DAY)
    sc.notes["l2_loan8"] = fund(loan8, l2, 100)
    at(end - 3_600)
    sc.loans["in_review"] = loan9 = request(b, 200, 1_500, 2, 30 * DAY, 0, 7 * DAY)
    sc.notes["l2_loan9"] = fund(loan9, l2, 200)

    chain.mine(timestamp=end)
    sc.end_block = chain.blocks.head.number
    sc.end_time = chain.blocks.head.timestamp
    return sc
