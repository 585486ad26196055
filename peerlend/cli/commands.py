"""`peerlend`: the wallet CLI for borrowers and lenders.

    peerlend --account TEST::4 score apply --fields application.json
    peerlend --account TEST::4 request 1500.50 --apr 12 --installments 12
    peerlend --account TEST::7 fund 6 500
    peerlend loans --status open

By default it talks to the local demo chain (http://127.0.0.1:8545, `make demo`) and finds
its deployment record from any folder; `--rpc URL`, `--network` (any ape network) and
`--deployments DIR` point it elsewhere. Amounts are in token units. Every transaction is
checked with an eth_call first, so one that would revert is refused without spending gas;
amounts above what is due or still needed are shown and confirmed (`--yes` for scripts).
Errors are one line on stderr and a non-zero exit; `--verbose` shows ape's logs and traces.
"""

from __future__ import annotations

import os
import sys
import time

import click

from peerlend.cli import application
from peerlend.cli.display import Money, date, parse_percent, relative, short, table, units, when
from peerlend.cli.reasons import explain
from peerlend.cli.session import CliError, Revert, Session, address_argument
from peerlend.vocabulary import DAY, Grade, LoanStatus, Method

API_URL_ENV = "PEERLEND_API_URL"
API_PORT_ENV = "PEERLEND_API_PORT"
MAX_ID = 2**256 - 1


