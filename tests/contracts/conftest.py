"""Fixtures for LoanBook tests: a deployed book with a 6-decimal token and funded actors.

Factories (`make_loan`, `active_loan`) return ids so each test states only what it cares about.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import boa
import pytest

DAY = 86_400
UNIT = 10**6  # tUSD has 6 decimals
MAX = 2**256 - 1

# Methods and statuses as in LoanBook.vy.
EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET = range(4)
OPEN, FUNDED, ACTIVE, REPAID, DEFAULTED, CANCELLED, EXPIRED = range(1, 8)


@dataclass(frozen=True)
class TermsParams:
    origination_fee_bps: int = 100
    service_fee_bps: int = 1_000
    reserve_share_bps: int = 5_000
    penalty_bps_per_day: int = 5
    penalty_cap_bps: int = 2_000
    coverage_bps: int = 5_000
    grace_seconds: int = 3 * DAY
    default_after_seconds: int = 30 * DAY
    review_seconds: int = 1 * DAY

    def as_tuple(self) -> tuple:
        return (
            self.origination_fee_bps,
            self.service_fee_bps,
            self.reserve_share_bps,
            self.penalty_bps_per_day,
            self.penalty_cap_bps,
            self.coverage_bps,
            self.grace_seconds,
            self.default_after_seconds,
            self.review_seconds,
        )


DEFAULT_TERMS = TermsParams()

# Grade limits per token (tUSD): (max_principal, max_exposure, min_apr_bps) for A..E.
DEFAULT_GRADE_LIMITS = [
    (50_000 * UNIT, 100_000 * UNIT, 500),
    (20_000 * UNIT, 40_000 * UNIT, 800),
    (10_000 * UNIT, 20_000 * UNIT, 1_000),
    (5_000 * UNIT, 10_000 * UNIT, 1_200),
    (2_000 * UNIT, 4_000 * UNIT, 1_500),
]
MODEL_ID = b"\x11" * 32
SCORE_TTL = 365 * DAY
KYC_TTL = 3 * 365 * DAY


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


@cache
def compiled(path: str):
    """Each contract is compiled once per test process (compiling LoanBook takes seconds)."""
    return boa.load_partial(path)


@pytest.fixture(scope="session")
def loanbook_deployer():
    return compiled("contracts/LoanBook.vy")


@pytest.fixture(scope="session")
def loannote_deployer():
    return compiled("contracts/LoanNote.vy")


@pytest.fixture(scope="session")
def stablecoin(deployer):
    """Session-wide tUSD: deployed once, each test's changes are rolled back by the anchor."""
    with boa.env.prank(deployer):
        return compiled("contracts/test/TestStablecoin.vy").deploy()


@dataclass
class Gates:
    """The identity registry and credit oracle a book reads, with the admin acting on them."""

    identity: object
    oracle: object
    admin: str

    def verify(self, *accounts):
        with boa.env.prank(self.admin):
            for account in accounts:
                identity_hash = boa.eval(f"keccak256(concat(b'id:', convert({account}, bytes20)))")
                self.identity.attest(account, identity_hash, boa.env.evm.patch.timestamp + KYC_TTL)

    def score(self, account, score=700, ttl=SCORE_TTL):
        with boa.env.prank(self.admin):
            self.oracle.push_scores([account], [score], MODEL_ID, ttl)

    def block(self, account, blocked=True):
        with boa.env.prank(self.admin):
            self.identity.set_blocked(account, blocked)


def deploy_book(
    token_contracts, admin, treasury, risk_officer, pauser, terms=DEFAULT_TERMS, with_gates=False
):
    """IdentityRegistry, CreditOracle, LoanNote and LoanBook wired as scripts/deploy.py wires them.

    The admin also holds the KYC attester, oracle and registry risk-officer roles so tests can
    set up borrowers; grade limits from DEFAULT_GRADE_LIMITS are set for every token.
    Returns (book, notes), or (book, notes, gates) with `with_gates=True`.
    """
    with boa.env.prank(admin):
        identity = compiled("contracts/IdentityRegistry.vy").deploy()
        oracle = compiled("contracts/CreditOracle.vy").deploy()
        identity.grantRole(identity.KYC_ATTESTER_ROLE(), admin)
        identity.grantRole(identity.RISK_OFFICER_ROLE(), admin)
        identity.grantRole(identity.RISK_OFFICER_ROLE(), risk_officer)
        oracle.grantRole(oracle.ORACLE_ROLE(), admin)
        notes = compiled("contracts/LoanNote.vy").deploy("https://peerlend.example/notes/")
        book = compiled("contracts/LoanBook.vy").deploy(
            notes.address, identity.address, oracle.address, treasury, terms.as_tuple()
        )
        notes.set_book(book.address)
        for token in token_contracts:
            book.set_token_allowed(token.address, True)
            book.set_grade_limits(token.address, DEFAULT_GRADE_LIMITS)
        book.grantRole(book.RISK_OFFICER_ROLE(), risk_officer)
        book.grantRole(book.PAUSER_ROLE(), pauser)
    gates = Gates(identity, oracle, admin)
    return (book, notes, gates) if with_gates else (book, notes)


def onboard(gates: Gates, borrowers=(), lenders=(), score=700):
    """KYC for everyone, a fresh score (grade C by default thresholds) for borrowers."""
    gates.verify(*borrowers, *lenders)
    for account in borrowers:
        gates.score(account, score)


@pytest.fixture(scope="session")
def system(stablecoin, admin, treasury, risk_officer, pauser, borrower, lenders, deployer):
    """Deployed once per session; the autouse anchor in tests/conftest.py isolates tests."""
    book, notes, gates = deploy_book([stablecoin], admin, treasury, risk_officer, pauser, with_gates=True)
    onboard(gates, borrowers=[borrower], lenders=lenders)
    with boa.env.prank(deployer):
        for account in [borrower, *lenders]:
            stablecoin.mint(account, 10_000_000 * UNIT)
    for account in [borrower, *lenders]:
        with boa.env.prank(account):
            stablecoin.approve(book.address, MAX)
    return book, notes, gates


@pytest.fixture(scope="session")
def book(system):
    return system[0]


@pytest.fixture(scope="session")
def gates(system):
    return system[2]


@pytest.fixture(scope="session")
def notes(system):
    return system[1]


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
