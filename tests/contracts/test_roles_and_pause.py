"""LoanBook roles, parameter caps, frozen terms, token allow-list, pause,
fee withdrawal, and the rule that no role can move user funds."""

from __future__ import annotations

import dataclasses

import boa
import pytest
from eth_utils import keccak

from tests.contracts.helpers import (
    CANCELLED,
    DAY,
    DEFAULT_GRADE_LIMITS,
    DEFAULT_TERMS,
    DEFAULTED,
    EQUAL_INSTALLMENT,
    EXPIRED,
    FUNDED,
    MAX,
    OPEN,
    REPAID,
    UNIT,
    deploy_book,
)

MISSING_ROLE = "access_control: account is missing role"
PAUSED = "pausable: contract is paused"
NOT_PAUSED = "pausable: contract is not paused"
DEFAULT_ADMIN_ROLE = b"\x00" * 32
RISK_OFFICER_ROLE = keccak(text="RISK_OFFICER_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
ALL_ROLES = (DEFAULT_ADMIN_ROLE, RISK_OFFICER_ROLE, PAUSER_ROLE)
BPS = 10_000


def terms(**changes):
    return dataclasses.replace(DEFAULT_TERMS, **changes)


def as_tuple(struct) -> tuple:
    return tuple(struct)


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------


def test_role_constants_and_initial_holders(book, admin, risk_officer, pauser, stranger):
    assert book.RISK_OFFICER_ROLE() == RISK_OFFICER_ROLE
    assert book.PAUSER_ROLE() == PAUSER_ROLE
    assert book.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    holders = {admin: DEFAULT_ADMIN_ROLE, risk_officer: RISK_OFFICER_ROLE, pauser: PAUSER_ROLE}
    for account, own in holders.items():
        for role in ALL_ROLES:
            assert book.hasRole(role, account) == (role == own), (account, role)
    for role in ALL_ROLES:
        assert not book.hasRole(role, stranger)
        assert book.getRoleAdmin(role) == DEFAULT_ADMIN_ROLE


def test_deployer_is_admin_and_nothing_else(stablecoin, stranger, treasury, risk_officer, pauser):
    book = deploy_book([stablecoin], stranger, treasury, risk_officer, pauser).book
    assert book.hasRole(DEFAULT_ADMIN_ROLE, stranger)
    assert not book.hasRole(RISK_OFFICER_ROLE, stranger)
    assert not book.hasRole(PAUSER_ROLE, stranger)
    assert book.treasury() == treasury
    assert not book.paused()


def _admin_calls(book, stablecoin, stranger, risk_officer):
    return {
        "set_params": lambda: book.set_params(DEFAULT_TERMS.as_tuple()),
        "set_grade_limits": lambda: book.set_grade_limits(stablecoin.address, [(0, 0, 0)] * 5),
        "set_lender_kyc_threshold": lambda: book.set_lender_kyc_threshold(stablecoin.address, 77),
        "set_token_allowed": lambda: book.set_token_allowed(stablecoin.address, False),
        "set_treasury": lambda: book.set_treasury(stranger),
        "withdraw_fees": lambda: book.withdraw_fees(stablecoin.address),
        "grantRole": lambda: book.grantRole(PAUSER_ROLE, stranger),
        "revokeRole": lambda: book.revokeRole(RISK_OFFICER_ROLE, risk_officer),
    }


ADMIN_FUNCTIONS = [
    "set_params",
    "set_grade_limits",
    "set_lender_kyc_threshold",
    "set_token_allowed",
    "set_treasury",
    "withdraw_fees",
    "grantRole",
    "revokeRole",
]


@pytest.mark.parametrize("fn", ADMIN_FUNCTIONS)
@pytest.mark.parametrize("caller", ["stranger", "risk_officer", "pauser", "borrower"])
def test_admin_functions_need_admin(book, stablecoin, stranger, risk_officer, pauser, borrower, fn, caller):
    who = {"stranger": stranger, "risk_officer": risk_officer, "pauser": pauser, "borrower": borrower}[caller]
    call = _admin_calls(book, stablecoin, stranger, risk_officer)[fn]
    with boa.env.prank(who), boa.reverts(MISSING_ROLE):
        call()


@pytest.mark.parametrize("fn", ADMIN_FUNCTIONS)
def test_admin_functions_work_for_admin(book, stablecoin, active_loan, admin, stranger, risk_officer, fn):
    active_loan()  # so there are fees to withdraw
    with boa.env.prank(admin):
        _admin_calls(book, stablecoin, stranger, risk_officer)[fn]()
    if fn == "set_grade_limits":
        assert as_tuple(book.grade_limits(stablecoin.address, 3)) == (0, 0, 0)
    elif fn == "set_lender_kyc_threshold":
        assert book.lender_kyc_threshold(stablecoin.address) == 77
    elif fn == "set_token_allowed":
        assert not book.token_allowed(stablecoin.address)
    elif fn == "set_treasury":
        assert book.treasury() == stranger
    elif fn == "withdraw_fees":
        assert book.fees(stablecoin.address) == 0
    elif fn == "grantRole":
        assert book.hasRole(PAUSER_ROLE, stranger)
    elif fn == "revokeRole":
        assert not book.hasRole(RISK_OFFICER_ROLE, risk_officer)


@pytest.mark.parametrize("fn", ["pause", "unpause"])
@pytest.mark.parametrize("caller", ["stranger", "admin", "risk_officer", "borrower"])
def test_pause_functions_need_pauser(book, pauser, stranger, admin, risk_officer, borrower, fn, caller):
    who = {"stranger": stranger, "admin": admin, "risk_officer": risk_officer, "borrower": borrower}[caller]
    if fn == "unpause":
        with boa.env.prank(pauser):
            book.pause()
    with boa.env.prank(who), boa.reverts(MISSING_ROLE):
        getattr(book, fn)()


def test_pauser_pauses_and_unpauses(book, pauser):
    with boa.env.prank(pauser), boa.reverts(NOT_PAUSED):
        book.unpause()
    with boa.env.prank(pauser):
        book.pause()
    assert book.paused()
    with boa.env.prank(pauser), boa.reverts(PAUSED):
        book.pause()
    with boa.env.prank(pauser):
        book.unpause()
    assert not book.paused()


def test_renounce_only_for_self(book, admin, risk_officer):
    with boa.env.prank(admin), boa.reverts("access_control: can only renounce roles for itself"):
        book.renounceRole(RISK_OFFICER_ROLE, risk_officer)
    with boa.env.prank(risk_officer):
        book.renounceRole(RISK_OFFICER_ROLE, risk_officer)
    assert not book.hasRole(RISK_OFFICER_ROLE, risk_officer)


def test_admin_setters_reject_zero_address(book, admin):
    zero = "0x0000000000000000000000000000000000000000"
    with boa.env.prank(admin), boa.reverts("loanbook: zero treasury"):
        book.set_treasury(zero)
    with boa.env.prank(admin), boa.reverts("loanbook: zero token"):
        book.set_token_allowed(zero, True)


# Cancel and veto are the risk officer's; they are gated in LoanBook itself
# (snekmate's hasRole read), so the reason is "loanbook: not allowed".


@pytest.mark.parametrize("caller", ["stranger", "admin", "pauser", "lender"])
def test_only_risk_officer_or_borrower_cancels_open_request(
    book, make_loan, fund_fully, stranger, admin, pauser, lenders, risk_officer, borrower, caller
):
    who = {"stranger": stranger, "admin": admin, "pauser": pauser, "lender": lenders[0]}[caller]
    loan_id = make_loan()
    with boa.env.prank(lenders[0]):
        book.fund(loan_id, 10 * UNIT)
    with boa.env.prank(who), boa.reverts("loanbook: not allowed"):
        book.cancel(loan_id)
    assert book.loan(loan_id).status == OPEN
    for canceller in (borrower, risk_officer):
        with boa.env.anchor():
            with boa.env.prank(canceller):
                book.cancel(loan_id)
            assert book.loan(loan_id).status == CANCELLED


def test_only_risk_officer_vetoes_funded_loan_inside_review(
    book, make_loan, fund_fully, risk_officer, borrower, admin, pauser, stranger
):
    loan_id = make_loan()
    fund_fully(loan_id)
    assert book.loan(loan_id).status == FUNDED
    with boa.env.prank(borrower), boa.reverts("loanbook: funded, only the risk officer can veto"):
        book.cancel(loan_id)
    for who in (admin, pauser, stranger):
        with boa.env.prank(who), boa.reverts("loanbook: not allowed"):
            book.cancel(loan_id)
    with boa.env.anchor():
        boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
        with boa.env.prank(risk_officer), boa.reverts("loanbook: review over"):
            book.cancel(loan_id)
    with boa.env.prank(risk_officer):
        book.cancel(loan_id)
    assert book.loan(loan_id).status == CANCELLED


def test_nobody_cancels_an_active_loan(book, active_loan, risk_officer, borrower):
    loan_id, _ = active_loan()
    for who in (risk_officer, borrower):
        with boa.env.prank(who), boa.reverts("loanbook: not cancellable"):
            book.cancel(loan_id)


# ---------------------------------------------------------------------------
# Parameter caps
# ---------------------------------------------------------------------------

# (field, largest allowed value, reason for one more)
CAPS = [
    ("origination_fee_bps", 500, "loanbook: origination fee over cap"),
    ("service_fee_bps", 2_000, "loanbook: service fee over cap"),
    ("reserve_share_bps", 10_000, "loanbook: reserve share over 100%"),
    ("penalty_bps_per_day", 50, "loanbook: penalty over cap"),
    ("penalty_cap_bps", 5_000, "loanbook: penalty cap over cap"),
    ("coverage_bps", 10_000, "loanbook: coverage over 100%"),
    ("grace_seconds", 30 * DAY, "loanbook: grace too long"),
    ("default_after_seconds", 365 * DAY, "loanbook: default too late"),
    ("review_seconds", 7 * DAY, "loanbook: review too long"),
    ("disburse_seconds", 7 * DAY, "loanbook: disbursement window too long"),
]
# (field, smallest allowed value, reason for one less): the veto window and the disbursement
# window can be short but never zero.
FLOORS = [
    ("review_seconds", 3_600, "loanbook: review too short"),
    ("disburse_seconds", 3_600, "loanbook: disbursement window too short"),
]


def test_cap_constants(lens):
    assert lens.MAX_ORIGINATION_FEE_BPS() == 500
    assert lens.MAX_SERVICE_FEE_BPS() == 2_000
    assert lens.MAX_PENALTY_BPS_PER_DAY() == 50
    assert lens.MAX_PENALTY_CAP_BPS() == 5_000
    assert lens.MAX_GRACE_SECONDS() == 30 * DAY
    assert lens.MAX_DEFAULT_AFTER_SECONDS() == 365 * DAY
    assert lens.MAX_REVIEW_SECONDS() == 7 * DAY


@pytest.mark.parametrize(("field", "cap", "reason"), CAPS, ids=[c[0] for c in CAPS])
def test_set_params_cap_boundary(book, admin, field, cap, reason):
    at_cap = terms(**{field: cap})
    with boa.env.prank(admin):
        book.set_params(at_cap.as_tuple())
    assert as_tuple(book.params()) == at_cap.as_tuple()

    over = terms(**{field: cap + 1})
    with boa.env.prank(admin), boa.reverts(reason):
        book.set_params(over.as_tuple())
    assert as_tuple(book.params()) == at_cap.as_tuple()


@pytest.mark.parametrize(("field", "cap", "reason"), [CAPS[0], CAPS[-1]], ids=[CAPS[0][0], CAPS[-1][0]])
def test_constructor_enforces_caps(stablecoin, admin, treasury, risk_officer, pauser, field, cap, reason):
    with boa.reverts(reason):
        deploy_book([stablecoin], admin, treasury, risk_officer, pauser, terms=terms(**{field: cap + 1}))


def test_default_after_must_not_precede_grace(book, admin):
    grace = 10 * DAY
    ok = terms(grace_seconds=grace, default_after_seconds=grace)
    with boa.env.prank(admin):
        book.set_params(ok.as_tuple())
    assert as_tuple(book.params()) == ok.as_tuple()
    with boa.env.prank(admin), boa.reverts("loanbook: default before grace"):
        book.set_params(terms(grace_seconds=grace, default_after_seconds=grace - 1).as_tuple())
    # At the grace cap, the default threshold must be at least as long.
    with boa.env.prank(admin), boa.reverts("loanbook: default before grace"):
        book.set_params(terms(grace_seconds=30 * DAY, default_after_seconds=30 * DAY - 1).as_tuple())


@pytest.mark.parametrize(("field", "floor", "reason"), FLOORS, ids=[f[0] for f in FLOORS])
def test_set_params_floor_boundary(book, admin, field, floor, reason):
    with boa.env.prank(admin):
        book.set_params(terms(**{field: floor}).as_tuple())
    with boa.env.prank(admin), boa.reverts(reason):
        book.set_params(terms(**{field: floor - 1}).as_tuple())


def test_all_caps_at_once_survive_packing(book, admin, make_loan):
    maxed = terms(**{field: cap for field, cap, _ in CAPS})
    zeros = terms(**({field: 0 for field, _, _ in CAPS} | {field: floor for field, floor, _ in FLOORS}))
    with boa.env.prank(admin):
        book.set_params(maxed.as_tuple())
    loan_max = make_loan()
    with boa.env.prank(admin):
        book.set_params(zeros.as_tuple())
    loan_zero = make_loan()
    assert as_tuple(book.loan_terms(loan_max)) == maxed.as_tuple()
    assert as_tuple(book.loan_terms(loan_zero)) == zeros.as_tuple()


# ---------------------------------------------------------------------------
# Terms are frozen into each loan
# ---------------------------------------------------------------------------

NEW_TERMS = terms(
    origination_fee_bps=500,
    service_fee_bps=2_000,
    reserve_share_bps=0,
    penalty_bps_per_day=50,
    penalty_cap_bps=5_000,
    coverage_bps=0,
    grace_seconds=0,
    default_after_seconds=365 * DAY,
    review_seconds=7 * DAY,
)


def test_new_params_apply_to_new_loans_only(book, admin, make_loan):
    old_loan = make_loan()
    assert as_tuple(book.loan_terms(old_loan)) == DEFAULT_TERMS.as_tuple()
    with boa.env.prank(admin):
        book.set_params(NEW_TERMS.as_tuple())
    assert as_tuple(book.loan_terms(old_loan)) == DEFAULT_TERMS.as_tuple()
    new_loan = make_loan()
    assert as_tuple(book.loan_terms(new_loan)) == NEW_TERMS.as_tuple()
    assert as_tuple(book.loan_terms(old_loan)) == DEFAULT_TERMS.as_tuple()


def test_frozen_review_and_origination_fee(book, admin, make_loan, fund_fully, stablecoin, borrower):
    principal = 1_000 * UNIT
    loan_id = make_loan(principal=principal)
    with boa.env.prank(admin):
        book.set_params(NEW_TERMS.as_tuple())
    fund_fully(loan_id)
    # Review window is the old one day, not the new seven.
    assert book.loan(loan_id).review_ends_at == boa.env.evm.patch.timestamp + DEFAULT_TERMS.review_seconds
    boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
    before = stablecoin.balanceOf(borrower)
    book.disburse(loan_id)
    fee = principal * DEFAULT_TERMS.origination_fee_bps // BPS  # 1%, not 5%
    assert stablecoin.balanceOf(borrower) == before + principal - fee
    to_reserve = fee * DEFAULT_TERMS.reserve_share_bps // BPS
    assert book.reserve(stablecoin.address) == to_reserve
    assert book.fees(stablecoin.address) == fee - to_reserve


def test_frozen_penalty_and_service_fee(book, admin, active_loan, stablecoin, borrower, lens):
    principal, apr, n, period = 1_000 * UNIT, 1_200, 12, 30 * DAY
    loan_id, _ = active_loan(principal=principal, apr_bps=apr, installments=n, period=period)
    with boa.env.prank(admin):
        book.set_params(NEW_TERMS.as_tuple())
    first = lens.schedule(principal, apr, n, period, EQUAL_INSTALLMENT)[0]
    installment = first.principal + first.interest

    late = 10 * DAY
    boa.env.time_travel(seconds=period + DEFAULT_TERMS.grace_seconds + late)
    penalty = installment * DEFAULT_TERMS.penalty_bps_per_day * late // (BPS * DAY)
    due = lens.amount_due(loan_id)
    assert due.penalty == penalty
    assert due.past_due == installment

    fees_before = book.fees(stablecoin.address)
    reserve_before = book.reserve(stablecoin.address)
    with boa.env.prank(borrower):
        paid = book.repay(loan_id, penalty + installment)
    assert paid == penalty + installment
    fee = (first.interest + penalty) * DEFAULT_TERMS.service_fee_bps // BPS
    to_reserve = fee * DEFAULT_TERMS.reserve_share_bps // BPS
    assert book.fees(stablecoin.address) - fees_before == fee - to_reserve
    assert book.reserve(stablecoin.address) - reserve_before == to_reserve
    assert book.ledger(loan_id).distributed == paid - fee


def test_frozen_default_threshold_and_coverage(book, admin, active_loan, stablecoin, lenders):
    principal = 1_000 * UNIT
    loan_id, _ = active_loan(principal=principal, installments=3)
    with boa.env.prank(lenders[4]):
        book.deposit_reserve(stablecoin.address, 10_000 * UNIT)
    with boa.env.prank(admin):
        book.set_params(NEW_TERMS.as_tuple())  # default after a year, no coverage
    boa.env.time_travel(seconds=30 * DAY + DEFAULT_TERMS.default_after_seconds)
    with boa.reverts("loanbook: not in default"):
        book.mark_default(loan_id)
    boa.env.time_travel(seconds=1)
    reserve = book.reserve(stablecoin.address)
    book.mark_default(loan_id)
    assert book.loan(loan_id).status == DEFAULTED
    cover = book.default_record(loan_id).cover
    assert cover == principal * DEFAULT_TERMS.coverage_bps // BPS  # nothing repaid yet
    assert book.reserve(stablecoin.address) == reserve - cover


# ---------------------------------------------------------------------------
# Token allow-list
# ---------------------------------------------------------------------------


def test_request_needs_allowed_token(book, stablecoin_deployer, deployer, make_loan, lenders, admin):
    with boa.env.prank(deployer):
        other = stablecoin_deployer.deploy()
    assert not book.token_allowed(other.address)
    with boa.reverts("loanbook: token not allowed"):
        make_loan(token=other)
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: token not allowed"):
        book.deposit_reserve(other.address, 1)
    with boa.env.prank(admin):
        book.set_token_allowed(other.address, True)
    assert book.token_allowed(other.address)
    with boa.reverts("loanbook: over grade cap"):  # no grade may borrow it yet
        make_loan(token=other)
    with boa.env.prank(admin):
        book.set_grade_limits(other.address, DEFAULT_GRADE_LIMITS)
    assert make_loan(token=other) == 1


def test_delisted_token_blocks_new_requests_but_not_existing_loans(
    book, admin, stablecoin, make_loan, active_loan, borrower, lenders, lens
):
    loan_id, note_ids = active_loan(installments=2)
    cancelled = make_loan()
    with boa.env.prank(lenders[3]):
        refund_note = book.fund(cancelled, 100 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(cancelled)

    with boa.env.prank(admin):
        book.set_token_allowed(stablecoin.address, False)
    with boa.reverts("loanbook: token not allowed"):
        make_loan()
    with boa.env.prank(lenders[4]), boa.reverts("loanbook: token not allowed"):
        book.deposit_reserve(stablecoin.address, 1)

    before = stablecoin.balanceOf(lenders[3])
    with boa.env.prank(lenders[3]):
        book.refund(refund_note)
    assert stablecoin.balanceOf(lenders[3]) == before + 100 * UNIT

    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).past_due)
        book.repay_in_full(loan_id)
    assert book.loan(loan_id).status == REPAID
    for lender, note_id in zip(lenders, note_ids, strict=False):
        owed = book.claimable(note_id)
        assert owed > 0
        with boa.env.prank(lender):
            assert book.claim(note_id) == owed