class Cli(click.Group):
    """Every failure is one line on stderr: usage errors, reverts, and (unless --verbose)
    anything unexpected."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        verbose = "--verbose" in argv or "-v" in argv
        code = 0
        try:
            result = super().main(argv, prog_name or "peerlend", complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.UsageError as error:
            where = f" (see `{error.ctx.command_path} --help`)" if error.ctx is not None else ""
            click.echo(f"error: {one_line(error.format_message())}{where}", err=True)
            code = error.exit_code
        except click.ClickException as error:
            click.echo(f"error: {one_line(error.format_message())}", err=True)
            code = error.exit_code
        except click.Abort:
            click.echo("error: aborted, nothing was sent", err=True)
            code = 1
        except (KeyboardInterrupt, EOFError):
            click.echo("error: interrupted", err=True)
            code = 130
        except Exception as error:
            if verbose:
                raise
            click.echo(
                f"error: unexpected {type(error).__name__}: {one_line(str(error))[:200]} "
                "(rerun with --verbose for the details)",
                err=True,
            )
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


def one_line(text: str) -> str:
    return " ".join(str(text).split())


class IdType(click.ParamType):
    """A loan or note id: a whole number from 1 to 2^256 - 1."""

    name = "ID"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 78 or not 1 <= int(text) <= MAX_ID:
            self.fail(f"{value!r} is not an id (a whole number from 1)", param, ctx)
        return int(text)


class MethodType(click.ParamType):
    """A repayment method in any spelling: equal-installment, EQUAL_INSTALLMENT, 0."""

    name = "METHOD"

    def convert(self, value, param, ctx):
        if isinstance(value, Method):
            return value
        text = str(value).strip()
        if text.isascii() and text.isdigit() and int(text) in {int(m) for m in Method}:
            return Method(int(text))
        try:
            return Method.parse(text)
        except ValueError:
            names = ", ".join(m.label for m in Method)
            self.fail(f"{value!r} is not a method: {names} (any case, - or _)", param, ctx)


class StatusType(click.ParamType):
    """A loan status in any case: open, OPEN, Open, or its number."""

    name = "STATUS"

    def convert(self, value, param, ctx):
        if isinstance(value, LoanStatus):
            return value
        text = str(value).strip()
        if text.isascii() and text.isdigit() and int(text) in {int(s) for s in LoanStatus}:
            return LoanStatus(int(text))
        try:
            return LoanStatus[text.upper()]
        except KeyError:
            names = ", ".join(s.label for s in LoanStatus)
            self.fail(f"{value!r} is not a status: {names} (any case)", param, ctx)


ID = IdType()
YES = click.option("--yes", "-y", is_flag=True, help="do not ask: accept what the command shows it will take")


def confirm(yes: bool, question: str) -> None:
    """Asks on a terminal; without one (a script), refuses unless --yes."""
    if yes:
        click.echo(f"{question} yes (--yes)", err=True)
        return
    if not sys.stdin.isatty():
        raise CliError(f"{question} rerun with --yes to accept")
    click.confirm(question, abort=True, err=True)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--rpc",
    "rpc_url",
    default=None,
    metavar="URL",
    help="JSON-RPC URL of the node [default: $PEERLEND_RPC_URL, else the demo's anvil at "
    "http://127.0.0.1:$PEERLEND_ANVIL_PORT (8545)]",
)
@click.option(
    "--network",
    default=lambda: os.environ.get("PEERLEND_NETWORK"),
    help="an ape network choice instead of --rpc, e.g. ethereum:sepolia:node ($PEERLEND_NETWORK)",
)
@click.option(
    "--account",
    "account_alias",
    default=lambda: os.environ.get("PEERLEND_ACCOUNT"),
    help="ape account alias, or TEST::N for local test account N ($PEERLEND_ACCOUNT)",
)
@click.option(
    "--deployments",
    "deployments_dir",
    default=None,
    metavar="DIR",
    help="folder holding <chain_id>.json [default: $PEERLEND_DEPLOYMENTS_DIR, else ./deployments, "
    "else the checkout's deployments/]",
)
@click.option(
    "--oracle-url",
    default=None,
    metavar="URL",
    help="the oracle service [default: $PEERLEND_ORACLE_URL, else http://127.0.0.1:$PEERLEND_ORACLE_PORT (8100)]",
)
@click.option("--verbose", "-v", is_flag=True, help="show ape's log lines, call traces and Python tracebacks")
@click.pass_context
def main(ctx, rpc_url, network, account_alias, deployments_dir, oracle_url, verbose):
    """Peerlend wallet CLI: borrow, lend, repay and claim from an ape account."""
    if not verbose:
        import warnings

        warnings.filterwarnings("ignore")
    session = Session(rpc_url, network, account_alias, deployments_dir, oracle_url, verbose)
    ctx.obj = session
    ctx.call_on_close(session.close)


# ---------------------------------------------------------------- shared steps


def check(session: Session, function, facts=None, pulls_tokens: bool = False):
    """The pre-flight eth_call. With `pulls_tokens`, a failure of the token pull itself (no
    allowance yet) means every gate passed: the caller approves, then checks again."""
    try:
        return session.simulate(function)
    except Revert as revert:
        token_pull = revert.reason == "loanbook: transfer failed" or not revert.reason.startswith("loanbook:")
        if pulls_tokens and token_pull:
            return None
        raise CliError(explain(revert.reason, facts)) from None


def pay_from(session: Session, token, amount: int, function, description: str, facts=None):
    """Checks the gates, the balance and the allowance, approves exactly what is missing, and
    sends `function`. No approval is sent for a transaction that would revert."""
    payer = session.address
    balance = token.contract.functions.balanceOf(payer).call()
    if balance < amount:
        raise CliError(
            f"{short(payer)} holds {token.money(balance)}, less than the {token.money(amount)} needed"
        )
    check(session, function, facts, pulls_tokens=True)
    spender = session.book.address
    if token.contract.functions.allowance(payer, spender).call() < amount:
        session.send(
            f"approving LoanBook to take {token.money(amount)}",
            token.contract.functions.approve(spender, amount),
        )
        check(session, function, facts)
    return session.send(description, function)


def status_words(loan) -> str:
    return LoanStatus(loan.status).label


def grade_letter(grade: int) -> str:
    return Grade(grade).label if grade in {int(g) for g in Grade} else str(grade)


# ---------------------------------------------------------------- borrower


@main.command()
@click.argument("principal")
@click.option("--apr", "apr_percent", required=True, help="annual rate in percent, e.g. 12.5")
@click.option("--installments", type=click.IntRange(1, 360), required=True)
@click.option("--period-days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--method", type=MethodType(), default="equal-installment", show_default=True,
              help="equal-installment, equal-principal, interest-only or bullet (any case)")  # fmt: skip
@click.option("--funding-days", type=click.IntRange(1, 30), default=7, show_default=True)
@click.option("--token", "token_address", default=None, help="token address (default: the deployment's)")
@click.pass_obj
def request(session, principal, apr_percent, installments, period_days, method, funding_days, token_address):
    """Post a loan request for PRINCIPAL (in token units)."""
    apr_bps = parse_percent(apr_percent)
    if token_address is not None:
        token_address = address_argument(token_address, "--token")
    session.require_account()
    token = session.token(token_address)
    amount = token.money.parse(principal, "PRINCIPAL")
    book, borrower = session.book, session.address
    oracle = session.contract("CreditOracle")
    money = token.money

    def credit():
        return oracle.functions.score_of(borrower).call()

    def limits():
        return book.functions.grade_limits(token.address, credit().grade).call()

    def grade():
        return grade_letter(credit().grade)

    def identity_exposure():
        # Exposure is counted per KYC identity: every wallet of one person shares the cap.
        registry = session.contract("IdentityRegistry")
        identity_hash = registry.functions.attestation(borrower).call()[0]
        return book.functions.exposure(identity_hash, token.address).call()

    facts = {
        "loanbook: over grade cap": lambda: f"grade {grade()} may borrow at most {money(limits().max_principal)} in one loan",
        "loanbook: over exposure cap": lambda: (
            f"grade {grade()} may owe at most {money(limits().max_exposure)} in open loans; "
            f"{short(borrower)}'s identity already has {money(identity_exposure())}"
        ),
        "loanbook: apr below grade floor": lambda: f"grade {grade()} borrows at {limits().min_apr_bps / 100:.2f}% a year or more",
        "loanbook: score expired": lambda: (
            f"the score of {short(borrower)} expired {when(credit().expires_at, session.now())}; "
            "apply again with `peerlend score apply --fields application.json`"
            if credit().expires_at else None
        ),
    }  # fmt: skip
    function = book.functions.request_loan(
        token.address, amount, apr_bps, installments, period_days * DAY, int(method), funding_days * DAY
    )
    check(session, function, facts)
    receipt = session.send(
        f"requesting {money(amount)} at {apr_bps / 100:.2f}% over {installments} × {period_days} days",
        function,
    )
    event = session.events(receipt, book, "LoanRequested")[0].args
    click.echo(
        f"loan {event.loan_id} requested: {money(amount)}, grade {grade_letter(event.grade)}; "
        f"funding closes {when(event.funding_deadline, session.now())}"
    )


@main.command()
@click.argument("loan_id", type=ID)
@click.argument("amount", required=False)
@click.option("--full", is_flag=True, help="settle the whole loan now (repay_in_full)")
@YES
@click.pass_obj
def repay(session, loan_id, amount, full, yes):
    """Repay AMOUNT (token units) on LOAN_ID, or everything with --full."""
    if full and amount is not None:
        raise click.UsageError("give an AMOUNT or --full, not both")
    if not full and amount is None:
        raise click.UsageError("give an AMOUNT or --full")
    session.require_account()
    loan = session.loan(loan_id)
    token = session.token(loan.token)
    money = token.money
    value = None if full else money.parse(amount)
    status = LoanStatus(loan.status)
    if status not in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
        raise CliError(f"loan {loan_id} is {status.label}: only an active or defaulted loan is repaid")
    book = session.book
    due = session.lens.functions.amount_due(loan_id).call()
    payoff = due.payoff
    if full:
        # Interest and penalty keep accruing until the block: allow a little more than quoted.
        take = payoff
        allowance = payoff + max(payoff // 1_000, 10**token.decimals)
        function = book.functions.repay_in_full(loan_id)
        description = f"repaying loan {loan_id} in full (about {money(payoff)})"
    else:
        due_now = payoff if status is LoanStatus.DEFAULTED else due.past_due + due.penalty
        take = min(value, payoff)
        if value > due_now:
            if status is LoanStatus.DEFAULTED:
                question = f"loan {loan_id} has {money(payoff)} of debt left: pay {money(take)}?"
            else:
                ahead = take - due_now
                capped = (
                    f" (not {money(value)}: the most it takes now is its payoff)" if value > payoff else ""
                )
                question = (
                    f"due now on loan {loan_id}: {money(due_now)}; paying {money(take)}{capped} also prepays "
                    f"{money(ahead)} ahead of schedule. Pay {money(take)}?"
                )
            confirm(yes, question)
        allowance = take
        function = book.functions.repay(loan_id, take)
        description = f"repaying {money(take)} on loan {loan_id}"
    receipt = pay_from(session, token, allowance, function, description)
    paid = sum(e.args.amount for e in session.events(receipt, book, "Repayment"))
    paid += sum(e.args.amount for e in session.events(receipt, book, "Recovery"))
    after = session.loan(loan_id)
    line = f"paid {money(paid)} on loan {loan_id}; it is {status_words(after)}"
    if after.status == LoanStatus.ACTIVE:
        left = session.lens.functions.amount_due(loan_id).call()
        line += f", next {money(left.next_due_amount)} due {when(left.next_due_time, session.now())}"
    click.echo(line)


@main.command()
@click.argument("loan_id", type=ID)
@click.pass_obj
def status(session, loan_id):
    """Show a loan: terms, dates, what is due now and the schedule."""
    loan = session.loan(loan_id)
    money = session.token(loan.token).money
    now = session.now()
    state = LoanStatus(loan.status)
    method = Method(loan.method)
    click.echo(f"loan {loan_id}: {state.label}, grade {grade_letter(loan.grade)}, borrower {loan.borrower}")
    click.echo(
        f"  {money(loan.principal)} at {loan.apr_bps / 100:.2f}% a year, {loan.installments} × "
        f"{loan.period_seconds // DAY} days, {method.label}"
    )
    if state is LoanStatus.OPEN:
        line = f"  funded {money(loan.funded)} of {money(loan.principal)}"
        if now < loan.funding_deadline:
            click.echo(f"{line}; funding closes {when(loan.funding_deadline, now)}")
        else:
            click.echo(
                f"{line}; funding closed {when(loan.funding_deadline, now)}: `peerlend expire {loan_id}`"
            )
    elif state is LoanStatus.FUNDED:
        if now < loan.review_ends_at:
            click.echo(
                f"  fully funded; in review until {when(loan.review_ends_at, now)}, "
                f"then anyone may disburse it (`peerlend disburse {loan_id}`)"
            )
        else:
            click.echo(
                f"  fully funded; review ended {when(loan.review_ends_at, now)}: ready to disburse "
                f"(`peerlend disburse {loan_id}`)"
            )
        terms = session.book.functions.loan_terms(loan_id).call()
        if hasattr(terms, "disburse_seconds"):  # a deadline after review, else the loan expires
            deadline = loan.review_ends_at + terms.disburse_seconds
            click.echo(
                f"  must be disbursed by {when(deadline, now)}, or it expires and its notes are refunded"
            )
    elif state.refunds_notes:
        click.echo(
            f"  never disbursed: each note takes its {money(loan.funded)} share back (`peerlend refund NOTE`)"
        )
    if state in (LoanStatus.ACTIVE, LoanStatus.DEFAULTED):
        due = session.lens.functions.amount_due(loan_id).call()
        if state is LoanStatus.ACTIVE:
            click.echo(
                f"  due now {money(due.past_due)} (penalty {money(due.penalty)}); next {money(due.next_due_amount)} "
                f"due {when(due.next_due_time, now)}"
            )
            click.echo(
                f"  principal outstanding {money(due.principal_outstanding)}; payoff now {money(due.payoff)} "
                f"(`peerlend repay {loan_id} --full`)"
            )
        else:
            click.echo(f"  defaulted: {money(due.payoff)} of debt left to recover")
    click.echo("")
    click.echo(f"  schedule{' (as planned at disbursement)' if state.disbursed else ' (from disbursement)'}:")
    for line in schedule_lines(session, loan_id, loan, money, now):
        click.echo(f"  {line}")


def schedule_lines(session, loan_id, loan, money: Money, now: int) -> list[str]:
    rows = session.lens.functions.schedule(
        loan.principal, loan.apr_bps, loan.installments, loan.period_seconds, loan.method
    ).call()
    state = LoanStatus(loan.status)
    cursor = session.book.functions.ledger(loan_id).call().cursor if state.disbursed else 0
    body = []
    for k, row in enumerate(rows, start=1):
        if loan.start:
            due_at = loan.start + row.due_offset
            due_text = date(due_at)
            if state is LoanStatus.REPAID or k < cursor:
                mark = "paid"
            elif state is LoanStatus.DEFAULTED:
                mark = "defaulted"
            elif due_at <= now:
                mark = "late" if k == cursor else "due"
            else:
                mark = relative(due_at - now)
        else:
            due_text, mark = f"day {row.due_offset // DAY}", ""
        body.append([str(k), due_text, units(row.principal, money.decimals), units(row.interest, money.decimals),
                     units(row.principal + row.interest, money.decimals), mark])  # fmt: skip
    headers = ["#", "due", f"principal ({money.symbol})", "interest", "total", ""]
    return table(headers, body, right={0, 2, 3, 4})


# ---------------------------------------------------------------- loan lifecycle (anyone or a role)


def lifecycle(session, loan_id, name, function_name, description, facts):
    session.require_account()
    loan = session.loan(loan_id)
    function = getattr(session.book.functions, function_name)(loan_id)
    check(session, function, facts(loan) if facts else None)
    session.send(description, function)
    click.echo(f"loan {loan_id} {name}; it is now {status_words(session.loan(loan_id))}")


@main.command()
@click.argument("loan_id", type=ID)
@click.pass_obj
def disburse(session, loan_id):
    """Pay a fully funded loan out to its borrower once its review is over (anyone may)."""

    def facts(loan):
        return {"loanbook: in review": lambda: f"review ends {when(loan.review_ends_at, session.now())}"}

    lifecycle(session, loan_id, "disbursed", "disburse", f"disbursing loan {loan_id}", facts)


@main.command()
@click.argument("loan_id", type=ID)
@click.pass_obj
def cancel(session, loan_id):
    """Withdraw a request (the borrower, while open) or veto it (the risk officer, in review)."""

    def facts(loan):
        return {"loanbook: review over": lambda: f"review ended {when(loan.review_ends_at, session.now())}"}

    lifecycle(session, loan_id, "cancelled", "cancel", f"cancelling loan {loan_id}", facts)


@main.command()
@click.argument("loan_id", type=ID)
@click.pass_obj
def expire(session, loan_id):
    """Record that an open request passed its funding deadline (流标); anyone may."""

    def facts(loan):
        if loan.status == LoanStatus.OPEN:
            return {
                "loanbook: not expired": lambda: (
                    f"funding is open until {when(loan.funding_deadline, session.now())}"
                )
            }
        return {"loanbook: not expired": f"it is {status_words(loan)}"}

    lifecycle(session, loan_id, "expired", "expire", f"expiring loan {loan_id}", facts)


@main.command("default")
@click.argument("loan_id", type=ID)
@click.pass_obj
def default_(session, loan_id):
    """Declare a loan defaulted once an installment is late past its threshold (anyone may)."""

    def facts(loan):
        def after():
            due = session.lens.functions.amount_due(loan_id).call()
            threshold = session.book.functions.loan_terms(loan_id).call().default_after_seconds
            return f"it can be declared defaulted after {when(due.next_due_time + threshold, session.now())}"

        return {"loanbook: not in default": after}

    lifecycle(
        session, loan_id, "declared defaulted", "mark_default", f"declaring loan {loan_id} defaulted", facts
    )


# ---------------------------------------------------------------- lender


@main.command()
@click.argument("loan_id", type=ID)
@click.argument("amount")
@YES
@click.pass_obj
def fund(session, loan_id, amount, yes):
    """Fund AMOUNT (token units) of LOAN_ID; mints a note."""
    session.require_account()
    loan = session.loan(loan_id)
    token = session.token(loan.token)
    money = token.money
    value = money.parse(amount)
    book = session.book
    if loan.status != LoanStatus.OPEN:
        raise CliError(f"loan {loan_id} is {status_words(loan)}, not open for funding")
    left = loan.principal - loan.funded
    take = min(value, left)
    if value > left:
        confirm(
            yes, f"loan {loan_id} needs only {money(left)} more (not {money(value)}): fund {money(left)}?"
        )
    threshold = book.functions.lender_kyc_threshold(token.address).call()
    facts = {
        "loanbook: lender not verified": f"funding more than {money(threshold)} needs a KYC-verified lender",
        "loanbook: funding closed": lambda: f"funding closed {when(loan.funding_deadline, session.now())}",
    }
    receipt = pay_from(
        session,
        token,
        take,
        book.functions.fund(loan_id, take),
        f"funding {money(take)} of loan {loan_id}",
        facts,
    )
    event = session.events(receipt, book, "LoanFunded")[0].args
    line = f"note {event.note_id}: {money(event.amount)} of loan {loan_id}"
    if event.total_funded == loan.principal:
        line += "; the loan is fully funded and in review"
    click.echo(line)


@main.command()
@click.argument("note_id", type=ID)
@click.pass_obj
def claim(session, note_id):
    """Claim what NOTE_ID has earned (or its refund if the loan was cancelled or expired)."""
    session.require_account()
    note = session.note(note_id)
    loan = session.loan(note.loan_id)
    money = session.token(loan.token).money
    book = session.book
    if LoanStatus(loan.status).refunds_notes or (
        loan.status == LoanStatus.OPEN and session.now() >= loan.funding_deadline
    ):
        return refund_note(session, note_id, note, money)
    function = book.functions.claim(note_id)
    check(session, function)
    receipt = session.send(f"claiming note {note_id}", function)
    amount = sum(e.args.amount for e in session.events(receipt, book, "Claimed"))
    click.echo(f"claimed {money(amount)} on note {note_id}")


@main.command()
@click.argument("note_id", type=ID)
@click.pass_obj
def refund(session, note_id):
    """Take back NOTE_ID's principal after its loan was cancelled or expired (burns the note)."""
    session.require_account()
    note = session.note(note_id)
    loan = session.loan(note.loan_id)
    refund_note(session, note_id, note, session.token(loan.token).money)


