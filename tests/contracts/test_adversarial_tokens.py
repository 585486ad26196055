"""LoanBook against hostile and odd ERC-20s.

- NoReturnToken (USDT style, no return values): the whole lifecycle works.
- FeeOnTransferToken (1% fee): every pull is rejected and nothing changes.
- ReentrantToken (calls back into LoanBook from transfer/transferFrom): the
  reentrancy lock blocks every callback, during pulls and during pushes.
"""

from __future__ import annotations

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from tests.contracts.helpers import (
    ACTIVE,
    CANCELLED,
    DAY,
    DEFAULT_TERMS,
    EQUAL_INSTALLMENT,
    EXPIRED,
    FUNDED,
    MAX,
    OPEN,
    REPAID,
    UNIT,
    compiled,
    deploy_book,
    events,
    onboard,
)

FOT_REASON = "loanbook: fee-on-transfer token"


@pytest.fixture(scope="session")
def token_deployers():
    return {
        name: compiled(f"contracts/test/{name}.vy")
        for name in ("NoReturnToken", "FeeOnTransferToken", "ReentrantToken")
    }


# Module-scoped fixtures: deploying the gated system costs about a second, so
# each token's book is built once per module. Titanoboa's pytest plugin
# anchors every fixture and every test, so each test starts from the module
# fixture's state and everything (time travel included) is rolled back when
# the module is done.


def calldata(signature: str, *args) -> bytes:
    types = signature[signature.index("(") + 1 : -1].split(",") if not signature.endswith("()") else []
    return function_signature_to_4byte_selector(signature) + encode(types, list(args))


def request(book, borrower, token, principal=1_000 * UNIT, installments=3, funding=7 * DAY):
    with boa.env.prank(borrower):
        return book.request_loan(
            token.address, principal, 1_200, installments, 30 * DAY, EQUAL_INSTALLMENT, funding
        )


def accounting(book, token, accounts=(), loans=(), note_ids=()):
    """Everything a failed call must leave untouched."""
    return {
        "book_balance": token.balanceOf(book.address),
        "held": book.held(token.address),
        "reserve": book.reserve(token.address),
        "fees": book.fees(token.address),
        "loan_count": book.loan_count(),
        "note_count": book.note_count(),
        "balances": [token.balanceOf(a) for a in accounts],
        "loans": [book.loan(i) for i in loans],
        "ledgers": [book.ledger(i) for i in loans],
        "notes": [book.note(i) for i in note_ids],
        "claimable": [book.claimable(i) for i in note_ids],
    }


def assert_escrow_invariant(book, token):
    held, reserve, fees = book.held(token.address), book.reserve(token.address), book.fees(token.address)
    assert token.balanceOf(book.address) >= held + reserve + fees


# ---------------------------------------------------------------------------
# USDT-style token: no return values
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def usdt(token_deployers, deployer):
    with boa.env.prank(deployer):
        return token_deployers["NoReturnToken"].deploy()


@pytest.fixture(scope="module")
def usdt_book(usdt, admin, treasury, risk_officer, pauser, borrower, lenders, deployer):
    book, notes, gates, lens = deploy_book([usdt], admin, treasury, risk_officer, pauser)
    onboard(gates, borrowers=[borrower], lenders=lenders)
    with boa.env.prank(deployer):
        for account in [borrower, *lenders]:
            usdt.mint(account, 1_000_000 * UNIT)
    for account in [borrower, *lenders]:
        with boa.env.prank(account):
            assert usdt.approve(book.address, MAX) is None  # really returns nothing
    return book, notes, lens


def test_no_return_token_returns_nothing(usdt, deployer, alice):
    with boa.env.prank(deployer):
        usdt.mint(deployer, 10)
        assert usdt.transfer(alice, 4) is None
    assert usdt.balanceOf(alice) == 4
    with boa.env.prank(alice), boa.reverts("nrusd: insufficient balance"):
        usdt.transfer(deployer, 5)


