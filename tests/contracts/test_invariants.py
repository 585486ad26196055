"""LoanBook against a Python model of the same rules (DESIGN.md §3), as a hypothesis state machine.

`LoanBookMachine` drives many loans in two tokens (the second can switch a 1% transfer fee on and
off mid-loan, as USDT's code can), three borrower wallets (the third, `alias`, can take over the
first one's KYC identity, so two wallets share one exposure cap), four lenders, a stranger, the
risk officer and the admin through every public action (request, fund, cancel, disburse, repay
including prepayments, repay_in_full, mark_default, expire, claim, refund, note transfer and
approval, reserve deposits, stray transfers, fee withdrawal, parameter changes, blocking and
unblocking borrowers, moving an identity between wallets) and through time (small and large
jumps, and jumps to one second around each loan's deadlines: funding, review, disbursement,
due, grace, default). The model (tests/contracts/model.py) predicts every result or the exact
revert, and the machine checks after every step:

1. escrow: balanceOf(book) == held + reserve + fees + stray transfers (so >= held + reserve +
   fees), and held >= Σ open/funded escrow + Σ claimable of all live notes;
2. Σ note shares == loan.funded for OPEN/FUNDED/ACTIVE/REPAID/DEFAULTED loans;
3. statuses only move along the allowed edges, and `loan()` reports EXPIRED past the funding
   or disbursement deadline;
4. nobody is paid more than owed: per note claimed + claimable is its pro-rata share of what was
   distributed (to the unit, never above); a loan's Repayment events add up to principal +
   interest + penalty; interest paid never exceeds simple interest on the principal actually
   outstanding over time (prepayments never pay interest for time not outstanding); paying the
   payoff with `repay` settles the loan exactly like `repay_in_full`; a defaulted loan's cover +
   recoveries never exceed its debt;
5. penalty_charged <= principal * penalty_cap_bps / 10_000;
6. exposure per KYC identity == principal of its open and funded loans + outstanding principal
   of active ones + unrecovered defaulted principal, whichever wallet borrowed;

plus exact equality of the contract's loans, ledgers, default records, notes, claimables, held,
reserve, fees and every touched account's balance with the model. Teardown claims every
claimable note and refunds every refundable note, then re-checks the escrow.

The borrowers are KYC-verified and scored (re-attested and re-scored when the model says
they expired, as the services would); every grade may borrow up to MAX_LOAN with MAX_EXPOSURE
outstanding, so the exposure cap binds. The stranger is never verified: it may fund token 1 up
to the lender KYC threshold in total per loan.

Knobs (environment): PEERLEND_FUZZ_EXAMPLES (default 200), PEERLEND_FUZZ_STEPS (default 30),
PEERLEND_FUZZ_SHRINK=0 (report failures unshrunk), PEERLEND_FUZZ_STATS=1 (print how often each
path was taken; run with -s).
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from dataclasses import dataclass

import boa
import pytest
from boa.contracts.vyper.vyper_contract import VyperContract
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, Phase, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from peerlend import loanmath
from tests.contracts.helpers import (
    ACTIVE,
    CANCELLED,
    DAY,
    DEFAULT_TERMS,
    DEFAULTED,
    EXPIRED,
    FUNDED,
    MAX,
    OPEN,
    REPAID,
    UNIT,
    TermsParams,
    compiled,
    deploy_book,
)
from tests.contracts.model import MLoan, MNote, claimable, entitled
from tests.contracts.reference import schedule_int
from tests.hypothesis_profiles import examples

EXAMPLES = int(os.environ.get("PEERLEND_FUZZ_EXAMPLES", "200"))
STEPS = int(os.environ.get("PEERLEND_FUZZ_STEPS", "30"))
# Shrinking a long failing run can take minutes; PEERLEND_FUZZ_SHRINK=0 reports it unshrunk.
PHASES = (
    tuple(Phase)
    if os.environ.get("PEERLEND_FUZZ_SHRINK", "1") != "0"
    else tuple(p for p in Phase if p != Phase.shrink)
)

BPS = 10_000
ACC_SCALE = 10**27
START_BALANCE = 10**16  # per account per token: 10 billion tUSD
MAX_LOAN = 10**6 * UNIT  # every grade's cap in the machine's world
MAX_EXPOSURE = 3 * 10**6 * UNIT  # every grade's outstanding cap: binds with a few big loans
LENDER_KYC_THRESHOLD = [0, 500 * UNIT]  # token 1: small fundings need no KYC
KYC_TTL = 3 * 365 * DAY
SCORE_TTL = 365 * DAY
MODEL_ID = b"\x22" * 32
MISSING_ROLE = "access_control: account is missing role"
NO_NOTE = "note: no such note"
FOT_REASON = "loanbook: fee-on-transfer token"
SWITCHED_FEE_BPS = 100  # token 1's transfer fee when switched on

ALLOWED_EDGES = {
    (OPEN, FUNDED),
    (FUNDED, ACTIVE),
    (ACTIVE, REPAID),
    (ACTIVE, DEFAULTED),
    (OPEN, CANCELLED),
    (OPEN, EXPIRED),
    (FUNDED, CANCELLED),
    (FUNDED, EXPIRED),
}
# A step may take several edges at once (the seeding step funds and disburses): compare against
# the transitive closure. It still forbids every backward or sideways move.
REACHABLE = set(ALLOWED_EDGES)
for _ in range(3):
    REACHABLE |= {(a, d) for a, b in REACHABLE for c, d in REACHABLE if b == c}


STATS: Counter = Counter()


def event(label: str) -> None:
    """A hypothesis event, also counted for PEERLEND_FUZZ_STATS=1 (printed with -s)."""
    hypothesis_event(label)
    STATS[label] += 1


def _address(name: str) -> str:
    """A fixed address per role, without consuming boa's address generator."""
    return to_checksum_address(keccak(text=f"peerlend-invariants:{name}")[-20:])


def _topic(signature: str) -> int:
    return int.from_bytes(keccak(text=signature), "big")


REPAYMENT_TOPIC = _topic(
    "Repayment(uint256,address,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,"
    "uint256,uint256,uint256,uint256)"
)
RECOVERY_TOPIC = _topic("Recovery(uint256,address,uint256,uint256,uint256)")
DEFAULTED_TOPIC = _topic("LoanDefaulted(uint256,uint256,uint256,uint256)")


