"""Regression tests for the LoanBook v2 review (issue #12): one per finding, each failing on the
v1 contract. Items 9, 10 and 12 (gas, size, on-chain metadata) are measured in bench/ and tested
in test_notes.py."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerlend import loanmath
from tests.contracts.helpers import (
    ACTIVE,
    BULLET,
    CANCELLED,
    DAY,
    DEFAULT_TERMS,
    EQUAL_INSTALLMENT,
    EXPIRED,
    FUNDED,
    REPAID,
    UNIT,
    compiled,
    events,
    exposure,
)
from tests.hypothesis_profiles import examples

T = DEFAULT_TERMS


def funded_loan(book, make_loan, fund_fully, **terms):
    loan_id = make_loan(**terms)
    return loan_id, fund_fully(loan_id)


# --------------------------------------------------------------------------- 1, 2: escrow never trapped


def test_funded_escrow_refunds_in_full_after_the_disbursement_deadline(
    book, make_loan, fund_fully, lenders, stablecoin
):
    """1. Once the review was over, `disburse` was the only way out of FUNDED; if it reverted for
    good (a token blocklisting the borrower), the lenders' principal stayed forever."""
    loan_id, note_ids = funded_loan(book, make_loan, fund_fully)
    assert book.loan_terms(loan_id).disburse_seconds == T.disburse_seconds
    deadline = book.loan(loan_id).review_ends_at + T.disburse_seconds
    boa.env.time_travel(seconds=deadline - 1 - boa.env.evm.patch.timestamp)
    assert book.loan(loan_id).status == FUNDED
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: not refundable"):
        book.refund(note_ids[0])
    boa.env.time_travel(seconds=1)
    assert book.loan(loan_id).status == EXPIRED
    with boa.reverts("loanbook: disbursement deadline passed"):
        book.disburse(loan_id)
    for lender, note_id in zip(lenders, note_ids, strict=False):
        share = book.note(note_id).share
        before = stablecoin.balanceOf(lender)
        with boa.env.prank(lender):
            book.refund(note_id)
        assert stablecoin.balanceOf(lender) == before + share
    assert len(events(book, "LoanExpired")) == 0  # recorded by the first refund, before this one
    assert book.held(stablecoin.address) == 0


def test_pause_cannot_hold_funded_escrow_past_the_deadline(
    book, make_loan, fund_fully, pauser, lenders, stablecoin
):
    """2. A pause stopped `disburse` and nothing else freed FUNDED escrow."""
    loan_id, note_ids = funded_loan(book, make_loan, fund_fully)
    with boa.env.prank(pauser):
        book.pause()
    boa.env.time_travel(seconds=T.review_seconds + T.disburse_seconds)
    book.expire(loan_id)  # while paused
    assert book.loan(loan_id).status == EXPIRED
    for lender, note_id in zip(lenders, note_ids, strict=False):
        with boa.env.prank(lender):
            book.refund(note_id)
    assert book.held(stablecoin.address) == 0
    assert book.paused()


# --------------------------------------------------------------------------- 3, 4: gates per identity


def test_exposure_cap_is_shared_by_every_wallet_of_one_identity(book, gates, stablecoin):
    """3. Exposure was kept per wallet: after a wallet's KYC lapsed, the same person attested to
    a new wallet started at zero while the old wallet's loan was still outstanding."""
    old, new = boa.env.generate_address("old wallet"), boa.env.generate_address("new wallet")
    person = b"\x42" * 32
    gates.verify(old, identity_hash=person)
    gates.score(old, 600)  # grade D: 5,000 per loan, 10,000 outstanding per identity
    with boa.env.prank(old):
        book.request_loan(stablecoin.address, 5_000 * UNIT, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT, 7 * DAY)
        book.request_loan(stablecoin.address, 5_000 * UNIT, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT, 7 * DAY)
    gates.revoke(old)
    gates.verify(new, identity_hash=person)
    gates.score(new, 600)
    assert book.exposure(person, stablecoin.address) == 10_000 * UNIT == exposure(book, new, stablecoin)
    with boa.env.prank(new), boa.reverts("loanbook: over exposure cap"):
        book.request_loan(stablecoin.address, 1, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT, 7 * DAY)