def test_no_return_token_full_lifecycle(usdt, usdt_book, borrower, lenders, treasury, admin):
    book, notes, lens = usdt_book
    principal = 900 * UNIT
    loan_id = request(book, borrower, usdt, principal=principal)
    lender_before = [usdt.balanceOf(x) for x in lenders[:3]]
    borrower_before = usdt.balanceOf(borrower)

    note_ids = []
    for lender in lenders[:3]:
        with boa.env.prank(lender):
            note_ids.append(book.fund(loan_id, principal // 3))
    assert book.loan(loan_id).status == FUNDED
    assert usdt.balanceOf(book.address) == principal == book.held(usdt.address)
    assert [notes.ownerOf(n) for n in note_ids] == lenders[:3]

    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(loan_id)
    origination = principal * DEFAULT_TERMS.origination_fee_bps // 10_000
    assert book.loan(loan_id).status == ACTIVE
    assert usdt.balanceOf(borrower) == borrower_before + principal - origination
    assert book.fees(usdt.address) + book.reserve(usdt.address) == origination

    # Pay the first installment on time, then settle the rest early.
    boa.env.time_travel(seconds=30 * DAY)
    first = lens.amount_due(loan_id).past_due
    with boa.env.prank(borrower):
        assert book.repay(loan_id, first) == first
    boa.env.time_travel(seconds=10 * DAY)
    payoff = lens.amount_due(loan_id).payoff
    with boa.env.prank(borrower):
        assert book.repay_in_full(loan_id) == payoff
    assert book.loan(loan_id).status == REPAID
    assert_escrow_invariant(book, usdt)

    credited = book.ledger(loan_id).distributed
    received = []
    for lender, note_id in zip(lenders[:3], note_ids, strict=True):
        owed = book.claimable(note_id)
        with boa.env.prank(lender):
            assert book.claim(note_id) == owed
        received.append(owed)
        assert book.claimable(note_id) == 0
    # Pro rata, rounding down by at most a unit per note, never more than credited.
    assert sum(received) <= credited <= sum(received) + len(note_ids)
    for lender, before, got in zip(lenders[:3], lender_before, received, strict=True):
        assert usdt.balanceOf(lender) == before - principal // 3 + got
        assert got > principal // 3  # principal back plus interest
    assert_escrow_invariant(book, usdt)

    # Pushes of fees and pulls into the reserve work too.
    fees = book.fees(usdt.address)
    with boa.env.prank(admin):
        assert book.withdraw_fees(usdt.address) == fees
    assert usdt.balanceOf(treasury) == fees
    reserve = book.reserve(usdt.address)
    with boa.env.prank(lenders[4]):
        book.deposit_reserve(usdt.address, 7 * UNIT)
    assert book.reserve(usdt.address) == reserve + 7 * UNIT
    assert_escrow_invariant(book, usdt)


def test_no_return_token_refund_paths(usdt, usdt_book, borrower, lenders):
    book, notes, _ = usdt_book
    before = [usdt.balanceOf(x) for x in lenders[:2]]

    cancelled = request(book, borrower, usdt)
    expiring = request(book, borrower, usdt, funding=3_600)
    with boa.env.prank(lenders[0]):
        n1 = book.fund(cancelled, 300 * UNIT)
        n2 = book.fund(expiring, 200 * UNIT)
    with boa.env.prank(lenders[1]):
        n3 = book.fund(cancelled, 150 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(cancelled)
    assert book.loan(cancelled).status == CANCELLED

    boa.env.time_travel(seconds=3_600)
    assert book.loan(expiring).status == EXPIRED
    for lender, note_id in [(lenders[0], n1), (lenders[1], n3), (lenders[0], n2)]:
        with boa.env.prank(lender):
            book.refund(note_id)
    assert [usdt.balanceOf(x) for x in lenders[:2]] == before
    assert book.held(usdt.address) == 0
    assert usdt.balanceOf(book.address) == 0
    assert notes.totalSupply() == 0


# ---------------------------------------------------------------------------
# Fee-on-transfer token
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fot(token_deployers, deployer):
    with boa.env.prank(deployer):
        return token_deployers["FeeOnTransferToken"].deploy()


@pytest.fixture(scope="module")
def fot_book(fot, admin, treasury, risk_officer, pauser, borrower, lenders, deployer):
    book, notes, gates, lens = deploy_book([fot], admin, treasury, risk_officer, pauser)
    onboard(gates, borrowers=[borrower], lenders=lenders)
    with boa.env.prank(deployer):
        for account in [borrower, *lenders]:
            fot.mint(account, 1_000_000 * UNIT)
    for account in [borrower, *lenders]:
        with boa.env.prank(account):
            fot.approve(book.address, MAX)
    return book, notes, lens


def test_fee_on_transfer_token_takes_one_percent(fot, deployer, alice, bob):
    assert fot.fee_bps() == 100
    with boa.env.prank(deployer):
        fot.mint(alice, 10_000)
    with boa.env.prank(alice):
        fot.transfer(bob, 10_000)
    assert fot.balanceOf(bob) == 9_900
    assert fot.balanceOf(deployer) == 100


def test_fee_on_transfer_rejected_on_fund(fot, fot_book, borrower, lenders):
    book, notes, _ = fot_book
    loan_id = request(book, borrower, fot)
    who = [borrower, *lenders, book.address]
    before = accounting(book, fot, who, [loan_id])
    with boa.env.prank(lenders[0]), boa.reverts(FOT_REASON):
        book.fund(loan_id, 100 * UNIT)
    assert accounting(book, fot, who, [loan_id]) == before
    assert book.loan(loan_id).funded == 0
    assert book.loan(loan_id).status == OPEN
    assert notes.totalSupply() == 0


def test_fee_on_transfer_rejected_on_deposit_reserve(fot, fot_book, lenders):
    book, _, _ = fot_book
    who = [*lenders, book.address]
    before = accounting(book, fot, who)
    with boa.env.prank(lenders[0]), boa.reverts(FOT_REASON):
        book.deposit_reserve(fot.address, 50 * UNIT)
    assert accounting(book, fot, who) == before
    assert book.reserve(fot.address) == 0


@pytest.fixture
def fot_active(fot, fot_book, borrower, lenders, deployer):
    """An active loan opened while the fee was off; the fee is back on."""
    book, _, _ = fot_book
    with boa.env.prank(deployer):
        fot.set_fee_bps(0)
    loan_id = request(book, borrower, fot)
    note_ids = []
    for lender in lenders[:2]:
        with boa.env.prank(lender):
            note_ids.append(book.fund(loan_id, 500 * UNIT))
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(loan_id)
    with boa.env.prank(deployer):
        fot.set_fee_bps(100)
    boa.env.time_travel(seconds=30 * DAY)
    return loan_id, note_ids


@pytest.mark.parametrize("how", ["repay", "repay_in_full", "repay_by_third_party"])
def test_fee_switched_on_mid_loan_credits_what_arrived(
    fot, fot_book, fot_active, borrower, lenders, deployer, how
):
    """Regression (issue #12 item 6): a fee switched on after funding made every repayment revert on
    the balance-delta check, so the loan could only default. The rule now: `fund` and reserve
    deposits still reject a short delivery, but a payment credits what actually arrived."""
    book, _, lens = fot_book
    loan_id, note_ids = fot_active
    due = lens.amount_due(loan_id)
    held, balance = book.held(fot.address), fot.balanceOf(book.address)
    payer = lenders[3] if how == "repay_by_third_party" else borrower
    asked = due.payoff if how == "repay_in_full" else due.past_due
    arrives = asked - asked * fot.fee_bps() // 10_000
    with boa.env.prank(payer):
        got = book.repay_in_full(loan_id) if how == "repay_in_full" else book.repay(loan_id, asked)
    assert got == arrives
    assert fot.balanceOf(book.address) == balance + arrives
    event = events(book, "Repayment")[0]
    assert event.amount == event.principal + event.interest + event.penalty == arrives
    assert book.held(fot.address) == held + event.to_noteholders
    assert book.loan(loan_id).status == ACTIVE  # 1% short: not settled, still payable
    assert lens.amount_due(loan_id).principal_outstanding == due.principal_outstanding - event.principal
    assert_escrow_invariant(book, fot)

    # The rest arrives once the token stops taking a fee, and the loan settles.
    with boa.env.prank(deployer):
        fot.set_fee_bps(0)
    rest = lens.amount_due(loan_id)
    with boa.env.prank(payer):
        book.repay(loan_id, rest.payoff if how == "repay_in_full" else rest.past_due)
    assert book.ledger(loan_id).cursor == (4 if how == "repay_in_full" else 2)
    assert_escrow_invariant(book, fot)


# ---------------------------------------------------------------------------
# Reentrant token
# ---------------------------------------------------------------------------


class Arena:
    """A book in `reent` with positions the token contract itself owns, so a
    callback made by the token targets calls that would otherwise succeed."""

    def __init__(self, book, notes, token, deployer, borrower, lenders):
        self.book, self.notes, self.token, self.deployer = book, notes, token, deployer
        self.borrower, self.lenders = borrower, lenders

    def as_token(self, signature, *args):
        """Makes the token contract itself call the book."""
        with boa.env.prank(self.deployer):
            return self.token.execute(self.book.address, calldata(signature, *args))

    def arm(self, signature, args, *, on_transfer, on_transfer_from, swallow):
        with boa.env.prank(self.deployer):
            self.token.arm(
                self.book.address, calldata(signature, *args), on_transfer, on_transfer_from, swallow
            )

    def state(self):
        accounts = [self.borrower, *self.lenders, self.token.address, self.book.address]
        return accounting(
            self.book,
            self.token,
            accounts,
            range(1, self.book.loan_count() + 1),
            range(1, self.book.note_count() + 1),
        )


@pytest.fixture(scope="module")
def arena(token_deployers, admin, treasury, risk_officer, pauser, borrower, lenders, deployer):
    """Built once per module (see above)."""
    return _build_arena(token_deployers, admin, treasury, risk_officer, pauser, borrower, lenders, deployer)


def _build_arena(token_deployers, admin, treasury, risk_officer, pauser, borrower, lenders, deployer):
    with boa.env.prank(deployer):
        reent = token_deployers["ReentrantToken"].deploy()
    book, notes, gates, lens = deploy_book([reent], admin, treasury, risk_officer, pauser)
    # The token contract lends too, so its callbacks target positions it owns.
    onboard(gates, borrowers=[borrower], lenders=[*lenders, reent.address])
    with boa.env.prank(deployer):
        for account in [borrower, *lenders, reent.address]:
            reent.mint(account, 1_000_000 * UNIT)
    for account in [borrower, *lenders]:
        with boa.env.prank(account):
            reent.approve(book.address, MAX)
    a = Arena(book, notes, reent, deployer, borrower, lenders)
    with boa.env.prank(deployer):
        reent.execute(reent.address, calldata("approve(address,uint256)", book.address, MAX))

    # Loan 1, ACTIVE, one installment repaid: notes 1 and 2 (token contract)
    # and 3 (lender 0) all have something to claim.
    a.loan_active = request(book, borrower, reent)
    a.as_token("fund(uint256,uint256)", a.loan_active, 300 * UNIT)
    a.as_token("fund(uint256,uint256)", a.loan_active, 300 * UNIT)
    with boa.env.prank(lenders[0]):
        book.fund(a.loan_active, 400 * UNIT)
    a.note_token_1, a.note_token_2, a.note_lender = 1, 2, 3
    # Loan 2, CANCELLED: note 4 (token contract) and 5 (lender 2) refundable.
    a.loan_cancelled = request(book, borrower, reent)
    a.as_token("fund(uint256,uint256)", a.loan_cancelled, 100 * UNIT)
    with boa.env.prank(lenders[2]):
        book.fund(a.loan_cancelled, 100 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(a.loan_cancelled)
    a.note_token_refund, a.note_lender_refund = 4, 5
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    book.disburse(a.loan_active)
    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(borrower):
        book.repay(a.loan_active, lens.amount_due(a.loan_active).past_due)
    # Loan 3, OPEN with room for more funding.
    a.loan_open = request(book, borrower, reent)
    with boa.env.prank(lenders[1]):
        book.fund(a.loan_open, 100 * UNIT)
    # Loan 4, FUNDED, review over: ready to be disbursed.
    a.loan_funded = request(book, borrower, reent)
    with boa.env.prank(lenders[3]):
        book.fund(a.loan_funded, 1_000 * UNIT)
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    assert book.claimable(a.note_token_1) > 0
    assert book.claimable(a.note_lender) > 0
    assert book.loan(a.loan_funded).status == FUNDED
    return a


# Calls the token contract makes back into the book. Each one succeeds when
# made directly (see test_reentry_targets_are_valid_calls), so when it fails
# inside a callback, the reentrancy lock is what stopped it.
INNER_CALLS = {
    "claim": lambda a: ("claim(uint256)", (a.note_token_2,)),
    "fund": lambda a: ("fund(uint256,uint256)", (a.loan_open, 50 * UNIT)),
    "repay": lambda a: ("repay(uint256,uint256)", (a.loan_active, 10 * UNIT)),
    "refund": lambda a: ("refund(uint256)", (a.note_token_refund,)),
}


def _outer_fund(a):
    with boa.env.prank(a.lenders[1]):
        a.book.fund(a.loan_open, 100 * UNIT)


def _outer_repay(a):
    with boa.env.prank(a.borrower):
        a.book.repay(a.loan_active, 20 * UNIT)


def _outer_deposit(a):
    with boa.env.prank(a.lenders[4]):
        a.book.deposit_reserve(a.token.address, 5 * UNIT)


def _outer_claim(a):
    with boa.env.prank(a.lenders[0]):
        a.book.claim(a.note_lender)


def _outer_refund(a):
    with boa.env.prank(a.lenders[2]):
        a.book.refund(a.note_lender_refund)


def _outer_disburse(a):
    a.book.disburse(a.loan_funded)


# (outer call, hook on transfer (push), hook on transferFrom (pull))
PULLS = {"fund": _outer_fund, "repay": _outer_repay, "deposit_reserve": _outer_deposit}
PUSHES = {"claim": _outer_claim, "refund": _outer_refund, "disburse": _outer_disburse}
OUTER = {
    **{k: (f, False, True) for k, f in PULLS.items()},
    **{k: (f, True, False) for k, f in PUSHES.items()},
}


@pytest.mark.parametrize("inner", INNER_CALLS)
def test_reentry_targets_are_valid_calls(arena, inner):
    """Control: outside a callback, every inner call goes through."""
    signature, args = INNER_CALLS[inner](arena)
    before = arena.state()
    arena.as_token(signature, *args)
    assert arena.state() != before


def _innermost_book_revert(err: BoaError, book) -> bytes:
    frame = err.stack_trace[0]  # innermost failing frame
    assert book.address in frame.contract_repr, frame
    return frame.vm_error.args[0]


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("inner", INNER_CALLS)
def test_reentry_reverts_outer_call(arena, outer, inner):
    """Bubble mode: the blocked callback reverts the whole outer call."""
    outer_call, on_transfer, on_transfer_from = OUTER[outer]
    signature, args = INNER_CALLS[inner](arena)
    before = arena.state()
    arena.arm(signature, args, on_transfer=on_transfer, on_transfer_from=on_transfer_from, swallow=False)
    with pytest.raises(BoaError) as exc:
        outer_call(arena)
    # The book's lock reverts without data, before any of its checks run.
    assert _innermost_book_revert(exc.value, arena.book) == b""
    assert arena.state() == before
    assert arena.token.attempts() == 0  # rolled back with everything else
    assert arena.token.armed()


@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("inner", INNER_CALLS)
def test_reentry_swallowed_has_no_effect(arena, outer, inner):
    """Swallow mode: the outer call completes exactly as it would without the
    callback, and the callback itself failed on the lock."""
    outer_call, on_transfer, on_transfer_from = OUTER[outer]
    signature, args = INNER_CALLS[inner](arena)

    with boa.env.anchor():
        outer_call(arena)
        expected = arena.state()

    arena.arm(signature, args, on_transfer=on_transfer, on_transfer_from=on_transfer_from, swallow=True)
    outer_call(arena)
    assert arena.token.attempts() == 1
    assert arena.token.successes() == 0
    assert arena.token.last_error() == b""  # the lock, not a "loanbook: ..." check
    assert arena.state() == expected
    assert_escrow_invariant(arena.book, arena.token)


@pytest.mark.parametrize("swallow", [False, True])
def test_double_claim_through_callback(arena, swallow):
    """The classic: the note owner's token re-enters claim on the same note
    while being paid."""
    a = arena
    owed = a.book.claimable(a.note_token_1)
    token_before = a.token.balanceOf(a.token.address)
    held_before = a.book.held(a.token.address)
    a.arm("claim(uint256)", (a.note_token_1,), on_transfer=True, on_transfer_from=False, swallow=swallow)
    if not swallow:
        with pytest.raises(BoaError):
            a.as_token("claim(uint256)", a.note_token_1)
        assert a.book.claimable(a.note_token_1) == owed
        assert a.token.balanceOf(a.token.address) == token_before
        return
    a.as_token("claim(uint256)", a.note_token_1)
    assert a.token.successes() == 0
    assert a.token.last_error() == b""
    assert a.token.balanceOf(a.token.address) == token_before + owed  # paid once
    assert a.book.held(a.token.address) == held_before - owed
    assert a.book.claimable(a.note_token_1) == 0


def test_reentry_from_note_receiver_hook_is_blocked(arena):
    """A contract lender is called back by the note's safe mint (onERC721Received)
    while `fund` still holds the lock; it accepts the note, so funding works,
    and a pull callback during that same fund is blocked."""
    a = arena
    a.arm("claim(uint256)", (a.note_token_2,), on_transfer=False, on_transfer_from=True, swallow=True)
    claimable = a.book.claimable(a.note_token_2)
    note_id = int.from_bytes(a.as_token("fund(uint256,uint256)", a.loan_open, 10 * UNIT)[:32], "big")
    assert a.notes.ownerOf(note_id) == a.token.address
    assert a.token.successes() == 0
    assert a.book.claimable(a.note_token_2) == claimable