def raw_events(contract, topic: int) -> list[list[int]]:
    """Non-indexed uint256 fields of `contract`'s logs with `topic` in its last call.

    Decoding raw logs by hand is far cheaper than `get_logs()`, which matters at 6,000 steps.
    """
    address = bytes.fromhex(str(contract.address)[2:])
    return [
        [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
        for _, log_address, topics, data in contract._computation.get_raw_log_entries()
        if bytes(log_address) == address and topics and topics[0] == topic
    ]


# ---------------------------------------------------------------------------
# The deployed world, shared by every example (each example runs in an anchor)
# ---------------------------------------------------------------------------


@dataclass
class World:
    book: object
    notes: object
    gates: object
    tokens: list
    admin: str
    treasury: str
    officer: str
    borrowers: list  # borrowers[2] is the alias wallet that can take over borrowers[0]'s identity
    lenders: list
    stranger: str
    everyone: list
    lens: object
    minter: str


def identity_hash(index: int) -> bytes:
    return keccak(f"peerlend-invariants:identity{index}".encode())


def build_world() -> World:
    admin, treasury, officer, pauser, minter = (
        _address(n) for n in ("admin", "treasury", "officer", "pauser", "minter")
    )
    borrowers = [_address(f"borrower{i}") for i in range(2)] + [_address("alias")]
    lenders = [_address(f"lender{i}") for i in range(4)]
    stranger = _address("stranger")  # never KYC-verified
    with boa.env.prank(minter):
        tokens = [
            compiled("contracts/test/TestStablecoin.vy").deploy(),
            compiled("contracts/test/FeeOnTransferToken.vy").deploy(),
        ]
        tokens[1].set_fee_bps(0)  # off until the machine switches it on
    book, notes, gates, lens = deploy_book(tokens, admin, treasury, officer, pauser)
    with boa.env.prank(admin):
        for t, token in enumerate(tokens):
            book.set_grade_limits(token.address, [(MAX_LOAN, MAX_EXPOSURE, 0)] * 5)
            book.set_lender_kyc_threshold(token.address, LENDER_KYC_THRESHOLD[t])
    everyone = [*borrowers, *lenders, stranger]
    for token in tokens:
        for account in everyone:
            with boa.env.prank(minter):
                token.mint(account, START_BALANCE)
            with boa.env.prank(account):
                token.approve(book.address, MAX)
    return World(
        book,
        notes,
        gates,
        tokens,
        admin,
        treasury,
        officer,
        borrowers,
        lenders,
        stranger,
        everyone,
        lens,
        minter,
    )


def kyc(world: World, account: str, identity: bytes | None = None) -> int:
    """(Re)attests `account` (under `identity`, or its own); returns the expiry."""
    expires_at = boa.env.timestamp + KYC_TTL
    with boa.env.prank(world.admin):
        world.gates.identity.attest(
            account, identity or keccak(b"id:" + bytes.fromhex(account[2:])), expires_at
        )
    return expires_at


def score(world: World, account: str, value: int = 760) -> int:
    """Pushes a fresh score; returns the expiry."""
    with boa.env.prank(world.admin):
        world.gates.oracle.push_scores([account], [value], MODEL_ID, SCORE_TTL)
    return boa.env.timestamp + SCORE_TTL


@pytest.fixture
def world():
    """Built once for the state machine test (the boa plugin anchors it, so nothing outlives the
    test); every example then starts from this snapshot."""
    w = build_world()
    for i, account in enumerate(w.borrowers[:2]):
        kyc(w, account, identity_hash(i))
    for account in w.lenders:
        kyc(w, account)
    for account in w.borrowers:  # the alias is scored but holds no identity yet
        score(w, account)
    return w


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

principals = st.one_of(
    st.integers(1, 2_000),  # base-unit dust: rounding edges
    st.integers(1 * UNIT, MAX_LOAN),
    st.sampled_from([1_000 * UNIT, MAX_LOAN]),
)
aprs = st.one_of(st.sampled_from([0, 1, 3_600]), st.integers(0, 3_600))
periods = st.one_of(st.integers(1, 60).map(lambda d: d * DAY), st.integers(DAY, 60 * DAY))
funding_windows = st.one_of(st.sampled_from([3_600, 7 * DAY, 30 * DAY]), st.integers(3_600, 30 * DAY))
terms_strategy = st.builds(
    lambda orig, svc, share, pen, cap, cov, grace, extra, review, disburse: TermsParams(
        orig, svc, share, pen, cap, cov, grace, grace + extra, review, disburse
    ),
    st.integers(0, 500),
    st.integers(0, 2_000),
    st.integers(0, BPS),
    st.integers(0, 50),
    st.integers(0, 5_000),
    st.integers(0, BPS),
    st.integers(0, 30 * DAY),
    st.integers(0, 90 * DAY),
    st.integers(3_600, 7 * DAY),
    st.integers(3_600, 7 * DAY),
)
indices = st.integers(0, 10**6)
# "next" (one installment plus penalty, ±1) walks loans through their schedules.
repay_modes = st.sampled_from(["next", "unit", "next", "fraction", "next", "payoff", "over", "huge"])
BOUNDARIES = ["deadline", "review", "disburse", "due", "grace", "default"]


class LoanBookMachine(RuleBasedStateMachine):
    world: World  # set by the test before running

    def __init__(self):
        super().__init__()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        w = self.world
        self.w = w
        self.book = w.book
        self.lens = w.lens
        self.tokens = w.tokens
        self.params = DEFAULT_TERMS
        self.loans: dict[int, MLoan] = {}
        self.mnotes: dict[int, MNote] = {}
        self.held = [0, 0]
        self.reserve = [0, 0]
        self.fees = [0, 0]
        self.stray = [0, 0]
        self.fee_bps = [0, 0]  # transfer fee of each token
        self.balance: dict[tuple[int, str], int] = {}
        self.touched_loans: set[int] = set()
        self.touched_accounts: set[tuple[int, str]] = set()
        self.touched_tokens: set[int] = set()
        self.touched_notes: set[int] = set()
        self.exposure: dict[tuple[bytes, int], int] = {}
        self.unverified_funded: dict[tuple[int, str], int] = {}
        self.blocked: set[str] = set()
        # Which wallet holds each borrower identity (the alias may take identity 0 over).
        self.holder = {identity_hash(0): w.borrowers[0], identity_hash(1): w.borrowers[1]}
        start = self.now
        self.kyc_until = {a: start + KYC_TTL for a in [*w.borrowers[:2], *w.lenders]}
        self.score_until = {a: start + SCORE_TTL for a in w.borrowers}

    # -- helpers ------------------------------------------------------------

    @property
    def now(self) -> int:
        return boa.env.timestamp

    def bal(self, token: int, account: str) -> int:
        key = (token, account)
        if key not in self.balance:
            self.balance[key] = START_BALANCE if account in self.w.everyone else 0
        return self.balance[key]

    def move(self, token: int, account: str, delta: int) -> None:
        self.balance[(token, account)] = self.bal(token, account) + delta
        self.touched_accounts.add((token, account))
        self.touched_tokens.add(token)

    def arrives(self, token: int, amount: int) -> int:
        """What a transfer of `amount` delivers (the token keeps its fee)."""
        return amount - amount * self.fee_bps[token] // BPS

    def pay_out(self, token: int, account: str, amount: int) -> None:
        """The book sends `amount`; `account` receives it less the token's fee."""
        self.move(token, account, self.arrives(token, amount))

    def identity_of(self, wallet: str) -> bytes | None:
        for identity, holder in self.holder.items():
            if holder == wallet:
                return identity
        return None

    def is_verified(self, wallet: str) -> bool:
        """KYC'd lenders, and borrower wallets that hold an identity (re-attested on expiry)."""
        if wallet in self.w.lenders:
            return True
        return self.identity_of(wallet) is not None and self.now < self.kyc_until[wallet]

    def loans_where(self, want) -> list[MLoan]:
        return [self.loans[k] for k in sorted(self.loans) if want(self.loans[k])]

    def notes_where(self, want) -> list[MNote]:
        return [
            self.mnotes[k]
            for k in sorted(self.mnotes)
            if want(self.mnotes[k], self.loans[self.mnotes[k].loan_id])
        ]

    # What each targeted rule acts on; `poke` covers every other (loan, action) pair.
    def is_open(self, loan: MLoan) -> bool:
        return loan.effective_status(self.now) == OPEN

    def is_cancellable(self, loan: MLoan) -> bool:
        return loan.effective_status(self.now) in (OPEN, FUNDED)

    def is_payable(self, loan: MLoan) -> bool:
        return loan.status == ACTIVE or (loan.status == DEFAULTED and loan.recovered < loan.debt)

    def is_refundable(self, note: MNote, loan: MLoan) -> bool:
        return not note.burned and loan.effective_status(self.now) in (CANCELLED, EXPIRED)

    def reverts(self, reason: str, sender: str, fn, *args):
        event(f"revert {fn.fn_ast.name}: {reason}")
        with boa.env.prank(sender), boa.reverts(reason):
            fn(*args)

    def touch(self, loan: MLoan) -> None:
        self.touched_loans.add(loan.id)
        self.touched_tokens.add(loan.token)

    def take_fee(self, token: int, fee: int, terms: TermsParams) -> None:
        to_reserve = fee * terms.reserve_share_bps // BPS
        self.reserve[token] += to_reserve
        self.fees[token] += fee - to_reserve

    def close(self, loan: MLoan, status: int) -> None:
        """Cancel or expire an OPEN/FUNDED loan: its exposure is freed."""
        loan.status = status
        self.exposure[(loan.identity, loan.token)] -= loan.principal
        self.touch(loan)

    # -- market -------------------------------------------------------------

    def _request(
        self,
        borrower: str,
        token: int,
        method: int,
        principal: int,
        apr: int,
        n: int,
        period: int,
        funding: int,
    ):
        rows = schedule_int(principal, apr, n, period, method)
        if rows[-1][1:] == (0, 0):
            event("request: schedule paid off before its last installment")
        # The KYC attester and the oracle service keep borrowers onboarded.
        identity = self.identity_of(borrower)
        if identity is not None and self.now >= self.kyc_until[borrower]:
            self.kyc_until[borrower] = kyc(self.w, borrower, identity)
        if self.now >= self.score_until[borrower]:
            self.score_until[borrower] = score(self.w, borrower)
        args = (self.tokens[token].address, principal, apr, n, period, method, funding)
        if identity is None:
            return self.reverts("loanbook: borrower not verified", borrower, self.book.request_loan, *args)
        if borrower in self.blocked:
            return self.reverts("loanbook: borrower blocked", borrower, self.book.request_loan, *args)
        key = (identity, token)
        if self.exposure.get(key, 0) + principal > MAX_EXPOSURE:
            event("request over exposure cap")
            return self.reverts("loanbook: over exposure cap", borrower, self.book.request_loan, *args)
        with boa.env.prank(borrower):
            loan_id = self.book.request_loan(*args)
        assert loan_id == len(self.loans) + 1
        self.exposure[key] = self.exposure.get(key, 0) + principal
        loan = MLoan(
            id=loan_id,
            borrower=borrower,
            identity=identity,
            token=token,
            principal=principal,
            apr=apr,
            n=n,
            period=period,
            method=method,
            terms=self.params,
            deadline=self.now + funding,
        )
        self.loans[loan_id] = loan
        self.touch(loan)
        event(f"request method {method}" + (" by alias" if borrower == self.w.borrowers[2] else ""))
        return loan

    @initialize(
        specs=st.lists(
            st.tuples(
                st.integers(0, 1),
                st.integers(0, 1),
                st.integers(0, 3),
                principals,
                aprs,
                st.integers(1, 24),
                periods,
                st.sampled_from([2, 1, 0]),
            ),
            min_size=1,
            max_size=3,
        ),
        reserves=st.tuples(*[st.sampled_from([0, 10**9, 10**12])] * 2),
        terms=st.one_of(st.none(), terms_strategy),
    )
    def seed(self, specs, reserves, terms):
        """Every example starts with a few loans, each open, partly funded or already active,
        under the default or random terms, and maybe a seeded reserve: deep states are a few
        steps away, not twenty."""
        if terms is not None:
            self._set_params(terms)
        for t, amount in enumerate(reserves):
            if amount:
                self._deposit_reserve(t, amount, self.w.stranger)
        for b, t, method, principal, apr, n, period, stage in specs:
            loan = self._request(self.w.borrowers[b], t, method, principal, apr, n, period, 7 * DAY)
            if loan is None or not stage:
                continue
            self._fund(loan, self.w.lenders[0], max(1, principal // 3))
            if stage == 2 and loan.status == OPEN:
                self._fund_rest_and_disburse(loan, 2)

    @rule(
        b=st.integers(0, 2),
        t=st.integers(0, 1),
        method=st.integers(0, 3),
        principal=principals,
        apr=aprs,
        n=st.integers(1, 24),
        period=periods,
        funding=funding_windows,
    )
    def request_loan(self, b, t, method, principal, apr, n, period, funding):
        self._request(self.w.borrowers[b], t, method, principal, apr, n, period, funding)

    def _set_params(self, terms: TermsParams):
        """Later parameter changes never touch existing loans (checked through loan_terms)."""
        with boa.env.prank(self.w.admin):
            self.book.set_params(terms.as_tuple())
        self.params = terms

    def _fund(self, loan: MLoan, funder: str, amount: int):
        effective = loan.effective_status(self.now)
        if loan.status != OPEN:
            return self.reverts("loanbook: not open", funder, self.book.fund, loan.id, amount)
        if effective != OPEN:
            return self.reverts("loanbook: funding closed", funder, self.book.fund, loan.id, amount)
        if funder == loan.borrower:
            return self.reverts("loanbook: borrower cannot fund", funder, self.book.fund, loan.id, amount)
        take = min(amount, loan.principal - loan.funded)
        if funder in self.blocked:
            return self.reverts("loanbook: lender blocked", funder, self.book.fund, loan.id, amount)
        if funder in self.w.lenders and self.now >= self.kyc_until[funder]:
            self.kyc_until[funder] = kyc(self.w, funder)
        if not self.is_verified(funder):
            total = self.unverified_funded.get((loan.id, funder), 0) + take
            if total > LENDER_KYC_THRESHOLD[loan.token]:
                event("fund by unverified lender refused" + (" (cumulative)" if total > take else ""))
                return self.reverts("loanbook: lender not verified", funder, self.book.fund, loan.id, amount)
        if self.arrives(loan.token, take) != take:
            event("fund refused: transfer fee on")
            return self.reverts(FOT_REASON, funder, self.book.fund, loan.id, amount)
        with boa.env.prank(funder):
            note_id = self.book.fund(loan.id, amount)
        if not self.is_verified(funder):
            self.unverified_funded[(loan.id, funder)] = (
                self.unverified_funded.get((loan.id, funder), 0) + take
            )
        assert note_id == len(self.mnotes) + 1
        self.mnotes[note_id] = MNote(note_id, loan.id, take, funder)
        self.touched_notes.add(note_id)
        loan.notes.append(note_id)
        loan.funded += take
        self.held[loan.token] += take
        self.move(loan.token, funder, -take)
        if loan.funded == loan.principal:
            loan.status = FUNDED
            loan.review_ends_at = self.now + loan.terms.review_seconds
            event("fully funded")
        if take < amount:
            event("fund capped")
        self.touch(loan)

    @precondition(lambda self: self.loans_where(self.is_open))
    @rule(
        i=indices,
        who=st.integers(0, 7),
        mode=st.sampled_from(["part", "rest", "over"]),
        x=st.integers(1, BPS),
    )
    def fund(self, i, who, mode, x):
        """Partial, exact and over-funding (capped) by lenders, borrowers (refused for their own
        loan) and the unverified stranger."""
        open_loans = self.loans_where(self.is_open)
        loan = open_loans[i % len(open_loans)]
        funder = (self.w.lenders + self.w.borrowers + [self.w.stranger])[who]
        rest = max(loan.principal - loan.funded, 1)
        amount = {"part": max(1, rest * x // BPS), "rest": rest, "over": rest + x}[mode]
        self._fund(loan, funder, amount)

    def _fund_rest_and_disburse(self, loan: MLoan, parts: int) -> None:
        for k in range(parts):
            rest = loan.principal - loan.funded
            self._fund(loan, self.w.lenders[(k + 1) % 4], rest if k == parts - 1 else max(1, rest // 2))
        if loan.status == FUNDED:
            if loan.review_ends_at > self.now:
                self._travel(loan.review_ends_at - self.now)
            self._disburse(loan, self.w.stranger)

    @precondition(lambda self: self.loans_where(self.is_open))
    @rule(i=indices, parts=st.integers(1, 3))
    def fund_rest_and_disburse(self, i, parts):
        """Fast-forward: fill an open loan, wait out the review, pay it out."""
        open_loans = self.loans_where(self.is_open)
        self._fund_rest_and_disburse(open_loans[i % len(open_loans)], parts)

    @precondition(lambda self: self.loans_where(self.is_cancellable))
    @rule(i=indices, who=st.sampled_from(["officer", "borrower", "officer", "lender", "admin"]))
    def cancel(self, i, who):
        loans = self.loans_where(self.is_cancellable)
        self._cancel(loans[i % len(loans)], who)

    def _cancel(self, loan: MLoan, who: str):
        caller = {
            "borrower": loan.borrower,
            "officer": self.w.officer,
            "lender": self.w.lenders[0],
            "admin": self.w.admin,
        }[who]
        if loan.status == OPEN:
            if self.now >= loan.deadline:
                return self.reverts("loanbook: expired", caller, self.book.cancel, loan.id)
            if who not in ("borrower", "officer"):
                return self.reverts("loanbook: not allowed", caller, self.book.cancel, loan.id)
        elif loan.status == FUNDED:
            if who == "borrower":
                reason = "loanbook: funded, only the risk officer can veto"
                return self.reverts(reason, caller, self.book.cancel, loan.id)
            if who != "officer":
                return self.reverts("loanbook: not allowed", caller, self.book.cancel, loan.id)
            if self.now >= loan.review_ends_at:
                return self.reverts("loanbook: review over", caller, self.book.cancel, loan.id)
        else:
            return self.reverts("loanbook: not cancellable", caller, self.book.cancel, loan.id)
        with boa.env.prank(caller):
            self.book.cancel(loan.id)
        event(f"cancel from {loan.status}")
        self.close(loan, CANCELLED)

    def _disburse(self, loan: MLoan, caller: str):
        if loan.status != FUNDED:
            return self.reverts("loanbook: not funded", caller, self.book.disburse, loan.id)
        if self.now < loan.review_ends_at:
            return self.reverts("loanbook: in review", caller, self.book.disburse, loan.id)
        if self.now >= loan.disburse_deadline:
            event("disburse refused: deadline passed")
            return self.reverts("loanbook: disbursement deadline passed", caller, self.book.disburse, loan.id)
        with boa.env.prank(caller):
            self.book.disburse(loan.id)
        if loan.borrower in self.blocked or not self.is_verified(loan.borrower):
            event("disburse cancels: borrower blocked or unverified")
            return self.close(loan, CANCELLED)
        fee = loan.principal * loan.terms.origination_fee_bps // BPS
        loan.status = ACTIVE
        loan.disburse(self.now)
        self.held[loan.token] -= loan.principal
        self.take_fee(loan.token, fee, loan.terms)
        self.pay_out(loan.token, loan.borrower, loan.principal - fee)
        self.touch(loan)
        event("disbursed")

    @precondition(lambda self: self.loans_where(lambda ln: ln.status == FUNDED))
    @rule(i=indices, wait=st.booleans())
    def disburse(self, i, wait):
        """Right away (refused inside the review window) or once the review is over."""
        funded = self.loans_where(lambda ln: ln.status == FUNDED)
        loan = funded[i % len(funded)]
        if wait and loan.review_ends_at > self.now:
            self._travel(loan.review_ends_at - self.now)
        self._disburse(loan, self.w.stranger)

    # -- repayment ----------------------------------------------------------

    def _payer(self, loan: MLoan, who: int) -> str:
        return [loan.borrower, self.w.stranger, self.w.lenders[who % 4]][who % 3]

    def _repay_amount(self, loan: MLoan, mode: str, x: int) -> int:
        now = self.now
        if loan.status == DEFAULTED:
            owed = loan.debt - loan.recovered
            next_due = owed
        elif loan.status == ACTIVE:
            due = loan.amount_due(now)
            owed = due.payoff
            next_due = due.penalty + (due.past_due or due.next_due_amount)
        else:
            owed = next_due = x
        return {
            "unit": 1 + x % 100,
            "next": max(1, next_due + (x % 3) - 1),
            "fraction": max(1, owed * x // BPS),
            "payoff": max(1, owed),
            "over": owed + x,
            "huge": 10**14,
        }[mode]

    def _recover(self, loan: MLoan, payer: str, amount: int, fn, *args):
        take = min(amount, loan.debt - loan.recovered)
        if take == 0:
            return self.reverts("loanbook: nothing owed", payer, fn, *args)
        with boa.env.prank(payer):
            got = fn(*args)
        received = self.arrives(loan.token, take)
        assert got == received
        notes_cap = loan.debt - loan.cover
        to_notes = min(loan.recovered + received, notes_cap) - min(loan.recovered, notes_cap)
        to_reserve = received - to_notes
        assert raw_events(self.book, RECOVERY_TOPIC) == [[received, to_notes, to_reserve]]
        loan.recovered += received
        if loan.recovered == loan.debt:
            self.exposure[(loan.identity, loan.token)] -= loan.default_principal
        loan.credit(to_notes)
        loan.ev_recovered_to_notes += to_notes
        self.held[loan.token] += to_notes
        self.reserve[loan.token] += to_reserve
        self.move(loan.token, payer, -take)
        self.touch(loan)
        event("recovery" + (" complete" if loan.recovered == loan.debt else ""))

    def _pay(self, loan: MLoan, payer: str, amount: int, fn, *args):
        """A payment of up to `amount` on an ACTIVE loan (repay, or repay_in_full with the payoff):
        the waterfall of loanmath (the port of LoanBook's), rerun on what arrived if the token
        kept a fee."""
        now = self.now
        accrued = copy.copy(loan.ledger)
        added = loanmath.pending_penalty(accrued, now)
        accrued.accrued_until = now
        accrued.penalty_owed += added
        accrued.penalty_charged += added
        after = copy.copy(accrued)
        split = loanmath.waterfall(after, now, amount)
        if split.paid == 0:
            return self.reverts("loanbook: nothing owed", payer, fn, *args)
        payoff = loan.payoff(now)
        with boa.env.prank(payer):
            got = fn(*args)
        sent = split.paid
        received = self.arrives(loan.token, sent)
        if received < sent:
            event("payment short: transfer fee on")
            after = copy.copy(accrued)
            split = loanmath.waterfall(after, now, received)
        assert got == split.paid == received, (got, split, received)
        if amount >= payoff and received == split.paid == payoff:
            assert after.cursor > loan.n  # paying the payoff settles the loan, like repay_in_full
        if split.principal and now < loan.start + after.cursor * loan.period:
            event("prepayment")
        loan.integrate(now)
        loan.ledger = after
        fee = (split.interest + split.penalty) * loan.terms.service_fee_bps // BPS
        fee_reserve = fee * loan.terms.reserve_share_bps // BPS
        to_notes = split.paid - fee
        self.take_fee(loan.token, fee, loan.terms)
        self.held[loan.token] += to_notes
        loan.credit(to_notes)
        (ev,) = raw_events(self.book, REPAYMENT_TOPIC)
        expected = [
            split.paid,
            split.principal,
            split.interest,
            split.penalty,
            fee - fee_reserve,
            fee_reserve,
            to_notes,
            loan.outstanding,
            after.cursor,
            after.scheduled_remaining,
            after.interest_paid_current,
            after.level,
            after.interest_from,
        ]
        assert ev == expected, (ev, expected)
        self.exposure[(loan.identity, loan.token)] -= split.principal
        loan.repaid_amount += got
        loan.ev_amount += ev[0]
        loan.ev_principal += ev[1]
        loan.ev_interest += ev[2]
        loan.ev_penalty += ev[3]
        loan.ev_to_notes += ev[6]
        if split.penalty:
            event("repay pays penalty")
        if after.penalty_charged == loan.cap and loan.cap:
            event("penalty cap reached")
        if after.cursor > loan.n:
            loan.status = REPAID
            event("repaid")
        self.move(loan.token, payer, -sent)
        self.touch(loan)

    def _repay(self, loan: MLoan, payer: str, amount: int):
        if loan.status == DEFAULTED:
            return self._recover(loan, payer, amount, self.book.repay, loan.id, amount)
        if loan.status != ACTIVE:
            return self.reverts("loanbook: not active", payer, self.book.repay, loan.id, amount)
        self._pay(loan, payer, amount, self.book.repay, loan.id, amount)

    @precondition(lambda self: self.loans_where(self.is_payable))
    @rule(
        i=indices,
        who=st.integers(0, 11),
        mode=repay_modes,
        x=st.integers(1, BPS),
        wait=st.sampled_from(["no", "due", "late", "no", "very late"]),
    )
    def repay(self, i, who, mode, x, wait):
        """From 1 unit to far more than owed, by the borrower, a lender or a stranger; on time,
        early (a prepayment), after the grace period or just before the default threshold."""
        loans = self.loans_where(self.is_payable)
        loan = loans[i % len(loans)]
        if wait != "no" and loan.status == ACTIVE:
            due = loan.start + loan.cursor * loan.period
            target = {
                "due": due - x % 2,
                "late": due + loan.terms.grace_seconds + (x % 20) * DAY + x,
                "very late": due + loan.terms.default_after_seconds - x % 3,
            }[wait]
            if target > self.now:
                self._travel(target - self.now)
        self._repay(loan, self._payer(loan, who), self._repay_amount(loan, mode, x))

    @precondition(lambda self: self.loans_where(self.is_payable))
    @rule(i=indices, who=st.integers(0, 11))
    def repay_in_full(self, i, who):
        loans = self.loans_where(self.is_payable)
        loan = loans[i % len(loans)]
        self._repay_in_full(loan, self._payer(loan, who))

    def _repay_in_full(self, loan: MLoan, payer: str):
        if loan.status == DEFAULTED:
            owed = loan.debt - loan.recovered
            return self._recover(loan, payer, owed, self.book.repay_in_full, loan.id)
        if loan.status != ACTIVE:
            return self.reverts("loanbook: not active", payer, self.book.repay_in_full, loan.id)
        event("repay_in_full")
        self._pay(loan, payer, loan.payoff(self.now), self.book.repay_in_full, loan.id)

    @precondition(lambda self: self.loans_where(lambda ln: ln.status == ACTIVE))
    @rule(i=indices, when=st.sampled_from(["now", "at threshold", "past threshold", "past threshold"]))
    def mark_default(self, i, when):
        """Tried on active loans now, exactly at the threshold (refused: it must be passed) or
        just past it; the model decides whether it may. Checks `amount_due` first."""
        active = self.loans_where(lambda ln: ln.status == ACTIVE)
        loan = active[i % len(active)]
        if when != "now":
            threshold = loan.start + loan.cursor * loan.period + loan.terms.default_after_seconds
            target = threshold + (when == "past threshold") * (1 + i % 3)
            if target > self.now:
                self._travel(target - self.now)
        self._check_amount_due(loan)
        self._mark_default(loan)

    def _mark_default(self, loan: MLoan):
        caller = self.w.stranger
        if loan.status != ACTIVE:
            return self.reverts("loanbook: not active", caller, self.book.mark_default, loan.id)
        now = self.now
        if not loan.default_eligible(now):
            event("mark_default refused: not in default")
            return self.reverts("loanbook: not in default", caller, self.book.mark_default, loan.id)
        with boa.env.prank(caller):
            self.book.mark_default(loan.id)
        loan.integrate(now)  # the debt carries interest to date
        loan.accrue(now)
        interest, principal = loan.payoff_parts(now)
        loan.debt = loan.ledger.penalty_owed + interest + principal
        loan.cover = min(self.reserve[loan.token], principal * loan.terms.coverage_bps // BPS)
        assert raw_events(self.book, DEFAULTED_TOPIC) == [[loan.debt, principal, loan.cover]]
        self.reserve[loan.token] -= loan.cover
        self.held[loan.token] += loan.cover
        loan.default_principal = principal
        loan.distributed_at_default = loan.distributed
        loan.credit(loan.cover)
        loan.status = DEFAULTED
        self.touch(loan)
        event("defaulted" + (" with cover" if loan.cover else " without cover"))

    @precondition(lambda self: self.loans)
    @rule(
        i=indices,
        action=st.sampled_from(
            [
                "fund",
                "cancel",
                "disburse",
                "repay",
                "repay_in_full",
                "mark_default",
                "expire",
                "claim",
                "refund",
            ]
        ),
        x=st.integers(1, BPS),
    )
    def poke(self, i, action, x):
        """Any action on any loan or note, whatever its state: the model predicts success or the
        exact revert (most of the wrong-state reverts are checked here)."""
        loan = self.loans[sorted(self.loans)[i % len(self.loans)]]
        now = self.now
        expirable = self.loans_where(
            lambda ln: ln.status in (OPEN, FUNDED) and ln.effective_status(now) == EXPIRED
        )
        if action == "expire" and expirable and x % 2:
            loan = expirable[i % len(expirable)]
        if action in ("claim", "refund"):
            note = self.mnotes[sorted(self.mnotes)[i % len(self.mnotes)]] if self.mnotes else None
            if note is None:
                return
            return (
                self._claim_as(note, "owner")
                if action == "claim"
                else self._refund(note, self.loans[note.loan_id])
            )
        {
            "fund": lambda: self._fund(loan, self.w.lenders[x % 4], x),
            "cancel": lambda: self._cancel(loan, ["borrower", "officer", "lender", "admin"][x % 4]),
            "disburse": lambda: self._disburse(loan, self.w.stranger),
            "repay": lambda: self._repay(loan, loan.borrower, x),
            "repay_in_full": lambda: self._repay_in_full(loan, loan.borrower),
            "mark_default": lambda: self._mark_default(loan),
            "expire": lambda: self._expire(loan),
        }[action]()

    # -- identity, blocklist, token fee --------------------------------------

    @rule()
    def move_identity(self):
        """The KYC attester moves identity 0 between borrower 0 and the alias wallet (a lapsed
        or revoked wallet re-attested elsewhere): both wallets' loans count on one cap."""
        identity = identity_hash(0)
        old = self.holder[identity]
        new = self.w.borrowers[2] if old == self.w.borrowers[0] else self.w.borrowers[0]
        with boa.env.prank(self.w.admin):
            self.w.gates.identity.revoke(old)
        self.kyc_until[new] = kyc(self.w, new, identity)
        self.holder[identity] = new
        event("identity moved")

    @rule(b=st.integers(0, 2))
    def toggle_block(self, b):
        """The risk officer blocks or unblocks a borrower wallet (a block during review turns
        the loan refundable at disbursement)."""
        wallet = self.w.borrowers[b]
        blocked = wallet not in self.blocked
        with boa.env.prank(self.w.admin):
            self.w.gates.identity.set_blocked(wallet, blocked)
        if blocked:
            self.blocked.add(wallet)
        else:
            self.blocked.discard(wallet)
        event("block" if blocked else "unblock")

    @rule(on=st.booleans())
    def switch_fee(self, on):
        """Token 1 switches its transfer fee on or off under live loans."""
        bps = SWITCHED_FEE_BPS if on else 0
        with boa.env.prank(self.w.minter):
            self.tokens[1].set_fee_bps(bps)
        self.fee_bps[1] = bps
        event("token fee " + ("on" if on else "off"))

    # -- notes --------------------------------------------------------------

    @precondition(lambda self: self.notes_where(lambda n, ln: not n.burned and claimable(n, ln)))
    @rule(i=indices, caller=st.sampled_from(["owner", "owner", "operator", "stranger"]))
    def claim(self, i, caller):
        """Owners, approved operators (paying the owner) and strangers (refused)."""
        notes = self.notes_where(lambda n, ln: not n.burned and claimable(n, ln))
        self._claim_as(notes[i % len(notes)], caller)

    def _claim_as(self, note: MNote, caller: str):
        loan = self.loans[note.loan_id]
        if note.burned:
            return self.reverts(NO_NOTE, note.owner, self.book.claim, note.id)
        sender = {"owner": note.owner, "operator": note.operator or note.owner, "stranger": self.w.stranger}[
            caller
        ]
        if sender == self.w.stranger and note.owner != self.w.stranger:
            return self.reverts("note: not owner or approved", sender, self.book.claim, note.id)
        self._claim(note, loan, sender)

    def _claim(self, note: MNote, loan: MLoan, sender: str):
        amount = claimable(note, loan)
        if amount == 0:
            event("claim refused: nothing to claim")
            return self.reverts("loanbook: nothing to claim", sender, self.book.claim, note.id)
        with boa.env.prank(sender):
            got = self.book.claim(note.id)
        assert got == amount
        note.claimed += amount
        self.touched_notes.add(note.id)
        self.held[loan.token] -= amount
        self.pay_out(loan.token, note.owner, amount)  # the owner is paid, even when an operator calls
        self.touch(loan)
        event("claim" + (" by operator" if sender != note.owner else ""))

    @precondition(lambda self: self.notes_where(self.is_refundable))
    @rule(i=indices)
    def refund(self, i):
        notes = self.notes_where(self.is_refundable)
        note = notes[i % len(notes)]
        self._refund(note, self.loans[note.loan_id])

    def _refund(self, note: MNote, loan: MLoan):
        if note.burned:
            return self.reverts(NO_NOTE, note.owner, self.book.refund, note.id)
        effective = loan.effective_status(self.now)
        if effective not in (CANCELLED, EXPIRED):
            return self.reverts("loanbook: not refundable", note.owner, self.book.refund, note.id)
        with boa.env.prank(note.owner):
            self.book.refund(note.id)
        if loan.status in (OPEN, FUNDED):
            event("refund records expiry" + (" after disbursement deadline" if loan.status == FUNDED else ""))
            self.close(loan, EXPIRED)
        self.held[loan.token] -= note.share
        self.pay_out(loan.token, note.owner, note.share)
        note.share = 0
        note.burned = True
        self.touched_notes.add(note.id)
        self.touch(loan)
        event(f"refund {'expired' if loan.status == EXPIRED else 'cancelled'}")

    def _expire(self, loan: MLoan):
        """流标 or not disbursed in time: anyone records an expiry (before it: refused),
        freeing the exposure."""
        if loan.effective_status(self.now) != EXPIRED or loan.status not in (OPEN, FUNDED):
            return self.reverts("loanbook: not expired", self.w.stranger, self.book.expire, loan.id)
        with boa.env.prank(self.w.stranger):
            self.book.expire(loan.id)
        event("expire " + ("funded" if loan.status == FUNDED else "open"))
        self.close(loan, EXPIRED)

    @precondition(lambda self: self.notes_where(lambda n, ln: not n.burned))
    @rule(i=indices, to=st.integers(0, 5), approve=st.booleans())
    def note_market(self, i, to, approve):
        """债权转让 (a plain ERC-721 transfer; the buyer claims from then on), or approving an
        operator who may claim for the owner."""
        notes = self.notes_where(lambda n, ln: not n.burned)
        note = notes[i % len(notes)]
        if approve:
            return self._approve_operator(note, self.w.lenders[to % 4])
        receiver = (self.w.lenders + [self.w.stranger, self.w.borrowers[1]])[to]
        with boa.env.prank(note.owner):
            self.w.notes.transferFrom(note.owner, receiver, note.id)
        note.owner = receiver
        note.operator = None
        assert self.w.notes.ownerOf(note.id) == receiver
        event("note transfer")

    def _approve_operator(self, note: MNote, operator: str):
        if operator == note.owner:
            return
        with boa.env.prank(note.owner):
            self.w.notes.approve(operator, note.id)
        note.operator = operator

    # -- reserve, fees, stray money -----------------------------------------

    @rule(
        action=st.sampled_from(
            ["deposit_reserve", "withdraw_fees", "set_params", "stray_transfer", "withdraw_fees"]
        ),
        t=st.integers(0, 1),
        amount=st.integers(1, 10**11),
        who=st.integers(0, 6),
        terms=terms_strategy,
    )
    def money_admin(self, action, t, amount, who, terms):
        """Reserve deposits by anyone, fee withdrawals (admin only), new parameters for new
        loans, tokens sent to the book by mistake."""
        if action == "deposit_reserve":
            self._deposit_reserve(t, amount, self.w.everyone[who])
        elif action == "withdraw_fees":
            self._withdraw_fees(t, as_admin=who != 6)
        elif action == "set_params":
            self._set_params(terms)
        else:
            self._stray_transfer(t, amount)

    def _deposit_reserve(self, t: int, amount: int, sender: str):
        if self.arrives(t, amount) != amount:
            token = self.tokens[t].address
            return self.reverts(FOT_REASON, sender, self.book.deposit_reserve, token, amount)
        with boa.env.prank(sender):
            self.book.deposit_reserve(self.tokens[t].address, amount)
        self.reserve[t] += amount
        self.move(t, sender, -amount)

    def _stray_transfer(self, t: int, amount: int):
        """Tokens sent to the book by mistake break nothing (escrow is >=, not =)."""
        with boa.env.prank(self.w.stranger):
            self.tokens[t].transfer(self.book.address, amount)
        self.stray[t] += self.arrives(t, amount)
        self.move(t, self.w.stranger, -amount)

    def _withdraw_fees(self, t: int, as_admin: bool):
        token = self.tokens[t].address
        if not as_admin:
            return self.reverts(MISSING_ROLE, self.w.stranger, self.book.withdraw_fees, token)
        if self.fees[t] == 0:
            return self.reverts("loanbook: no fees", self.w.admin, self.book.withdraw_fees, token)
        with boa.env.prank(self.w.admin):
            assert self.book.withdraw_fees(token) == self.fees[t]
        self.pay_out(t, self.w.treasury, self.fees[t])
        self.fees[t] = 0
        event("fees withdrawn")

    # -- time ---------------------------------------------------------------

    def _travel(self, seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)
        # `loan()` must now report EXPIRED for every open or funded loan past its deadline.
        for loan in self.loans.values():
            if loan.status in (OPEN, FUNDED):
                self.touched_loans.add(loan.id)

    @rule(
        seconds=st.one_of(
            st.integers(1, 6 * 3_600), st.integers(DAY, 15 * DAY), st.integers(30 * DAY, 400 * DAY)
        )
    )
    def time_travel(self, seconds):
        self._travel(seconds)

    @precondition(lambda self: self.loans)
    @rule(i=indices, which=st.sampled_from(BOUNDARIES), delta=st.integers(-1, 2))
    def travel_to_boundary(self, i, which, delta):
        """Land one second around a deadline: funding, review, due, grace, default."""
        loan = self.loans[sorted(self.loans)[i % len(self.loans)]]
        due = loan.start + min(max(loan.cursor, 1), loan.n) * loan.period
        target = {
            "deadline": loan.deadline,
            "review": loan.review_ends_at,
            "disburse": loan.disburse_deadline,
            "due": due,
            "grace": due + loan.terms.grace_seconds,
            "default": due + loan.terms.default_after_seconds,
        }[which] + delta
        if loan.start == 0 and which in ("due", "grace", "default"):
            return
        if loan.review_ends_at == 0 and which in ("review", "disburse"):
            return
        if target > self.now:
            self._travel(target - self.now)

    def _check_amount_due(self, loan: MLoan):
        """The `amount_due` view agrees with the model (nothing is recorded by it)."""
        now = self.now
        due = self.lens.amount_due(loan.id)
        assert tuple(due) == tuple(loan.amount_due(now).__dict__.values())
        interest, principal = loan.payoff_parts(now)
        assert due.payoff == due.penalty + interest + principal
        assert due.principal_outstanding == principal == loan.outstanding

    # -- checks -------------------------------------------------------------

    def compare_loan(self, loan: MLoan, deep: bool = False) -> None:
        book = self.book
        now = self.now
        got = book.loan(loan.id)
        status = got.status
        assert status == loan.effective_status(now), (loan.id, status, loan.status)
        if status != loan.seen_status:
            assert (loan.seen_status, status) in REACHABLE, (loan.id, loan.seen_status, status)
            loan.seen_status = status
        assert got.funded == loan.funded
        assert got.review_ends_at == loan.review_ends_at
        assert got.start == loan.start
        assert got.annuity == loan.annuity
        assert got.funding_deadline == loan.deadline
        if loan.start:
            ledger = book.ledger(loan.id)
            mine = loan.ledger
            assert (
                ledger.cursor,
                ledger.scheduled_remaining,
                ledger.interest_paid_current,
                ledger.principal_paid_current,
                ledger.penalty_owed,
                ledger.penalty_charged,
                ledger.accrued_until,
                ledger.acc_per_share,
                ledger.distributed,
                ledger.level,
                ledger.interest_from,
            ) == (
                mine.cursor,
                mine.scheduled_remaining,
                mine.interest_paid_current,
                mine.principal_paid_current,
                mine.penalty_owed,
                mine.penalty_charged,
                mine.accrued_until,
                loan.acc,
                loan.distributed,
                mine.level,
                mine.interest_from,
            ), (loan.id, ledger, loan)
        if loan.status == DEFAULTED:
            record = book.default_record(loan.id)
            assert (record.debt, record.cover, record.recovered, record.principal) == (
                loan.debt,
                loan.cover,
                loan.recovered,
                loan.default_principal,
            )
        for previous, note_id in zip([0, *loan.notes], loan.notes, strict=False):
            # Each note beside the loan's note before it (0 for the first). A note changes only
            # when funded, claimed or refunded; `claimable` is a view of the note and the
            # (compared) accumulator: both are read for every note at teardown.
            if deep or note_id in self.touched_notes:
                note = self.mnotes[note_id]
                assert tuple(book.note(note_id)) == (loan.id, note.share, note.claimed, previous)
                assert book.claimable(note_id) == claimable(note, loan)
        if deep:
            assert tuple(book.loan_terms(loan.id)) == loan.terms.as_tuple()
            assert got.identity_hash == loan.identity
            assert (
                got.borrower,
                got.principal,
                got.apr_bps,
                got.installments,
                got.period_seconds,
                got.method,
            ) == (loan.borrower, loan.principal, loan.apr, loan.n, loan.period, loan.method)
            for note_id in loan.notes:
                note = self.mnotes[note_id]
                if not note.burned:
                    assert self.w.notes.ownerOf(note_id) == note.owner

    def check_exposure(self, identity: bytes, t: int) -> None:
        """exposure of an identity == principal of its open and funded loans, what is outstanding
        on active ones, and the defaulted principal of defaulted loans not fully recovered,
        whichever of its wallets borrowed."""
        expected = 0
        for loan in self.loans.values():
            if loan.identity != identity or loan.token != t:
                continue
            if loan.status in (OPEN, FUNDED):
                expected += loan.principal
            elif loan.status == ACTIVE:
                expected += loan.outstanding
            elif loan.status == DEFAULTED and loan.recovered < loan.debt:
                expected += loan.default_principal
        assert self.exposure.get((identity, t), 0) == expected
        assert self.book.exposure(identity, self.tokens[t].address) == expected

    def check_token(self, t: int) -> None:
        token = self.tokens[t]
        book_balance = token.balanceOf(self.book.address)
        held, reserve, fees = (
            self.book.held(token.address),
            self.book.reserve(token.address),
            self.book.fees(token.address),
        )
        # The book keeps no total of what it owes lenders and borrowers: `held` is its balance less
        # the reserve and fees, so stray transfers show in it; the model keeps the owed total.
        assert (held, reserve, fees) == (self.held[t] + self.stray[t], self.reserve[t], self.fees[t])
        # 1. escrow
        assert book_balance == self.held[t] + reserve + fees + self.stray[t]
        held = self.held[t]
        escrow = owed_to_notes = 0
        for loan in self.loans.values():
            if loan.token != t:
                continue
            if loan.status in (OPEN, FUNDED, CANCELLED, EXPIRED):  # funded money not yet paid out or refunded
                escrow += sum(self.mnotes[n].share for n in loan.notes)
            owed_to_notes += sum(claimable(self.mnotes[n], loan) for n in loan.notes)
        assert held >= escrow + owed_to_notes, (t, held, escrow, owed_to_notes)

    def check_model_invariants(self) -> None:
        for loan in self.loans.values():
            shares = sum(self.mnotes[n].share for n in loan.notes)
            # 2. shares add up to what was funded
            if loan.status in (OPEN, FUNDED, ACTIVE, REPAID, DEFAULTED):
                assert shares == loan.funded
            else:
                assert shares <= loan.funded
            if loan.status in (ACTIVE, REPAID, DEFAULTED):
                assert loan.funded == loan.principal
            # 3. status edges are checked against the contract's `loan()` in compare_loan
            # 5. penalty cap
            if loan.ledger:
                assert loan.ledger.penalty_charged <= loan.cap
            # 4. nobody is paid more than owed
            total = 0
            for n in loan.notes:
                note = self.mnotes[n]
                got = entitled(note, loan)
                total += got
                if note.burned:
                    assert note.claimed == 0
                    continue
                fair = note.share * loan.distributed // loan.principal
                assert fair - 1 <= got <= fair, (loan.id, n, got, fair)
                ceiling = note.share * (loan.principal + loan.interest_bound() + loan.cap) // loan.principal
                assert got <= ceiling
            assert total <= loan.distributed
            assert loan.distributed - total <= len(loan.notes) + 1  # dust only
            assert (
                loan.ev_amount == loan.ev_principal + loan.ev_interest + loan.ev_penalty == loan.repaid_amount
            )
            # interest only ever for principal actually outstanding, for the time it was
            assert loan.ev_interest <= loan.interest_bound(), (
                loan.id,
                loan.ev_interest,
                loan.interest_bound(),
            )
            assert loan.ev_penalty <= (loan.ledger.penalty_charged if loan.ledger else 0)
            assert loan.ev_principal <= loan.principal
            if loan.status == REPAID:
                assert loan.ev_principal == loan.principal
            if loan.status == DEFAULTED:
                assert loan.cover + loan.ev_recovered_to_notes <= loan.debt
                assert loan.recovered <= loan.debt
                assert (
                    loan.distributed == loan.distributed_at_default + loan.cover + loan.ev_recovered_to_notes
                )
                # the debt carries all principal not repaid before the default
                assert loan.ev_principal + (loan.debt - loan.ledger.penalty_owed) >= loan.principal

    @invariant()
    def contract_matches_model(self):
        for loan_id in sorted(self.touched_loans):
            self.compare_loan(self.loans[loan_id])
        for t in sorted(self.touched_tokens):
            self.check_token(t)
        for identity, t in sorted(
            {(self.loans[i].identity, self.loans[i].token) for i in self.touched_loans}
        ):
            self.check_exposure(identity, t)
        for t, account in sorted(self.touched_accounts):
            assert self.tokens[t].balanceOf(account) == self.bal(t, account), (t, account)
        self.touched_loans.clear()
        self.touched_tokens.clear()
        self.touched_accounts.clear()
        self.touched_notes.clear()
        self.check_model_invariants()

    def teardown(self):
        try:
            self.final_checks()
        finally:
            self._anchor.__exit__(None, None, None)

    def final_checks(self):
        # Everything, including what no step touched.
        self.contract_matches_model()
        for loan in self.loans.values():
            self.compare_loan(loan, deep=True)
        for t in (0, 1):
            self.check_token(t)
        for t, account in list(self.balance):
            assert self.tokens[t].balanceOf(account) == self.bal(t, account)
        # Every claimable note can claim and every refundable note can refund; the owners'
        # balances are then compared with the model (the token arrived, to the unit).
        for note in list(self.mnotes.values()):
            loan = self.loans[note.loan_id]
            if not note.burned and claimable(note, loan) > 0:
                self._claim(note, loan, note.owner)
            if self.is_refundable(note, loan):
                self._refund(note, loan)
                assert note.burned
        self.contract_matches_model()
        for t in (0, 1):
            # What is left in `held` is open/funded escrow and rounding dust.
            escrow = sum(
                ln.funded for ln in self.loans.values() if ln.token == t and ln.status in (OPEN, FUNDED)
            )
            dust = self.held[t] - escrow
            live_loans = [ln for ln in self.loans.values() if ln.token == t and ln.start]
            assert 0 <= dust <= sum(len(ln.notes) + 1 for ln in live_loans)
        for identity in self.holder:
            for t in (0, 1):
                self.check_exposure(identity, t)


def test_loanbook_state_machine(world, monkeypatch):
    # boa renders a contract's whole storage into every revert it sees; with dozens of loans that
    # is most of the run time of an expected revert. The machine checks reasons, not dumps.
    monkeypatch.setattr(
        VyperContract, "__repr__", lambda self: f"<{self.compiler_data.contract_path} at {self.address}>"
    )
    LoanBookMachine.world = world
    boa.env.enable_fast_mode(True)
    try:
        run_state_machine_as_test(
            LoanBookMachine,
            settings=settings(
                max_examples=examples(EXAMPLES),
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.filter_too_much,
                    HealthCheck.data_too_large,
                ],
                print_blob=True,
                phases=PHASES,
            ),
        )
    finally:
        boa.env.enable_fast_mode(False)
    if os.environ.get("PEERLEND_FUZZ_STATS") == "1":
        print("\nstate machine coverage (events over all examples):")
        for label, count in sorted(STATS.items()):
            print(f"  {count:6d}  {label}")