def refund_note(session, note_id, note, money):
    book = session.book
    function = book.functions.refund(note_id)
    check(session, function)
    receipt = session.send(f"refunding note {note_id}", function)
    amount = sum(e.args.amount for e in session.events(receipt, book, "NoteRefunded"))
    click.echo(f"refunded {money(amount)} on note {note_id}")


@main.command()
@click.option("--owner", default=None, help="address (default: the --account's)")
@click.option(
    "--api-url",
    default=None,
    help="indexer API for listing notes [default: $PEERLEND_API_URL, else http://127.0.0.1:$PEERLEND_API_PORT (8000)]",
)
@click.pass_obj
def notes(session, owner, api_url):
    """List the notes an account holds, with what each can claim now."""
    if owner is not None:
        owner = address_argument(owner, "--owner")
    elif not session.account_alias:
        raise CliError("whose notes? pass --owner ADDRESS, or --account ALIAS for your own")
    else:
        owner = session.address
    book, note_nft = session.book, session.contract("LoanNote")
    note_ids = owned_notes(session, note_nft, owner, api_url)
    if not note_ids:
        click.echo(f"{owner} holds no notes")
        return
    rows = []
    for note_id in note_ids:
        note = book.functions.note(note_id).call()
        loan = book.functions.loan(note.loan_id).call()
        money = session.token(loan.token).money
        rows.append([str(note_id), str(note.loan_id), status_words(loan), money(note.share), money(note.claimed),
                     money(book.functions.claimable(note_id).call())])  # fmt: skip
    for line in table(
        ["note", "loan", "status", "share", "claimed", "claimable now"], rows, right={0, 1, 3, 4, 5}
    ):
        click.echo(line)


