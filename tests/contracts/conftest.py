"""Fixtures for LoanBook tests: a deployed book with a 6-decimal token and funded actors.

Factories (`make_loan`, `active_loan`) return ids so each test states only what it cares about.
Constants and helpers live in tests/contracts/helpers.py.
"""

from __future__ import annotations

import boa
import pytest

from tests.contracts.helpers import (
    DAY,
    DEFAULT_TERMS,
    EQUAL_INSTALLMENT,
    MAX,
    UNIT,
    compiled,
    deploy_book,
    onboard,
)


@pytest.fixture(scope="session")
def admin():
    return boa.env.generate_address("admin")


@pytest.fixture(scope="session")
def treasury():
    return boa.env.generate_address("treasury")


@pytest.fixture(scope="session")
def risk_officer():
    return boa.env.generate_address("risk_officer")


@pytest.fixture(scope="session")
def pauser():
    return boa.env.generate_address("pauser")


@pytest.fixture(scope="session")
def borrower():
    return boa.env.generate_address("borrower")


@pytest.fixture(scope="session")
def lenders():
    return [boa.env.generate_address(f"lender{i}") for i in range(5)]


@pytest.fixture(scope="session")
def stranger():
    return boa.env.generate_address("stranger")


@pytest.fixture(scope="session")
def stablecoin(deployer):
    """Session-wide tUSD: deployed once, each test's changes are rolled back by the anchor."""
    with boa.env.prank(deployer):
        return compiled("contracts/test/TestStablecoin.vy").deploy()


@pytest.fixture(scope="session")
def system(stablecoin, admin, treasury, risk_officer, pauser, borrower, lenders, deployer):
    """Deployed once per session; the autouse anchor in tests/conftest.py isolates tests."""
    system = deploy_book([stablecoin], admin, treasury, risk_officer, pauser)
    onboard(system.gates, borrowers=[borrower], lenders=lenders)
    with boa.env.prank(deployer):
        for account in [borrower, *lenders]:
            stablecoin.mint(account, 10_000_000 * UNIT)
    for account in [borrower, *lenders]:
        with boa.env.prank(account):
            stablecoin.approve(system.book.address, MAX)
    return system


@pytest.fixture(scope="session")
def book(system):
    return system.book


@pytest.fixture(scope="session")
def gates(system):
    return system.gates


@pytest.fixture(scope="session")
def notes(system):
    return system.notes


@pytest.fixture(scope="session")
def lens(system):
    return system.lens


@pytest.fixture
def make_loan(book, stablecoin, borrower):
    def _make(
        principal=1_000 * UNIT,
        apr_bps=1_200,
        installments=12,
        period=30 * DAY,
        method=EQUAL_INSTALLMENT,
        funding=7 * DAY,
        who=None,
        token=None,
    ):
        with boa.env.prank(who or borrower):
            return book.request_loan(
                (token or stablecoin).address, principal, apr_bps, installments, period, method, funding
            )

    return _make


@pytest.fixture
def fund_fully(book, lenders):
    """Funds a loan evenly across `n` lenders; returns the note ids."""

    def _fund(loan_id, n=3):
        principal = book.loan(loan_id).principal
        part = principal // n
        note_ids = []
        for i in range(n):
            amount = part if i < n - 1 else principal - part * (n - 1)
            with boa.env.prank(lenders[i]):
                note_ids.append(book.fund(loan_id, amount))
        return note_ids

    return _fund


@pytest.fixture
def active_loan(book, make_loan, fund_fully):
    """A disbursed loan; returns (loan_id, note_ids)."""

    def _active(n_lenders=3, **terms):
        loan_id = make_loan(**terms)
        note_ids = fund_fully(loan_id, n_lenders)
        boa.env.time_travel(seconds=DEFAULT_TERMS.review_seconds)
        book.disburse(loan_id)
        return loan_id, note_ids

    return _active
