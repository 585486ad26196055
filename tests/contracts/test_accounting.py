"""Accounting scenarios the state machine reaches rarely: a default recovered in chunks across the
noteholders' cap, the lifetime penalty cap, O(1) distribution over 200 lenders, a tiny annuity
whose floors pay it off early."""

from __future__ import annotations

import boa
from eth_utils import keccak, to_checksum_address

from tests.contracts.helpers import (
    DAY,
    DEFAULT_TERMS,
    EQUAL_INSTALLMENT,
    FUNDED,
    INTEREST_ONLY,
    MAX,
    REPAID,
    UNIT,
    events,
    identity_of,
)
from tests.contracts.reference import schedule_int


def _address(name: str) -> str:
    return to_checksum_address(keccak(text=f"peerlend-accounting:{name}")[-20:])


def test_default_then_full_recovery_pays_noteholders_exactly_the_debt(
    book, notes, stablecoin, active_loan, borrower, lenders, deployer, stranger, lens
):
    """Partly repaid, defaulted with a reserve larger than the coverage, recovered in chunks,
    one of which straddles the noteholders' cap, with a note sold in between: after default the
    noteholders are credited exactly the debt, the reserve gets exactly its cover back, the
    borrower's exposure is released only by the last recovery, and claims add up to the unit."""
    token = stablecoin.address
    with boa.env.prank(deployer):
        stablecoin.mint(deployer, 5_000 * UNIT)
        stablecoin.approve(book.address, MAX)
        book.deposit_reserve(token, 5_000 * UNIT)
    loan_id, note_ids = active_loan(n_lenders=3, principal=1_000 * UNIT, installments=6)
    loan = book.loan(loan_id)
    terms = book.loan_terms(loan_id)

    # First installment on time, then silence.
    boa.env.time_travel(seconds=loan.period_seconds)
    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).next_due_amount)
    distributed_before = book.ledger(loan_id).distributed
    principal_out = lens.amount_due(loan_id).principal_outstanding
    boa.env.time_travel(seconds=loan.period_seconds + terms.default_after_seconds + 1)
    payoff = lens.amount_due(loan_id).payoff
    reserve_before = book.reserve(token)
    exposure_before = book.exposure(identity_of(borrower), token)
    assert exposure_before == principal_out

    book.mark_default(loan_id)
    record = book.default_record(loan_id)
    assert record.debt == payoff  # frozen at what `repay_in_full` would have taken
    assert record.principal == principal_out
    assert record.cover == principal_out * terms.coverage_bps // 10_000 < reserve_before
    assert book.reserve(token) == reserve_before - record.cover
    assert book.exposure(identity_of(borrower), token) == exposure_before  # still counts until recovered

    # Recover: a first chunk, a sale of note 0, then a chunk that crosses debt - cover.
    notes_cap = record.debt - record.cover
    first = notes_cap // 2
    with boa.env.prank(borrower):
        assert book.repay(loan_id, first) == first
    with boa.env.prank(lenders[0]):
        notes.transferFrom(lenders[0], stranger, note_ids[0])
    straddle = notes_cap - first + record.cover // 3
    with boa.env.prank(stranger):  # anyone may pay on the borrower's behalf
        stablecoin.approve(book.address, MAX)
    with boa.env.prank(deployer):
        stablecoin.mint(stranger, straddle)
    with boa.env.prank(stranger):
        assert book.repay(loan_id, straddle) == straddle
    (recovery,) = events(book, "Recovery")
    assert (recovery.to_noteholders, recovery.to_reserve) == (notes_cap - first, record.cover // 3)
    assert book.exposure(identity_of(borrower), token) == exposure_before
    with boa.env.prank(borrower):
        rest = book.repay_in_full(loan_id)
    assert rest == record.debt - first - straddle
    assert book.exposure(identity_of(borrower), token) == exposure_before - principal_out == 0
    with boa.env.prank(borrower), boa.reverts("loanbook: nothing owed"):
        book.repay(loan_id, 1)
    with boa.env.prank(borrower), boa.reverts("loanbook: nothing owed"):
        book.repay_in_full(loan_id)
    assert lens.amount_due(loan_id).payoff == 0

    # Exactly the debt went to the notes after default; the reserve is whole again.
    ledger = book.ledger(loan_id)
    assert ledger.distributed - distributed_before == record.debt
    assert book.reserve(token) == reserve_before
    owners = [stranger, lenders[1], lenders[2]]
    claimed = 0
    for owner, note_id in zip(owners, note_ids, strict=True):
        share = book.note(note_id).share
        with boa.env.prank(owner):
            got = book.claim(note_id)
        claimed += got
        fair = share * ledger.distributed // 1_000 // UNIT
        assert fair - 1 <= got <= fair
    assert ledger.distributed - len(note_ids) <= claimed <= ledger.distributed
    assert stablecoin.balanceOf(book.address) >= book.held(token) + book.reserve(token) + book.fees(token)


def test_penalty_stops_at_its_lifetime_cap(book, active_loan, borrower, stablecoin, lens):
    """The cap is on all penalty ever charged, not on what is owed: once reached (through
    recorded accruals), paying the penalty off and staying late charges nothing more, and the
    payoff is principal + all scheduled interest + exactly the cap."""
    loan_id, _ = active_loan(principal=1_000 * UNIT, installments=3, period=30 * DAY, method=INTEREST_ONLY)
    terms = book.loan_terms(loan_id)
    cap = 1_000 * UNIT * terms.penalty_cap_bps // 10_000
    scheduled_interest = sum(
        row.interest for row in lens.schedule(1_000 * UNIT, 1_200, 3, 30 * DAY, INTEREST_ONLY)
    )
    paid = 0
    accrued = 0
    for _ in range(8):  # small payments record accrual along the way
        boa.env.time_travel(seconds=200 * DAY)
        with boa.env.prank(borrower):
            paid += book.repay(loan_id, 1)
        accrued += sum(e.amount for e in events(book, "PenaltyAccrued"))
        assert book.ledger(loan_id).penalty_charged == accrued <= cap
    assert accrued == cap
    owed = book.ledger(loan_id).penalty_owed
    with boa.env.prank(borrower):
        paid += book.repay(loan_id, owed)  # the penalty goes first
    assert book.ledger(loan_id).penalty_owed == 0
    boa.env.time_travel(seconds=400 * DAY)
    assert lens.amount_due(loan_id).penalty == 0
    with boa.env.prank(borrower):
        paid += book.repay_in_full(loan_id)
    assert not events(book, "PenaltyAccrued")
    assert book.loan(loan_id).status == REPAID
    assert paid == 1_000 * UNIT + scheduled_interest + cap


def test_two_hundred_lenders_cost_the_same_as_one(
    book, notes, stablecoin, make_loan, borrower, lenders, admin, deployer
):
    """Distribution is O(1): repay, claim and repay_in_full cost the same gas (within 1%) on a
    loan with 200 noteholders as on one with a single noteholder, and the 200 notes' credit adds
    up to what was distributed, less at most one unit per note."""
    token = stablecoin.address
    principal = 1_000 * UNIT
    crowd = [_address(f"crowd{i}") for i in range(200)]
    with boa.env.prank(admin):
        book.set_lender_kyc_threshold(token, MAX)  # the crowd is not KYC'd; gating is not under test
    with boa.env.prank(deployer):
        for account in crowd:
            stablecoin.mint(account, principal // 200 + 1)  # a balance left: claims are nonzero-to-nonzero
    single, many = make_loan(principal=principal), make_loan(principal=principal)
    # A third, partly funded request keeps `held` nonzero, so no measured call pays for a
    # zero-to-nonzero store the other one does not.
    with boa.env.prank(lenders[1]):
        book.fund(make_loan(principal=principal), principal // 2)
    with boa.env.prank(lenders[0]):
        (single_note,) = [book.fund(single, principal)]
    crowd_notes = []
    for account in crowd:
        with boa.env.prank(account):
            stablecoin.approve(book.address, MAX)
            crowd_notes.append(book.fund(many, principal // 200))
    assert book.loan(many).status == FUNDED
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(single)
    book.disburse(many)

    def gas(call, *args, sender):
        with boa.env.prank(sender):
            call(*args)
        return book._computation.get_gas_used()

    boa.env.time_travel(seconds=10 * DAY)
    g_one, g_many = (
        gas(book.repay, single, 50 * UNIT, sender=borrower),
        gas(book.repay, many, 50 * UNIT, sender=borrower),
    )
    assert abs(g_one - g_many) <= g_one // 100, (g_one, g_many)
    c_one = gas(book.claim, single_note, sender=lenders[0])
    c_many = gas(book.claim, crowd_notes[123], sender=crowd[123])
    assert abs(c_one - c_many) <= c_one // 100, (c_one, c_many)
    f_one, f_many = (
        gas(book.repay_in_full, single, sender=borrower),
        gas(book.repay_in_full, many, sender=borrower),
    )
    assert abs(f_one - f_many) <= f_one // 100, (f_one, f_many)

    distributed = book.ledger(many).distributed
    total = book.note(crowd_notes[123]).claimed + sum(book.claimable(n) for n in crowd_notes)
    assert distributed - 200 <= total <= distributed
    assert book.held(token) >= sum(book.claimable(n) for n in crowd_notes) + book.claimable(single_note)


def test_paid_off_tiny_annuity_is_repaid(book, make_loan, fund_fully, borrower, stranger, lens):
    """An EQUAL_INSTALLMENT schedule whose floors pay the principal off early ends in a (0, 0)
    installment; paying every scheduled unit settles the loan (the cursor is the oldest
    installment with anything unpaid, n + 1 when nothing is). It once stayed ACTIVE."""
    principal, apr, n, period = 13, 3_600, 24, 60 * DAY
    rows = schedule_int(principal, apr, n, period, EQUAL_INSTALLMENT)
    assert rows[-1][1:] == (0, 0) and sum(r[1] + r[2] for r in rows) == principal
    loan_id = make_loan(principal=principal, apr_bps=apr, installments=n, period=period)
    fund_fully(loan_id, 1)
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(loan_id)
    with boa.env.prank(borrower):
        assert book.repay(loan_id, principal) == principal  # everything the schedule asks
    assert lens.amount_due(loan_id).payoff == 0
    assert book.loan(loan_id).status == REPAID
