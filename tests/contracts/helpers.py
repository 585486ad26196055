"""Shared helpers for LoanBook tests: constants, terms, the deployed system and onboarding.

Tests and fixtures import from here (never from conftest), so a helper has one home.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import boa

from peerlend import loanmath
from peerlend.vocabulary import LoanStatus, Method

DAY = 86_400
UNIT = 10**6  # tUSD has 6 decimals
MAX = 2**256 - 1

# Methods and statuses from the one vocabulary (tests/test_vocabulary.py checks it against
# LoanBook.OPEN(), LoanBook.BULLET(), ...); plain ints, as the contracts return them.
EQUAL_INSTALLMENT, EQUAL_PRINCIPAL, INTEREST_ONLY, BULLET = (int(m) for m in Method)
OPEN, FUNDED, ACTIVE, REPAID, DEFAULTED, CANCELLED, EXPIRED = (int(s) for s in LoanStatus)
ACC_SCALE = loanmath.ACC_SCALE


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
    disburse_seconds: int = 3 * DAY

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
            self.disburse_seconds,
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


@cache
def compiled(path: str):
    """Each contract is compiled once per test process (compiling LoanBook takes seconds)."""
    return boa.load_partial(path)


@contextmanager
def storage_reads(contract) -> Iterator[list[int]]:
    """Yields the list of `contract`'s storage slots read (SLOAD) by the calls inside the block,
    in order, as the EVM reads them: `set(slots)` is what a fresh transaction pays cold."""
    state = boa.env.evm.vm.state
    target = contract.address.canonical_address
    slots: list[int] = []
    read = state.get_storage

    def recording(address, slot, from_journal=True):
        if address == target:
            slots.append(slot)
        return read(address, slot, from_journal)

    state.get_storage = recording
    try:
        yield slots
    finally:
        del state.get_storage


def identity_of(account) -> bytes:
    """The identity hash `Gates.verify` attests `account` under (one identity per wallet)."""
    return boa.eval(f"keccak256(concat(b'id:', convert({account}, bytes20)))")


@dataclass
class Gates:
    """The identity registry and credit oracle a book reads, with the admin acting on them."""

    identity: object
    oracle: object
    admin: str

    def verify(self, *accounts, identity_hash=None):
        """KYC for each account, under its own identity or the given shared one."""
        with boa.env.prank(self.admin):
            for account in accounts:
                self.identity.attest(
                    account, identity_hash or identity_of(account), boa.env.evm.patch.timestamp + KYC_TTL
                )

    def revoke(self, account):
        with boa.env.prank(self.admin):
            self.identity.revoke(account)

    def score(self, account, score=700, ttl=SCORE_TTL):
        with boa.env.prank(self.admin):
            self.oracle.push_scores([account], [score], MODEL_ID, ttl)

    def block(self, account, blocked=True):
        with boa.env.prank(self.admin):
            self.identity.set_blocked(account, blocked)


class System(NamedTuple):
    book: object
    notes: object
    gates: Gates
    lens: object


def deploy_book(token_contracts, admin, treasury, risk_officer, pauser, terms=DEFAULT_TERMS) -> System:
    """IdentityRegistry, CreditOracle, LoanNote, LoanBook and LoanLens wired as scripts/deploy.py
    wires them.

    The admin also holds the KYC attester, oracle and registry risk-officer roles so tests can
    set up borrowers; grade limits from DEFAULT_GRADE_LIMITS are set for every token.
    """
    with boa.env.prank(admin):
        identity = compiled("contracts/IdentityRegistry.vy").deploy()
        oracle = compiled("contracts/CreditOracle.vy").deploy()
        identity.grantRole(identity.KYC_ATTESTER_ROLE(), admin)
        identity.grantRole(identity.RISK_OFFICER_ROLE(), admin)
        identity.grantRole(identity.RISK_OFFICER_ROLE(), risk_officer)
        oracle.grantRole(oracle.ORACLE_ROLE(), admin)
        blueprint = compiled("contracts/LoanNote.vy").deploy_as_blueprint()
        book = compiled("contracts/LoanBook.vy").deploy(
            blueprint.address, identity.address, oracle.address, treasury, terms.as_tuple()
        )
        notes = compiled("contracts/LoanNote.vy").at(book.notes())
        lens = compiled("contracts/LoanLens.vy").deploy(book.address)
        for token in token_contracts:
            book.set_token_allowed(token.address, True)
            book.set_grade_limits(token.address, DEFAULT_GRADE_LIMITS)
        book.grantRole(book.RISK_OFFICER_ROLE(), risk_officer)
        book.grantRole(book.PAUSER_ROLE(), pauser)
    return System(book, notes, Gates(identity, oracle, admin), lens)


def onboard(gates: Gates, borrowers=(), lenders=(), score=700):
    """KYC for everyone, a fresh score (grade C by default thresholds) for borrowers."""
    gates.verify(*borrowers, *lenders)
    for account in borrowers:
        gates.score(account, score)


def exposure(book, account, token) -> int:
    """The exposure of `account`'s current KYC identity in `token`."""
    return book.exposure(book_identity(book, account), token.address)


def book_identity(book, account) -> bytes:
    registry = compiled("contracts/IdentityRegistry.vy").at(book.identity())
    return registry.attestation(account).identity_hash


def events(contract, name):
    return [e for e in contract.get_logs() if type(e).__name__ == name]
