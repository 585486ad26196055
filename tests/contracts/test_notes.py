"""LoanNote: the ERC-721 claim on a loan. Only the book mints and burns, the
deployer binds the book once, and whoever holds (or operates) a note is who
LoanBook pays."""

from __future__ import annotations

import boa
import pytest

from tests.contracts.helpers import DAY, UNIT, compiled

NOT_OWNER = "note: not owner or approved"
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture
def repaid_once(book, active_loan, borrower, lens):
    """An active loan whose first installment is paid: every note has a claim."""
    loan_id, note_ids = active_loan()
    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).past_due)
    for note_id in note_ids:
        assert book.claimable(note_id) > 0
    return loan_id, note_ids


@pytest.fixture
def cancelled_notes(book, make_loan, lenders, borrower):
    """A cancelled request with two notes (lenders 0 and 1) waiting for refund."""
    loan_id = make_loan()
    with boa.env.prank(lenders[0]):
        first = book.fund(loan_id, 100 * UNIT)
    with boa.env.prank(lenders[1]):
        second = book.fund(loan_id, 250 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(loan_id)
    return loan_id, [first, second]


# ---------------------------------------------------------------------------
# Binding the book
# ---------------------------------------------------------------------------


def test_the_book_creates_its_own_collection(notes, book, admin):
    """LoanBook creates its note collection from a blueprint: bound to it from the first block,
    with nothing anyone could rebind."""
    assert notes.book() == book.address
    assert notes.address == book.notes()
    assert not hasattr(notes, "set_book")


def test_a_collection_made_by_anyone_else_is_bound_to_its_maker(stranger, book):
    """A LoanNote deployed by someone other than the book is bound to its deployer, never to this
    book (the book's own collection refuses every other minter: test_only_book_mints_and_burns)."""
    with boa.env.prank(stranger):
        blueprint_copy = compiled("contracts/LoanNote.vy").deploy()
    assert blueprint_copy.book() == stranger != book.address


# ---------------------------------------------------------------------------
# Only the book mints and burns
# ---------------------------------------------------------------------------


def test_only_book_mints_and_burns(notes, book, make_loan, lenders, admin, stranger, risk_officer, pauser):
    loan_id = make_loan()
    with boa.env.prank(lenders[0]):
        note_id = book.fund(loan_id, 100 * UNIT)
    for who in (stranger, admin, risk_officer, pauser, lenders[0]):
        with boa.env.prank(who), boa.reverts("note: not book"):
            notes.mint(who, 999)
        with boa.env.prank(who), boa.reverts("note: not book"):
            notes.burn(note_id)
    assert notes.ownerOf(note_id) == lenders[0]
    assert notes.totalSupply() == 1


def test_fund_mints_note_to_lender(notes, book, make_loan, lenders):
    loan_id = make_loan()
    with boa.env.prank(lenders[0]):
        first = book.fund(loan_id, 100 * UNIT)
        second = book.fund(loan_id, 50 * UNIT)
    with boa.env.prank(lenders[1]):
        third = book.fund(loan_id, 10 * UNIT)
    assert (first, second, third) == (1, 2, 3)
    assert notes.ownerOf(first) == notes.ownerOf(second) == lenders[0]
    assert notes.ownerOf(third) == lenders[1]
    assert notes.balanceOf(lenders[0]) == 2
    assert notes.totalSupply() == 3
    assert notes.tokenURI(first).startswith("data:application/json;utf8,")
    assert notes.name() == "Peerlend Loan Note"
    assert notes.symbol() == "PLN"
    assert book.note(third).share == 10 * UNIT


def test_supports_erc721_and_erc165(notes):
    assert notes.supportsInterface(bytes.fromhex("80ac58cd"))  # ERC-721
    assert notes.supportsInterface(bytes.fromhex("01ffc9a7"))  # ERC-165
    assert notes.supportsInterface(bytes.fromhex("5b5e139f"))  # ERC-721 metadata
    assert not notes.supportsInterface(bytes.fromhex("ffffffff"))
    assert not notes.supportsInterface(bytes.fromhex("00000000"))


# ---------------------------------------------------------------------------
# A transferred note carries its claim
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["transferFrom", "safeTransferFrom"])
def test_sold_note_pays_the_buyer_not_the_seller(
    book, notes, stablecoin, repaid_once, lenders, stranger, method, lens
):
    loan_id, note_ids = repaid_once
    note_id, seller, buyer = note_ids[0], lenders[0], stranger
    accrued = book.claimable(note_id)  # earned before the sale: it goes with the note
    seller_balance = stablecoin.balanceOf(seller)

    with boa.env.prank(seller):
        getattr(notes, method)(seller, buyer, note_id)
    assert notes.ownerOf(note_id) == buyer

    with boa.env.prank(seller), boa.reverts(NOT_OWNER):
        book.claim(note_id)
    with boa.env.prank(buyer):
        assert book.claim(note_id) == accrued
    assert stablecoin.balanceOf(buyer) == accrued
    assert stablecoin.balanceOf(seller) == seller_balance

    # Later repayments reach the buyer too.
    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(book.loan(loan_id).borrower):
        book.repay(loan_id, lens.amount_due(loan_id).past_due)
    more = book.claimable(note_id)
    assert more > 0
    with boa.env.prank(seller), boa.reverts(NOT_OWNER):
        book.claim(note_id)
    with boa.env.prank(buyer):
        assert book.claim(note_id) == more
    assert stablecoin.balanceOf(buyer) == accrued + more
    assert stablecoin.balanceOf(seller) == seller_balance