def notes_from_transfers(session, note_nft, owner) -> list[int]:
    """Without the indexer API: every note ever sent to `owner` (LoanNote `Transfer` logs since
    the deployment) that it still owns."""
    from web3.exceptions import ContractLogicError

    logs = note_nft.events.Transfer().get_logs(
        from_block=session.deployment.start_block, argument_filters={"receiver": owner}
    )
    held = []
    for note_id in sorted({log.args.token_id for log in logs}):
        try:
            if note_nft.functions.ownerOf(note_id).call() == owner:
                held.append(note_id)
        except ContractLogicError:  # burned by a refund
            continue
    return held


def owned_notes(session, note_nft, owner, api_url) -> list[int]:
    """On-chain enumeration where LoanNote has it; otherwise the indexer's GET /notes?owner=."""
    names = {entry.get("name") for entry in note_nft.abi}
    if "tokenOfOwnerByIndex" in names:
        count = note_nft.functions.balanceOf(owner).call()
        return [note_nft.functions.tokenOfOwnerByIndex(owner, i).call() for i in range(count)]
    import httpx

    base = (
        api_url or os.environ.get(API_URL_ENV) or f"http://127.0.0.1:{os.environ.get(API_PORT_ENV) or 8000}"
    ).rstrip("/")
    try:
        response = httpx.get(f"{base}/notes", params={"owner": owner, "limit": 500}, timeout=10)
        response.raise_for_status()
    except httpx.HTTPError:
        return notes_from_transfers(session, note_nft, owner)
    body = response.json()
    items = body.get("items", body) if isinstance(body, dict) else body
    onchain = []
    for item in items:
        note_id = int(item["id"])
        if note_nft.functions.ownerOf(note_id).call() == owner:  # the chain is the authority
            onchain.append(note_id)
    return sorted(onchain)