def test_lender_kyc_threshold_counts_per_lender_per_loan(book, admin, make_loan, stablecoin, deployer):
    """4. The threshold applied to each call, so an unverified lender funded any amount in parts."""
    unverified = boa.env.generate_address("unverified lender")
    with boa.env.prank(deployer):
        stablecoin.mint(unverified, 10_000 * UNIT)
    with boa.env.prank(unverified):
        stablecoin.approve(book.address, 2**256 - 1)
    with boa.env.prank(admin):
        book.set_lender_kyc_threshold(stablecoin.address, 500 * UNIT)
    loan_id, other = make_loan(), make_loan()
    with boa.env.prank(unverified):
        book.fund(loan_id, 300 * UNIT)
        book.fund(loan_id, 200 * UNIT)  # 500 in total: at the threshold
        with boa.reverts("loanbook: lender not verified"):
            book.fund(loan_id, 1)
        book.fund(other, 500 * UNIT)  # a different loan has its own count
    assert book.unverified_funded(loan_id, unverified) == 500 * UNIT


# --------------------------------------------------------------------------- 5: disburse re-checks


@pytest.mark.parametrize("lapse", ["blocked", "kyc revoked"])
def test_borrower_blocked_during_review_gets_nothing_and_lenders_refund(
    book, gates, make_loan, fund_fully, borrower, lenders, stablecoin, lapse
):
    """5. `disburse` re-checked nothing: a borrower blocked during the review was paid out."""
    loan_id, note_ids = funded_loan(book, make_loan, fund_fully)
    if lapse == "blocked":
        gates.block(borrower)
    else:
        gates.revoke(borrower)
    boa.env.time_travel(seconds=T.review_seconds)
    before = stablecoin.balanceOf(borrower)
    book.disburse(loan_id)
    assert events(book, "LoanCancelled")[0].previous_status == FUNDED
    assert stablecoin.balanceOf(borrower) == before
    assert book.loan(loan_id).status == CANCELLED
    if lapse == "blocked":  # (a revoked wallet has no identity left to look its exposure up by)
        assert exposure(book, borrower, stablecoin) == 0
    for lender, note_id in zip(lenders, note_ids, strict=False):
        with boa.env.prank(lender):
            book.refund(note_id)
    assert book.held(stablecoin.address) == 0


def test_review_window_cannot_be_zero(book, lens, admin):
    """5. `review_seconds = 0` was accepted, so the risk officer's veto window could vanish."""
    zero = DEFAULT_TERMS.__class__(**{**DEFAULT_TERMS.__dict__, "review_seconds": 0})
    with boa.env.prank(admin), boa.reverts("loanbook: review too short"):
        book.set_params(zero.as_tuple())
    assert lens.MIN_REVIEW_SECONDS() == 3_600


# --------------------------------------------------------------------------- 7: note sales


def test_note_natspec_tells_buyers_that_unclaimed_credit_travels_and_can_be_claimed_first():
    """7. Nothing told a note buyer that the seller can claim just before a marketplace fill."""
    data = compiled("contracts/LoanNote.vy").compiler_data
    notice = data.natspec.userdoc["notice"]
    assert "claimable" in notice and "front-run" in notice


# --------------------------------------------------------------------------- 8: prepayment


def test_prepaying_a_minute_after_disbursement_pays_a_minute_of_interest(book, lens, active_loan, borrower):
    """8. Money beyond what was due settled future installments with their full scheduled
    interest: 1e12 sent a minute after disbursement paid three installments' interest."""
    loan_id, _ = active_loan(principal=1_000 * UNIT, installments=12)
    boa.env.time_travel(seconds=60)
    with boa.env.prank(borrower):
        book.repay(loan_id, 300 * UNIT)
    event = events(book, "Repayment")[0]
    minute = loanmath.period_interest(1_000 * UNIT, 1_200, 60)
    assert event.interest == minute
    assert event.principal == 300 * UNIT - minute
    # The rest is re-amortized over the same 12 due dates: smaller installments.
    rows = lens.schedule(1_000 * UNIT, 1_200, 12, 30 * DAY, EQUAL_INSTALLMENT)
    due = lens.amount_due(loan_id)
    assert due.next_due_time == book.loan(loan_id).start + 30 * DAY
    assert due.next_due_amount < rows[0].principal + rows[0].interest