# ---------------------------------------------------------------------------
# Pause
# ---------------------------------------------------------------------------


def test_pause_stops_request_fund_disburse_only(
    book, pauser, admin, make_loan, fund_fully, active_loan, stablecoin, borrower, lenders, risk_officer, lens
):
    to_settle, settle_notes = active_loan()
    to_default, _ = active_loan()
    open_loan = make_loan()
    funded = make_loan()
    fund_fully(funded)
    cancelled = make_loan()
    with boa.env.prank(lenders[3]):
        refund_note = book.fund(cancelled, 100 * UNIT)
    with boa.env.prank(risk_officer):
        book.cancel(cancelled)
    boa.env.time_travel(seconds=30 * DAY)  # open_loan's funding window is over
    to_cancel = make_loan()

    with boa.env.prank(pauser):
        book.pause()

    with boa.reverts(PAUSED):
        make_loan()
    with boa.env.prank(lenders[0]), boa.reverts(PAUSED):
        book.fund(open_loan, 10 * UNIT)
    with boa.reverts(PAUSED):
        book.disburse(funded)

    # Money keeps flowing back to its owners.
    with boa.env.prank(borrower):
        book.repay(to_settle, lens.amount_due(to_settle).past_due)
    owed = book.claimable(settle_notes[0])
    with boa.env.prank(lenders[0]):
        assert book.claim(settle_notes[0]) == owed
    with boa.env.prank(borrower):
        book.repay_in_full(to_settle)
    assert book.loan(to_settle).status == REPAID
    before = stablecoin.balanceOf(lenders[3])
    with boa.env.prank(lenders[3]):
        book.refund(refund_note)
    assert stablecoin.balanceOf(lenders[3]) == before + 100 * UNIT

    # Nothing else is paused either.
    with boa.env.prank(borrower):
        book.cancel(to_cancel)
    assert book.loan(to_cancel).status == CANCELLED
    book.expire(open_loan)
    assert book.loan(open_loan).status == EXPIRED
    reserve = book.reserve(stablecoin.address)
    with boa.env.prank(lenders[4]):
        book.deposit_reserve(stablecoin.address, UNIT)
    assert book.reserve(stablecoin.address) == reserve + UNIT
    with boa.env.prank(admin):
        assert book.withdraw_fees(stablecoin.address) > 0

    boa.env.time_travel(seconds=DEFAULT_TERMS.default_after_seconds + DAY)
    book.mark_default(to_default)
    assert book.loan(to_default).status == DEFAULTED

    with boa.env.prank(pauser):
        book.unpause()
    new_loan = make_loan()
    assert book.loan(new_loan).status == OPEN
    # The pause outlasted the funded loan's disbursement deadline: its notes refund in full.
    assert book.loan(funded).status == EXPIRED
    with boa.env.prank(lenders[0]):
        book.fund(new_loan, 10 * UNIT)
    assert book.loan(new_loan).funded == 10 * UNIT