@main.command()
@click.argument("note_id", type=ID)
@click.argument("to")
@YES
@click.pass_obj
def transfer(session, note_id, to, yes):
    """Sell or give NOTE_ID to address TO (债权转让): the new owner claims from now on."""
    to = address_argument(to, "TO")
    session.require_account()
    session.note(note_id)
    known = {address: name for name, address in contract_addresses(session).items()}
    if to in known:
        raise CliError(f"{to} is the {known[to]} contract: a note sent there could never move again")
    note_nft = session.contract("LoanNote")
    try:
        owner = note_nft.functions.ownerOf(note_id).call()
    except Exception:
        raise CliError(f"note {note_id} no longer exists (it was refunded)") from None
    if owner == to:
        raise CliError(f"{to} already holds note {note_id}")
    if session.w3.eth.get_code(to) not in (b"", b"\x00"):
        confirm(
            yes,
            f"{to} is a contract, not a wallet: a note in a contract that cannot move notes is stuck "
            f"for good. Send note {note_id} there?",
        )
    function = note_nft.functions.safeTransferFrom(owner, to, note_id)
    not_receiver = f"{to} cannot hold notes: it does not answer onERC721Received, so the transfer is refused"
    check(session, function, {"reverted without a reason": not_receiver})
    session.send(f"transferring note {note_id} to {to}", function)
    click.echo(f"note {note_id} now belongs to {note_nft.functions.ownerOf(note_id).call()}")