def test_only_owner_or_approved_moves_a_note(notes, repaid_once, lenders, stranger):
    _, note_ids = repaid_once
    with boa.env.prank(stranger), boa.reverts("note: not owner or approved"):
        notes.transferFrom(lenders[0], stranger, note_ids[0])
    assert notes.ownerOf(note_ids[0]) == lenders[0]


@pytest.mark.parametrize("how", ["approve", "setApprovalForAll"])
def test_approved_operator_claims_for_the_owner(book, notes, stablecoin, repaid_once, lenders, stranger, how):
    _, note_ids = repaid_once
    note_id, owner, operator = note_ids[0], lenders[0], stranger
    with boa.env.prank(operator), boa.reverts(NOT_OWNER):
        book.claim(note_id)

    with boa.env.prank(owner):
        if how == "approve":
            notes.approve(operator, note_id)
        else:
            notes.setApprovalForAll(operator, True)
    owed = book.claimable(note_id)
    owner_balance = stablecoin.balanceOf(owner)
    with boa.env.prank(operator):
        assert book.claim(note_id) == owed
    assert stablecoin.balanceOf(owner) == owner_balance + owed  # paid to the owner
    assert stablecoin.balanceOf(operator) == 0
    assert notes.ownerOf(note_id) == owner

    # A single-note approval does not reach the owner's other notes.
    other = note_ids[1]
    if how == "approve":
        with boa.env.prank(operator), boa.reverts(NOT_OWNER):
            book.claim(other)


def test_approval_ends_with_the_sale(book, notes, repaid_once, lenders, stranger, alice):
    _, note_ids = repaid_once
    note_id, seller, operator, buyer = note_ids[0], lenders[0], stranger, alice
    with boa.env.prank(seller):
        notes.approve(operator, note_id)
        notes.transferFrom(seller, buyer, note_id)
    assert notes.getApproved(note_id) == ZERO
    with boa.env.prank(operator), boa.reverts(NOT_OWNER):
        book.claim(note_id)
    with boa.env.prank(buyer):
        assert book.claim(note_id) > 0


def test_claim_unknown_note(book, stranger):
    with boa.env.prank(stranger), boa.reverts("note: no such note"):
        book.claim(12_345)


# ---------------------------------------------------------------------------
# Refund burns the note
# ---------------------------------------------------------------------------


def test_refund_burns_the_note(book, notes, stablecoin, cancelled_notes, lenders):
    _, (first, second) = cancelled_notes
    supply = notes.totalSupply()
    before = stablecoin.balanceOf(lenders[0])
    with boa.env.prank(lenders[0]):
        book.refund(first)
    assert stablecoin.balanceOf(lenders[0]) == before + 100 * UNIT
    with boa.reverts("note: no such note"):
        notes.ownerOf(first)
    assert notes.balanceOf(lenders[0]) == 0
    assert notes.totalSupply() == supply - 1
    assert book.note(first).share == 0
    assert notes.ownerOf(second) == lenders[1]  # the other note is untouched

    # A burnt note can be neither refunded again nor claimed nor moved.
    with boa.env.prank(lenders[0]), boa.reverts("note: no such note"):
        book.refund(first)
    with boa.env.prank(lenders[0]), boa.reverts("note: no such note"):
        book.claim(first)
    with boa.env.prank(lenders[0]), boa.reverts("note: no such note"):
        notes.transferFrom(lenders[0], lenders[1], first)
    assert stablecoin.balanceOf(lenders[0]) == before + 100 * UNIT


def test_refund_needs_owner_or_operator(book, notes, stablecoin, cancelled_notes, lenders, stranger):
    _, (first, second) = cancelled_notes
    with boa.env.prank(stranger), boa.reverts(NOT_OWNER):
        book.refund(first)
    with boa.env.prank(lenders[1]), boa.reverts(NOT_OWNER):
        book.refund(first)  # owns another note of the same loan, not this one

    with boa.env.prank(lenders[1]):
        notes.setApprovalForAll(stranger, True)
    before = stablecoin.balanceOf(lenders[1])
    with boa.env.prank(stranger):
        book.refund(second)
    assert stablecoin.balanceOf(lenders[1]) == before + 250 * UNIT
    assert stablecoin.balanceOf(stranger) == 0


def test_refund_of_sold_note_pays_the_buyer(book, notes, stablecoin, cancelled_notes, lenders, stranger):
    _, (first, _) = cancelled_notes
    with boa.env.prank(lenders[0]):
        notes.transferFrom(lenders[0], stranger, first)
    seller_balance = stablecoin.balanceOf(lenders[0])
    with boa.env.prank(lenders[0]), boa.reverts(NOT_OWNER):
        book.refund(first)
    with boa.env.prank(stranger):
        book.refund(first)
    assert stablecoin.balanceOf(stranger) == 100 * UNIT
    assert stablecoin.balanceOf(lenders[0]) == seller_balance


def test_expired_request_refunds_every_note_and_burns_them(book, notes, stablecoin, make_loan, lenders):
    loan_id = make_loan(funding=3_600)
    ids = []
    for lender in lenders[:3]:
        with boa.env.prank(lender):
            ids.append(book.fund(loan_id, 10 * UNIT))
    boa.env.time_travel(seconds=3_600)
    for lender, note_id in zip(lenders[:3], ids, strict=True):
        before = stablecoin.balanceOf(lender)
        with boa.env.prank(lender):
            book.refund(note_id)
        assert stablecoin.balanceOf(lender) == before + 10 * UNIT
        with boa.reverts("note: no such note"):
            notes.ownerOf(note_id)
    assert notes.totalSupply() == 0
    assert book.held(stablecoin.address) == 0