def test_partial_bullet_prepayment_keeps_the_pro_rata_discount(book, lens, active_loan, borrower):
    """8. A BULLET loan partly prepaid forfeited the pro-rata interest `repay_in_full` gives."""
    loan_id, _ = active_loan(principal=1_000 * UNIT, installments=1, period=360 * DAY, method=BULLET)
    start = book.loan(loan_id).start
    boa.env.time_travel(seconds=90 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, 500 * UNIT)
    first = events(book, "Repayment")[0]
    assert first.interest == loanmath.period_interest(1_000 * UNIT, 1_200, 90 * DAY)
    outstanding = 1_000 * UNIT - first.principal
    boa.env.time_travel(seconds=start + 360 * DAY - boa.env.evm.patch.timestamp)
    with boa.env.prank(borrower):
        book.repay_in_full(loan_id)
    second = events(book, "Repayment")[0]
    assert second.interest == loanmath.period_interest(outstanding, 1_200, 270 * DAY)
    assert book.loan(loan_id).status == REPAID


@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.integers(0, 3),
    payments=st.lists(
        st.tuples(st.integers(0, 40 * DAY), st.integers(1, 600 * UNIT)), min_size=1, max_size=5
    ),
)
def test_interest_never_exceeds_interest_on_principal_outstanding(
    book, lens, active_loan, borrower, method, payments
):
    """8. For any repayment sequence, total interest paid <= simple interest on the principal
    actually outstanding over time (floors only round down), and paying everything at time t
    costs exactly `repay_in_full` at t."""
    with boa.env.anchor():
        loan_id, _ = active_loan(principal=1_000 * UNIT, installments=6, method=method)
        integral, last, outstanding, interest = 0, boa.env.evm.patch.timestamp, 1_000 * UNIT, 0
        for wait, amount in payments:
            boa.env.time_travel(seconds=wait)
            if book.loan(loan_id).status != ACTIVE:
                break
            now = boa.env.evm.patch.timestamp
            integral += outstanding * (now - last)
            last = now
            with boa.env.prank(borrower):
                book.repay(loan_id, amount)
            event = events(book, "Repayment")[0]
            interest += event.interest
            outstanding = event.principal_outstanding
            assert interest <= integral * 1_200 // (10_000 * 365 * DAY)
        if book.loan(loan_id).status == ACTIVE:
            payoff = lens.amount_due(loan_id).payoff
            with boa.env.anchor(), boa.env.prank(borrower):
                assert book.repay_in_full(loan_id) == payoff
            with boa.env.prank(borrower):
                assert book.repay(loan_id, payoff + 10**9) == payoff
            assert book.loan(loan_id).status == REPAID


# --------------------------------------------------------------------------- 11: integrator ABI


def test_unknown_loan_says_no_such_loan(book, lens, lenders):
    """11. An unknown id reverted "not active" (actions) or returned all-zero tuples (views)."""
    missing = book.loan_count() + 1
    for call in (book.loan, book.ledger, book.loan_terms, book.default_record, lens.amount_due):
        with boa.reverts("loanbook: no such loan"):
            call(missing)
    for call in (book.repay, book.fund):
        with boa.env.prank(lenders[0]), boa.reverts("loanbook: no such loan"):
            call(missing, 1)
    for call in (book.repay_in_full, book.disburse, book.cancel, book.expire, book.mark_default):
        with boa.reverts("loanbook: no such loan"):
            call(missing)
    with boa.reverts("loanbook: no such note"):
        book.note(book.note_count() + 1)