def contract_addresses(session) -> dict[str, str]:
    from eth_utils import to_checksum_address

    found = {
        name: to_checksum_address(entry["address"])
        for name, entry in session.deployment.record["contracts"].items()
    }
    for token in session.deployment.tokens:
        found.setdefault(f"token {token}", token)
    return found


# ---------------------------------------------------------------- market


@main.command()
@click.option(
    "--status", "status_filter", type=StatusType(), default=None, help="open, funded, active, … (any case)"
)
@click.option("--borrower", default=None, help="only this borrower's loans")
@click.option("--limit", type=click.IntRange(1, 1_000), default=50, show_default=True)
@click.pass_obj
def loans(session, status_filter, borrower, limit):
    """List loans on the book, newest first."""
    if borrower is not None:
        borrower = address_argument(borrower, "--borrower")
    book = session.book
    rows = []
    for loan_id in range(book.functions.loan_count().call(), 0, -1):
        loan = book.functions.loan(loan_id).call()
        if status_filter is not None and loan.status != status_filter:
            continue
        if borrower is not None and loan.borrower != borrower:
            continue
        money = session.token(loan.token).money
        rows.append([str(loan_id), status_words(loan), grade_letter(loan.grade), short(loan.borrower), money(loan.principal),
                     f"{loan.apr_bps / 100:.2f}%", f"{loan.installments} × {loan.period_seconds // DAY}d",
                     Method(loan.method).label, units(loan.funded, money.decimals)])  # fmt: skip
        if len(rows) >= limit:
            break
    if not rows:
        which = f" {status_filter.label}" if status_filter is not None else ""
        click.echo(f"no{which} loans")
        return
    headers = ["loan", "status", "grade", "borrower", "principal", "APR", "term", "method", "funded"]
    for line in table(headers, rows, right={0, 4, 5, 8}):
        click.echo(line)


