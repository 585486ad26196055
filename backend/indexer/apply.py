"""Derived state from events: one handler per event, the same code for live sync and replay.

`apply_event` mutates the derived rows for one stored `Event`; `replay` rebuilds every
derived table from the `event` table (used after a reorg rollback, and by tests to prove
the incremental path and the replay path agree).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from sqlalchemy import delete, select
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlmodel import Session

from backend.db.models import DERIVED_TABLES, Claim, Event, Identity, Loan, Note, Repayment, Score, Token
from peerlend import loanmath
from peerlend.vocabulary import TERMS_FIELDS

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

Handler = Callable[[Session, Event, dict], None]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(contract: str, name: str):
    def register(fn: Handler) -> Handler:
        HANDLERS[(contract, name)] = fn
        return fn

    return register


_CACHE = "peerlend.derived"


def reset_cache(session: Session) -> None:
    """Forget the rows cached by `get`/`add` (at every batch start, and after a rollback)."""
    session.info.pop(_CACHE, None)


def get(session: Session, model, key):
    """`session.get` with a per-batch cache, so that rows added earlier in the batch are found
    without flushing and hot rows (loans, tokens) are not reloaded."""
    cache = session.info.setdefault(_CACHE, {})
    row = cache.get((model, key))
    if row is None:
        row = session.get(model, key)
        if row is not None:
            cache[(model, key)] = row
    return row


def add(session: Session, row, key) -> None:
    session.add(row)
    session.info.setdefault(_CACHE, {})[(type(row), key)] = row


@cache
def _defaults(model) -> dict:
    return {name: field.get_default(call_default_factory=True) for name, field in model.model_fields.items()}


def new_row(table, /, **values):
    """A new table row without SQLModel's per-field constructor (a third of a backfill's time):
    created the way SQLAlchemy creates rows it loads, with every column set in its state."""
    row = manager_of_class(table).new_instance()
    row.__dict__.update(_defaults(table))
    row.__dict__.update(values)
    return row


def apply_event(session: Session, event: Event) -> None:
    handler = HANDLERS.get((event.contract, event.name))
    if handler is not None:
        handler(session, event, event.args)


def replay(session: Session) -> int:
    """Deletes all derived rows and re-applies every stored event in chain order."""
    session.flush()
    reset_cache(session)
    for table in DERIVED_TABLES:
        session.exec(delete(table))
    for stale in [obj for obj in session.identity_map.values() if isinstance(obj, DERIVED_TABLES)]:
        session.expunge(stale)
    count = 0
    query = select(Event).order_by(Event.block_number, Event.log_index).execution_options(yield_per=2_000)
    with session.no_autoflush:
        for (event,) in session.execute(query):
            apply_event(session, event)
            count += 1
    session.flush()
    reset_cache(session)
    return count


def loan_state(loan: Loan) -> loanmath.LoanState:
    return loanmath.LoanState(
        principal=loan.principal,
        apr_bps=loan.apr_bps,
        installments=loan.installments,
        period_seconds=loan.period_seconds,
        method=loan.method,
        start=loan.start,
        annuity=loan.annuity,
        penalty_bps_per_day=loan.penalty_bps_per_day,
        penalty_cap_bps=loan.penalty_cap_bps,
        grace_seconds=loan.grace_seconds,
        cursor=loan.cursor,
        scheduled_remaining=loan.scheduled_remaining,
        interest_paid_current=loan.interest_paid_current,
        principal_paid_current=loan.principal_paid_current,
        penalty_owed=loan.penalty_owed,
        penalty_charged=loan.penalty_charged,
        accrued_until=loan.accrued_until,
        level=loan.level,
        interest_from=loan.interest_from,
    )


def _u(args: dict, key: str) -> int:
    return int(args[key])


def _hex(value) -> str:
    return "0x" + bytes(value).hex() if isinstance(value, (bytes, bytearray)) else str(value)


def _loan(session: Session, args: dict) -> Loan:
    loan = get(session, Loan, _u(args, "loan_id"))
    if loan is None:
        raise LookupError(f"event for unknown loan {args['loan_id']}")
    return loan


def _lenders(session: Session, loan_id: int) -> set[str]:
    """Distinct accounts that funded a note of the loan (cached for the batch: notes added in it
    are not flushed)."""
    cache = session.info.setdefault(_CACHE, {})
    lenders = cache.get(("lenders", loan_id))
    if lenders is None:
        lenders = set(session.scalars(select(Note.lender).where(Note.loan_id == loan_id)))
        cache[("lenders", loan_id)] = lenders
    return lenders


def _token(session: Session, address: str) -> Token:
    token = get(session, Token, address)
    if token is None:
        token = new_row(Token, address=address)
        add(session, token, address)
    return token


def _credit_notes(loan: Loan, amount: int) -> None:
    """`LoanBook._credit_notes`: the O(1) pro-rata accumulator."""
    loan.acc_per_share += amount * loanmath.ACC_SCALE // loan.principal
    loan.distributed += amount


# ---------------------------------------------------------------------------
# LoanBook
# ---------------------------------------------------------------------------


@handles("LoanBook", "LoanRequested")
def _requested(session: Session, event: Event, args: dict) -> None:
    add(
        session,
        new_row(
            Loan,
            id=_u(args, "loan_id"),
            borrower=args["borrower"],
            identity_hash=_hex(args["identity_hash"]),
            token=args["token"],
            grade=_u(args, "grade"),
            score=_u(args, "score"),
            principal=_u(args, "principal"),
            apr_bps=_u(args, "apr_bps"),
            installments=_u(args, "installments"),
            period_seconds=_u(args, "period_seconds"),
            method=_u(args, "method"),
            funding_deadline=_u(args, "funding_deadline"),
            status="OPEN",
            requested_at=event.block_timestamp,
            requested_block=event.block_number,
        ),
        _u(args, "loan_id"),
    )
    # A new loan has no lenders yet: nothing to look up when it is funded in the same batch.
    session.info.setdefault(_CACHE, {})[("lenders", _u(args, "loan_id"))] = set()
    _token(session, args["token"])


@handles("LoanBook", "LoanTerms")
def _terms(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    for field in TERMS_FIELDS:
        setattr(loan, field, _u(args, field))


@handles("LoanBook", "LoanFunded")
def _funded(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    amount = _u(args, "amount")
    loan.funded = _u(args, "total_funded")
    loan.note_count += 1
    lenders = _lenders(session, loan.id)
    if args["lender"] not in lenders:
        lenders.add(args["lender"])
        loan.lender_count += 1
    # Each funding mints a new note id: nothing to look up.
    note = new_row(
        Note,
        id=_u(args, "note_id"),
        loan_id=loan.id,
        lender=args["lender"],
        amount=amount,
        share=amount,
        funded_at=event.block_timestamp,
        funded_block=event.block_number,
    )
    add(session, note, note.id)
    _token(session, loan.token).held += amount


@handles("LoanBook", "LoanFullyFunded")
def _fully_funded(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    loan.status = "FUNDED"
    loan.review_ends_at = _u(args, "review_ends_at")
    loan.fully_funded_at = event.block_timestamp


@handles("LoanBook", "LoanCancelled")
def _cancelled(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    loan.status = "CANCELLED"
    loan.cancelled_by = args["by"]
    loan.closed_at = event.block_timestamp


@handles("LoanBook", "LoanExpired")
def _expired(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    loan.status = "EXPIRED"
    loan.closed_at = event.block_timestamp


@handles("LoanBook", "NoteRefunded")
def _refunded(session: Session, event: Event, args: dict) -> None:
    note = get(session, Note, _u(args, "note_id"))
    amount = _u(args, "amount")
    note.share = 0
    note.refunded = amount
    loan = get(session, Loan, note.loan_id)
    _token(session, loan.token).held -= amount


@handles("LoanBook", "LoanDisbursed")
def _disbursed(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    fee = _u(args, "origination_fee")
    loan.status = "ACTIVE"
    loan.start = _u(args, "start")
    loan.annuity = _u(args, "annuity")
    loan.origination_fee = fee
    loan.origination_fee_reserve = fee * loan.reserve_share_bps // loanmath.BPS
    loan.disbursed_amount = _u(args, "amount")
    loan.disbursed_at = event.block_timestamp
    loan.scheduled_remaining = loan.principal
    loan.principal_outstanding = loan.principal
    loan.accrued_until = loan.start
    loan.interest_from = loan.start
    loan.level = loanmath.level_of(
        loan.method, loan.principal, loan.apr_bps, loan.installments, loan.period_seconds
    )
    loan.cursor = loanmath.initial_cursor(loan_state(loan))
    token = _token(session, loan.token)
    token.held -= loan.principal
    _take_fee(token, fee - loan.origination_fee_reserve, loan.origination_fee_reserve)


def _take_fee(token: Token, to_treasury: int, to_reserve: int) -> None:
    token.fees += to_treasury
    token.fees_to_treasury += to_treasury
    token.reserve += to_reserve
    token.fees_to_reserve += to_reserve


@handles("LoanBook", "PenaltyAccrued")
def _penalty(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    loan.penalty_owed = _u(args, "penalty_owed")
    loan.penalty_charged += _u(args, "amount")
    loan.accrued_until = event.block_timestamp


@handles("LoanBook", "Repayment")
def _repayment(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    principal, interest, penalty = _u(args, "principal"), _u(args, "interest"), _u(args, "penalty")
    to_notes = _u(args, "to_noteholders")
    loan.accrued_until = event.block_timestamp
    loan.penalty_owed -= penalty
    loan.principal_paid += principal
    loan.interest_paid += interest
    loan.penalty_paid += penalty
    loan.principal_outstanding = _u(args, "principal_outstanding")
    loan.cursor = _u(args, "next_installment")
    loan.last_payment_at = event.block_timestamp
    # The event carries the ledger after the payment (a prepayment recomputes the schedule).
    loan.scheduled_remaining = _u(args, "scheduled_remaining")
    loan.interest_paid_current = _u(args, "interest_paid_current")
    loan.principal_paid_current = loan.scheduled_remaining - loan.principal_outstanding
    loan.level = _u(args, "level")
    loan.interest_from = _u(args, "interest_from")
    _credit_notes(loan, to_notes)
    token = _token(session, loan.token)
    token.held += to_notes
    _take_fee(token, _u(args, "fee_treasury"), _u(args, "fee_reserve"))
    session.add(
        new_row(
            Repayment,
            event_id=event.id,
            loan_id=loan.id,
            kind="repayment",
            payer=args["payer"],
            block_number=event.block_number,
            timestamp=event.block_timestamp,
            tx_hash=event.tx_hash,
            amount=_u(args, "amount"),
            principal=principal,
            interest=interest,
            penalty=penalty,
            fee_treasury=_u(args, "fee_treasury"),
            fee_reserve=_u(args, "fee_reserve"),
            to_noteholders=to_notes,
            principal_outstanding=loan.principal_outstanding,
            next_installment=loan.cursor,
        )
    )


@handles("LoanBook", "LoanRepaid")
def _repaid(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    loan.status = "REPAID"
    loan.closed_at = event.block_timestamp


@handles("LoanBook", "LoanDefaulted")
def _defaulted(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    cover = _u(args, "cover")
    loan.status = "DEFAULTED"
    loan.accrued_until = event.block_timestamp
    loan.default_debt = _u(args, "debt")
    loan.default_principal = _u(args, "principal_outstanding")
    loan.default_cover = cover
    loan.closed_at = event.block_timestamp
    _credit_notes(loan, cover)
    token = _token(session, loan.token)
    token.reserve -= cover
    token.held += cover
    token.reserve_cover_paid += cover


@handles("LoanBook", "Recovery")
def _recovery(session: Session, event: Event, args: dict) -> None:
    loan = _loan(session, args)
    amount, to_notes, to_reserve = _u(args, "amount"), _u(args, "to_noteholders"), _u(args, "to_reserve")
    loan.recovered += amount
    loan.last_payment_at = event.block_timestamp
    _credit_notes(loan, to_notes)
    token = _token(session, loan.token)
    token.held += to_notes
    token.reserve += to_reserve
    token.reserve_recovered += to_reserve
    session.add(
        new_row(
            Repayment,
            event_id=event.id,
            loan_id=loan.id,
            kind="recovery",
            payer=args["payer"],
            block_number=event.block_number,
            timestamp=event.block_timestamp,
            tx_hash=event.tx_hash,
            amount=amount,
            to_noteholders=to_notes,
            to_reserve=to_reserve,
            principal_outstanding=0,
            next_installment=loan.cursor,
        )
    )


@handles("LoanBook", "Claimed")
def _claimed(session: Session, event: Event, args: dict) -> None:
    note = get(session, Note, _u(args, "note_id"))
    amount = _u(args, "amount")
    note.claimed += amount
    loan = get(session, Loan, note.loan_id)
    _token(session, loan.token).held -= amount
    session.add(
        new_row(
            Claim,
            event_id=event.id,
            note_id=note.id,
            loan_id=note.loan_id,
            owner=args["owner"],
            amount=amount,
            block_number=event.block_number,
            timestamp=event.block_timestamp,
            tx_hash=event.tx_hash,
        )
    )


@handles("LoanBook", "ReserveDeposited")
def _reserve_deposit(session: Session, event: Event, args: dict) -> None:
    token = _token(session, args["token"])
    token.reserve += _u(args, "amount")
    token.reserve_deposits += _u(args, "amount")


@handles("LoanBook", "FeesWithdrawn")
def _fees_withdrawn(session: Session, event: Event, args: dict) -> None:
    token = _token(session, args["token"])
    token.fees -= _u(args, "amount")
    token.fees_withdrawn += _u(args, "amount")


@handles("LoanBook", "TokenAllowed")
def _token_allowed(session: Session, event: Event, args: dict) -> None:
    _token(session, args["token"]).allowed = bool(args["allowed"])


# ---------------------------------------------------------------------------
# LoanNote (ERC-721): owners follow transfers, so note buyers are credited
# ---------------------------------------------------------------------------


@handles("LoanNote", "Transfer")
def _note_transfer(session: Session, event: Event, args: dict) -> None:
    note = get(session, Note, _u(args, "token_id"))
    if note is None:  # LoanBook logs LoanFunded before it mints, so this cannot happen
        raise LookupError(f"Transfer of unknown note {args['token_id']}")
    sender, receiver = args["sender"], args["receiver"]
    note.owner = None if receiver == ZERO_ADDRESS else receiver
    if sender != ZERO_ADDRESS and receiver != ZERO_ADDRESS:
        note.transfers += 1


# ---------------------------------------------------------------------------
# IdentityRegistry and CreditOracle
# ---------------------------------------------------------------------------


def _identity(session: Session, address: str) -> Identity:
    identity = get(session, Identity, address)
    if identity is None:
        identity = new_row(Identity, address=address)
        add(session, identity, address)
    return identity


@handles("IdentityRegistry", "Attested")
def _attested(session: Session, event: Event, args: dict) -> None:
    identity = _identity(session, args["account"])
    identity.identity_hash = args["identity_hash"]
    identity.kyc_expires_at = _u(args, "expires_at")
    identity.attested_at = event.block_timestamp
    identity.attester = args["attester"]
    identity.revoked_at = None


@handles("IdentityRegistry", "Revoked")
def _revoked(session: Session, event: Event, args: dict) -> None:
    identity = _identity(session, args["account"])
    identity.identity_hash = None
    identity.kyc_expires_at = 0
    identity.revoked_at = event.block_timestamp


@handles("IdentityRegistry", "BlockedSet")
def _blocked(session: Session, event: Event, args: dict) -> None:
    identity = _identity(session, args["account"])
    identity.blocked = bool(args["blocked"])
    identity.blocked_changed_at = event.block_timestamp
    identity.blocked_by = args["by"]


@handles("CreditOracle", "ScoreUpdated")
def _score(session: Session, event: Event, args: dict) -> None:
    session.add(
        new_row(
            Score,
            event_id=event.id,
            account=args["account"],
            score=_u(args, "score"),
            grade=_u(args, "grade"),
            model=args["model"],
            expires_at=_u(args, "expires_at"),
            block_number=event.block_number,
            timestamp=event.block_timestamp,
        )
    )