def test_blocklist_never_traps_money(
    book, gates, stablecoin, active_loan, make_loan, borrower, lenders, lens
):
    """The registry's blocklist bars new requests and fundings only: blocked
    accounts still repay, claim and get refunds."""
    loan_id, note_ids = active_loan()
    cancelled = make_loan()
    with boa.env.prank(lenders[0]):
        refund_note = book.fund(cancelled, 100 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(cancelled)
    boa.env.time_travel(seconds=30 * DAY)
    open_loan = make_loan()
    gates.block(borrower)
    gates.block(lenders[0])

    with boa.reverts("loanbook: borrower blocked"):
        make_loan()
    with boa.env.prank(lenders[0]), boa.reverts("loanbook: lender blocked"):
        book.fund(open_loan, 10 * UNIT)

    with boa.env.prank(borrower):
        book.repay(loan_id, lens.amount_due(loan_id).past_due)
    owed = book.claimable(note_ids[0])
    before = stablecoin.balanceOf(lenders[0])
    with boa.env.prank(lenders[0]):
        assert book.claim(note_ids[0]) == owed
        book.refund(refund_note)
    assert stablecoin.balanceOf(lenders[0]) == before + owed + 100 * UNIT
    with boa.env.prank(borrower):
        book.repay_in_full(loan_id)
    assert book.loan(loan_id).status == REPAID


# ---------------------------------------------------------------------------
# Fees
# ---------------------------------------------------------------------------


def test_withdraw_fees_sends_only_fees_to_treasury(
    book, admin, treasury, active_loan, make_loan, stablecoin, lenders
):
    active_loan()
    with boa.env.prank(lenders[0]):
        book.fund(make_loan(), 50 * UNIT)  # escrow in the book too
        book.deposit_reserve(stablecoin.address, 20 * UNIT)
    fees = book.fees(stablecoin.address)
    held = book.held(stablecoin.address)
    reserve = book.reserve(stablecoin.address)
    balance = stablecoin.balanceOf(book.address)
    assert fees > 0 and held > 0 and reserve > 0

    with boa.env.prank(admin):
        assert book.withdraw_fees(stablecoin.address) == fees
    assert stablecoin.balanceOf(treasury) == fees
    assert stablecoin.balanceOf(admin) == 0
    assert stablecoin.balanceOf(book.address) == balance - fees
    assert book.fees(stablecoin.address) == 0
    assert book.held(stablecoin.address) == held
    assert book.reserve(stablecoin.address) == reserve

    with boa.env.prank(admin), boa.reverts("loanbook: no fees"):
        book.withdraw_fees(stablecoin.address)


def test_withdraw_fees_without_fees_reverts(book, admin, stablecoin):
    with boa.env.prank(admin), boa.reverts("loanbook: no fees"):
        book.withdraw_fees(stablecoin.address)


# ---------------------------------------------------------------------------
# No role can move user funds
# ---------------------------------------------------------------------------


class Heist:
    """A book full of other people's money and an attacker holding every role."""

    def __init__(self, book, notes, token, attacker, accomplice, victims, borrower, lens):
        self.book, self.notes, self.token, self.lens = book, notes, token, lens
        self.attacker, self.accomplice, self.victims, self.borrower = attacker, accomplice, victims, borrower
        self.loans: list[int] = []
        self.note_ids: list[int] = []

    def snapshot(self):
        t = self.token.address
        return {
            "held": self.book.held(t),
            "reserve": self.book.reserve(t),
            "claimable": [self.book.claimable(n) for n in self.note_ids],
            "notes": [self.book.note(n) for n in self.note_ids],
            "owners": [self.notes.ownerOf(n) for n in self.note_ids],
            "terms": [as_tuple(self.book.loan_terms(i)) for i in self.loans],
            "due": [self.lens.amount_due(i) for i in self.loans],
            "victims": [self.token.balanceOf(v) for v in self.victims],
        }


def _heist_plan(h: Heist, own_loan: list):
    b, t, attacker, accomplice = h.book, h.token.address, h.attacker, h.accomplice
    loan_active, loan_funded, loan_open, _cancelled = h.loans
    big = 10**12 * UNIT
    steps = [
        ("grantRole", lambda: [b.grantRole(r, accomplice) for r in ALL_ROLES]),
        ("set_params", lambda: b.set_params(tuple(cap for _, cap, _ in CAPS))),
        ("set_treasury", lambda: b.set_treasury(attacker)),
        ("withdraw_fees", lambda: b.withdraw_fees(t)),
        ("set_token_allowed", lambda: b.set_token_allowed(attacker, True)),
        ("set_grade_limits", lambda: b.set_grade_limits(t, [(big, big, 0)] * 5)),
        ("set_lender_kyc_threshold", lambda: b.set_lender_kyc_threshold(t, big)),
        (
            "request_loan",
            lambda: own_loan.append(b.request_loan(t, big, 3_600, 1, DAY, EQUAL_INSTALLMENT, 3_600)),
        ),
        ("fund", lambda: b.fund(loan_open, big)),
        ("fund", lambda: b.fund(own_loan[0], big)),
        ("disburse", lambda: b.disburse(loan_funded)),
        ("disburse", lambda: b.disburse(own_loan[0])),
        ("cancel", lambda: b.cancel(loan_funded)),
        ("cancel", lambda: b.cancel(loan_open)),
        ("cancel", lambda: b.cancel(loan_active)),
        ("cancel", lambda: b.cancel(own_loan[0])),
        *[("refund", lambda n=n: b.refund(n)) for n in h.note_ids],
        *[("claim", lambda n=n: b.claim(n)) for n in h.note_ids],
        ("repay", lambda: b.repay(loan_active, big)),
        ("repay_in_full", lambda: b.repay_in_full(loan_active)),
        ("mark_default", lambda: b.mark_default(loan_active)),
        ("expire", lambda: b.expire(loan_open)),
        ("expire", lambda: b.expire(own_loan[0])),
        ("deposit_reserve", lambda: b.deposit_reserve(t, big)),
        ("set_token_allowed", lambda: b.set_token_allowed(t, False)),
        ("pause", lambda: b.pause()),
        ("unpause", lambda: b.unpause()),
        ("pause", lambda: b.pause()),
        ("revokeRole", lambda: [b.revokeRole(r, a) for r in ALL_ROLES for a in h.victims if b.hasRole(r, a)]),
        ("withdraw_fees", lambda: b.withdraw_fees(t)),
        ("renounceRole", lambda: [b.renounceRole(r, attacker) for r in ALL_ROLES]),
    ]
    return steps


def test_no_role_can_move_user_funds(
    book,
    notes,
    stablecoin,
    admin,
    risk_officer,
    pauser,
    treasury,
    borrower,
    lenders,
    make_loan,
    fund_fully,
    active_loan,
    gates,
    lens,
):
    attacker = boa.env.generate_address("attacker")
    accomplice = boa.env.generate_address("accomplice")
    # A verified, scored user (so it can also borrow) given every LoanBook role.
    gates.verify(attacker)
    gates.score(attacker)
    h = Heist(
        book,
        notes,
        stablecoin,
        attacker,
        accomplice,
        [admin, risk_officer, pauser, treasury, *lenders],
        borrower,
        lens,
    )

    # Other people's money in every form: claimable credit, active loan,
    # escrow of a funded and an open request, a cancelled request's refund,
    # the reserve and the treasury's fees.
    loan_active, active_notes = active_loan()
    boa.env.time_travel(seconds=30 * DAY)
    with boa.env.prank(borrower):
        book.repay(loan_active, lens.amount_due(loan_active).past_due)
    loan_funded = make_loan()
    funded_notes = fund_fully(loan_funded)
    loan_open = make_loan()
    with boa.env.prank(lenders[3]):
        open_note = book.fund(loan_open, 300 * UNIT)
    loan_cancelled = make_loan()
    with boa.env.prank(lenders[4]):
        cancelled_note = book.fund(loan_cancelled, 200 * UNIT)
    with boa.env.prank(borrower):
        book.cancel(loan_cancelled)
    with boa.env.prank(lenders[4]):
        book.deposit_reserve(stablecoin.address, 500 * UNIT)
    h.loans = [loan_active, loan_funded, loan_open, loan_cancelled]
    h.note_ids = [*active_notes, *funded_notes, open_note, cancelled_note]
    assert all(book.claimable(n) > 0 for n in active_notes)

    with boa.env.prank(admin):
        for role in ALL_ROLES:
            book.grantRole(role, attacker)
    with boa.env.prank(attacker):
        stablecoin.approve(book.address, MAX)

    own_loan: list[int] = []
    steps = _heist_plan(h, own_loan)

    # Every state-changing function of the ABI is in the plan, and only those:
    # a new one fails this test until it is added here.
    abi_mutating = {
        item["name"]
        for item in book.abi
        if item.get("type") == "function" and item.get("stateMutability") not in ("view", "pure")
    }
    assert {name for name, _ in steps} == abi_mutating

    fees = book.fees(stablecoin.address)
    assert fees > 0
    before = h.snapshot()
    book_balance = stablecoin.balanceOf(book.address)
    outcomes = {}
    t = stablecoin.address
    for name, step in steps:
        fees_before = book.fees(t)
        attacker_before = stablecoin.balanceOf(attacker)
        balance_before = stablecoin.balanceOf(book.address)
        with boa.env.prank(attacker):
            try:
                step()
                outcomes.setdefault(name, []).append("ok")
            except boa.BoaError:
                outcomes.setdefault(name, []).append("reverted")
        # Cheap checks after every call, the full picture at the end.
        assert book.held(t) == before["held"], name
        assert book.reserve(t) == before["reserve"], name
        # The only money that can leave the book, or reach the attacker, is
        # the treasury's fees, and only because it made itself the treasury.
        gained = stablecoin.balanceOf(attacker) - attacker_before
        taken_fees = fees_before - book.fees(t)
        assert balance_before - stablecoin.balanceOf(book.address) == taken_fees, name
        assert gained == taken_fees, name
        assert gained == 0 or (name == "withdraw_fees" and book.treasury() == attacker), name
    assert h.snapshot() == before

    assert stablecoin.balanceOf(attacker) == fees
    assert stablecoin.balanceOf(book.address) == book_balance - fees
    assert stablecoin.balanceOf(treasury) == 0
    # Calls that would pull or push user money all failed.
    for name in (
        "fund",
        "disburse",
        "refund",
        "claim",
        "repay",
        "repay_in_full",
        "mark_default",
        "deposit_reserve",
    ):
        assert set(outcomes[name]) == {"reverted"}, (name, outcomes[name])
    # It could open itself a huge loan, but nobody funded it, and it could take
    # the treasury's fees once, after naming itself treasury.
    assert outcomes["request_loan"] == ["ok"]
    assert outcomes["withdraw_fees"] == ["ok", "reverted"]

    # The attacker paused the book, delisted the token, stripped everyone's
    # roles and walked away: still, every lender and the borrower can settle.
    assert book.paused()
    assert not any(book.hasRole(r, a) for r in ALL_ROLES for a in (admin, risk_officer, pauser, attacker))
    for lender, note_id in zip(lenders, active_notes, strict=False):
        owed = book.claimable(note_id)
        with boa.env.prank(lender):
            assert book.claim(note_id) == owed
    with boa.env.prank(borrower):
        book.repay_in_full(loan_active)
    assert book.loan(loan_active).status == REPAID
    refundable = [
        *zip(lenders, funded_notes, strict=False),
        (lenders[3], open_note),
        (lenders[4], cancelled_note),
    ]
    for lender, note_id in refundable:
        share = book.note(note_id).share
        before_balance = stablecoin.balanceOf(lender)
        with boa.env.prank(lender):
            book.refund(note_id)
        assert stablecoin.balanceOf(lender) == before_balance + share
    held, reserve = book.held(stablecoin.address), book.reserve(stablecoin.address)
    assert stablecoin.balanceOf(book.address) >= held + reserve + book.fees(stablecoin.address)