# ---------------------------------------------------------------- credit score


@main.group()
def score():
    """Credit score: apply to the oracle service, request a rescore, show a score."""


@score.command("apply")
@click.option("--fields", "fields_path", required=True, metavar="FILE",
              help="JSON object of application fields (`GET <oracle>/signing` lists them); - for stdin")  # fmt: skip
@click.option("--timeout", type=click.IntRange(5, 3_600), default=180, show_default=True,
              help="seconds to wait for the score to reach the chain")  # fmt: skip
@click.option("--no-wait", is_flag=True, help="return once the application and the request are in")
@click.pass_obj
def score_apply(session, fields_path, timeout, no_wait):
    """Sign a credit application with the account's key, send it to the oracle service,
    request the score on-chain and wait until the oracle has pushed it."""
    import httpx

    fields = application.read_fields(fields_path)
    session.require_account()
    oracle = session.contract("CreditOracle")
    borrower = session.address
    base = session.oracle_url
    try:
        signing = httpx.get(f"{base}/signing", timeout=10).json()
    except (httpx.HTTPError, ValueError) as error:
        raise CliError(
            f"the oracle service did not answer at {base} ({type(error).__name__}): is it running "
            "(`make demo` starts it)? pass --oracle-url or $PEERLEND_ORACLE_URL"
        ) from None
    service_chain = signing.get("domain", {}).get("chainId")
    if service_chain != session.chain_id:
        raise CliError(
            f"the oracle service at {base} serves chain {service_chain}, not chain {session.chain_id}"
        )
    request = oracle.functions.request_score()
    check(session, request, {"oracle: request cooldown": lambda: (
        f"the next request is possible {when(oracle.functions.next_request_at(borrower).call(), session.now())}")})  # fmt: skip
    before = oracle.functions.score_of(borrower).call().updated_at
    nonce, issued_at = application.new_nonce(), int(time.time())
    payload = application.typed_data(signing, borrower, fields, nonce, issued_at)
    with_ape = session.account  # unlock before printing progress: a keystore asks for its passphrase
    click.echo(f"signing the application as {borrower}", err=True)
    body = {
        "address": borrower, "fields": fields, "nonce": nonce, "issued_at": issued_at, "scheme": "eip712",
        "signature": application.sign(with_ape, payload),
    }  # fmt: skip
    try:
        response = httpx.post(f"{base}/applications", json=body, timeout=30)
    except httpx.HTTPError as error:
        raise CliError(f"the oracle service at {base} did not take the application: {error}") from None
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        if isinstance(detail, list):  # FastAPI validation errors
            detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])[1:]))}: {d.get('msg')}" for d in detail)
        raise CliError(f"the oracle service refused the application: {one_line(str(detail))}")
    click.echo("   application accepted by the oracle service", err=True)
    session.send("requesting the score on-chain (CreditOracle.request_score)", request)
    if no_wait:
        click.echo(f"application sent; `peerlend score show {borrower}` shows the score once it is pushed")
        return
    record = wait_for_score(session, oracle, borrower, before, timeout, base)
    click.echo(score_line(session, borrower, record))