def test_cancelling_ones_own_funded_loan_says_why(book, make_loan, fund_fully, borrower):
    """11. The borrower cancelling a FUNDED loan got a bare "not allowed"."""
    loan_id, _ = funded_loan(book, make_loan, fund_fully)
    with boa.env.prank(borrower), boa.reverts("loanbook: funded, only the risk officer can veto"):
        book.cancel(loan_id)


def test_lens_lists_a_loans_note_ids_and_events_come_in_order(book, lens, make_loan, lenders):
    """11. No view listed a loan's notes; LoanFullyFunded was logged before the LoanFunded of the
    funding that completed the loan."""
    a, b = make_loan(principal=300 * UNIT), make_loan(principal=300 * UNIT)
    ids = []
    for i in range(3):
        with boa.env.prank(lenders[i]):
            book.fund(b, 50 * UNIT)
            ids.append(book.fund(a, 100 * UNIT))
    names = [type(e).__name__ for e in book.get_logs()]  # of the funding that completed `a`
    assert names.index("LoanFunded") < names.index("LoanFullyFunded")
    # newest first, paged by the last id of the previous page, each note linked to the one before
    assert list(lens.loan_notes(a, 0)) == ids[::-1]
    assert list(lens.loan_notes(a, ids[1])) == ids[:1]
    assert list(lens.loan_notes(b, 0)) == [i - 1 for i in ids][::-1]
    assert [book.note(i).previous for i in ids] == [0, *ids[:2]]
    with boa.reverts("lens: note of another loan"):
        lens.loan_notes(a, ids[0] - 1)


def test_statuses_and_methods_are_public_constants(book, lens):
    """11. Integrators had to copy the status and method numbers from the docs."""
    assert [book.OPEN(), book.FUNDED(), book.ACTIVE(), book.REPAID(), book.DEFAULTED()] == [1, 2, 3, 4, 5]
    assert [book.CANCELLED(), book.EXPIRED()] == [6, 7]
    assert [book.EQUAL_INSTALLMENT(), book.EQUAL_PRINCIPAL(), book.INTEREST_ONLY(), book.BULLET()] == [
        0,
        1,
        2,
        3,
    ]
    assert json.dumps(lens.MAX_DISBURSE_SECONDS()) == str(7 * DAY)


def test_safe_transfer_to_a_non_receiver_says_why(book, notes, make_loan, lenders, stablecoin):
    """11. `safeTransferFrom` to a contract without onERC721Received reverted with no reason."""
    loan_id = make_loan()
    with boa.env.prank(lenders[0]):
        note_id = book.fund(loan_id, 100 * UNIT)
        with boa.reverts("note: receiver does not accept notes"):
            notes.safeTransferFrom(lenders[0], stablecoin.address, note_id)
    assert notes.ownerOf(note_id) == lenders[0]


# --------------------------------------------------------------------------- 12: metadata


def test_token_uri_is_onchain_json_with_an_svg_image(book, notes, lens, active_loan, borrower, stablecoin):
    """12. `tokenURI` pointed at a server; wallets now read the note's metadata from the chain."""
    loan_id, note_ids = active_loan()
    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).past_due)
    note_id = note_ids[1]
    uri = notes.tokenURI(note_id)
    prefix = "data:application/json;utf8,"
    assert uri.startswith(prefix)
    meta = json.loads(uri[len(prefix) :])
    assert meta["name"] == f"Peerlend Loan Note #{note_id}"
    assert "claimable" in meta["description"]
    traits = {a["trait_type"]: a["value"] for a in meta["attributes"]}
    assert traits == {
        "loan id": loan_id,
        "token": stablecoin.address.lower(),
        "share": book.note(note_id).share,
        "APR": "12.00%",
        "method": "EQUAL_INSTALLMENT",
        "status": "ACTIVE",
        "claimable": book.claimable(note_id),
    }
    image = "data:image/svg+xml;utf8,"
    assert meta["image"].startswith(image)
    svg = ElementTree.fromstring(meta["image"][len(image) :])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert f"loan {loan_id}" in texts and f"claimable {book.claimable(note_id)}" in texts
    with boa.reverts("note: no such note"):
        notes.tokenURI(10**9)