def wait_for_score(session, oracle, borrower, before, timeout, base):
    import httpx

    started = time.monotonic()
    last_stage = None
    while True:
        record = oracle.functions.score_of(borrower).call()
        if record.updated_at > before:
            click.echo(f"   score pushed on-chain after {time.monotonic() - started:.0f} s", err=True)
            return record
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            raise CliError(
                f"no score on-chain after {timeout} s; the oracle service says {last_stage or 'nothing'} "
                f"(GET {base}/applications/{borrower}); `peerlend score show` later"
            )
        try:
            stage = httpx.get(f"{base}/applications/{borrower}", timeout=5).json().get("stage")
        except (httpx.HTTPError, ValueError, AttributeError):
            stage = None
        if stage == "failed":
            raise CliError(
                f"the oracle service could not score the application (GET {base}/applications/{borrower})"
            )
        if stage != last_stage:
            click.echo(f"   waiting for the oracle: {stage or 'no answer'} ({elapsed:.0f} s)", err=True)
            last_stage = stage
        time.sleep(0.5)


@score.command("request")
@click.pass_obj
def score_request(session):
    """Ask the oracle service to rescore your account from its application (ScoreRequested)."""
    session.require_account()
    oracle = session.contract("CreditOracle")
    borrower = session.address
    function = oracle.functions.request_score()
    check(session, function, {"oracle: request cooldown": lambda: (
        f"the next request is possible {when(oracle.functions.next_request_at(borrower).call(), session.now())}")})  # fmt: skip
    session.send("requesting a credit score", function)
    click.echo(
        "score requested: the oracle service pushes it if it holds an application from this account "
        "(send one with `peerlend score apply --fields FILE`)"
    )


@score.command("show")
@click.argument("address", required=False)
@click.pass_obj
def score_show(session, address):
    """Show the on-chain score of ADDRESS (default: the --account's)."""
    if address is not None:
        address = address_argument(address, "ADDRESS")
    elif not session.account_alias:
        raise CliError("whose score? give an ADDRESS, or --account ALIAS for your own")
    else:
        address = session.address
    record = session.contract("CreditOracle").functions.score_of(address).call()
    click.echo(score_line(session, address, record))


def score_line(session, address, record) -> str:
    if record.score == 0:
        return f"{address} has no score yet"
    now = session.now()
    life = (
        f"expires {when(record.expires_at, now)}"
        if record.expires_at > now
        else f"expired {when(record.expires_at, now)}"
    )
    return (
        f"{address}: score {record.score}, grade {grade_letter(record.grade)}, {life} "
        f"(model 0x{record.model.hex()[:12]}…)"
    )
