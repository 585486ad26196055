"""`peerlend`: the wallet CLI for borrowers and lenders, beside `ape`.

    peerlend --network ethereum:local:foundry --account TEST::4 request 1500.50 --apr 12 --installments 12
    peerlend --account lender1 fund 1 500
    peerlend loans --status open

Every command signs with an ape account (`--account ALIAS`: keystore accounts, hardware wallets
through ape plugins, or `TEST::N` for a local test account) on any ape network. Amounts are in
human units and converted with the token's decimals. Errors are one readable line and a
non-zero exit.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from peerlend import deployments

METHODS = {"equal-installment": 0, "equal-principal": 1, "interest-only": 2, "bullet": 3}
METHOD_NAMES = {value: key for key, value in METHODS.items()}
STATUSES = {1: "open", 2: "funded", 3: "active", 4: "repaid", 5: "defaulted", 6: "cancelled", 7: "expired"}
DAY = 86_400


class CliError(click.ClickException):
    """A failure the user can act on: printed as one line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


def to_base_units(amount: str, decimals: int) -> int:
    """'1500.50' → 1_500_500_000 for 6 decimals; rejects negatives and extra precision."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise click.BadParameter(f"{amount!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise click.BadParameter(f"amount must be positive, got {amount}")
    scaled = value * (10**decimals)
    if scaled != scaled.to_integral_value():
        raise click.BadParameter(f"{amount} has more than {decimals} decimals")
    return int(scaled)


def from_base_units(amount: int, decimals: int) -> str:
    text = f"{Decimal(amount) / (10**decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class Session:
    """Lazily connects ape to the network and loads the deployment and the account."""

    def __init__(self, network: str, account_alias: str | None, deployments_dir: str | None):
        self.network = network
        self.account_alias = account_alias
        self.deployments_dir = deployments_dir
        self._context = None
        self._decimals: dict[str, int] = {}

    def decimals(self, address: str) -> int:
        """A token's decimals, read once per token (listings would otherwise ask per row)."""
        if address not in self._decimals:
            self._decimals[address] = self.token(address).decimals()
        return self._decimals[address]

    def connect(self):
        if self._context is None:
            from ape import networks

            try:
                self._context = networks.parse_network_choice(self.network)
                self._context.__enter__()
            except Exception as error:  # ape raises many types for a bad network or a dead RPC
                raise CliError(f"cannot connect to {self.network}: {error}") from None
        return self

    def close(self):
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._context = None

    @property
    def record(self):
        from ape import chain

        self.connect()
        path = deployments.path_for(
            chain.chain_id, Path(self.deployments_dir) if self.deployments_dir else None
        )
        try:
            return deployments.load_deployment(chain.chain_id, path)
        except deployments.DeploymentError as error:
            raise CliError(str(error)) from None

    def contract(self, name: str):
        from ape import project

        try:
            address = self.record.address(name)
        except deployments.DeploymentError:
            raise CliError(f"{name} is not in the deployment record") from None
        return getattr(project, name).at(address)

    def token(self, address: str | None = None):
        from ape import project

        if address is None:
            tokens = self.record.tokens
            if not tokens:
                raise CliError("no token in the deployment record; pass --token ADDRESS")
            address = tokens[0]
        return project.TestStablecoin.at(address)

    @property
    def account(self):
        from ape import accounts

        self.connect()
        if not self.account_alias:
            raise CliError("this command signs a transaction: pass --account ALIAS (see `ape accounts list`)")
        try:
            if self.account_alias.upper().startswith("TEST::"):
                return accounts.test_accounts[int(self.account_alias.split("::", 1)[1])]
            return accounts.load(self.account_alias)
        except Exception as error:
            raise CliError(f"cannot load account {self.account_alias!r}: {error}") from None


def send(description: str, call, *args, sender):
    """Sends a transaction with a progress line; contract reverts become one-line errors."""
    from ape.exceptions import ApeException

    click.echo(f"{description} … waiting for confirmation", err=True)
    try:
        receipt = call(*args, sender=sender)
    except ApeException as error:
        message = getattr(error, "revert_message", None) or str(error).splitlines()[0]
        raise CliError(message) from None
    click.echo(f"confirmed in block {receipt.block_number} (tx {receipt.txn_hash})", err=True)
    return receipt


def ensure_allowance(session, token, owner, amount):
    book = session.contract("LoanBook")
    if token.allowance(owner, book.address) < amount:
        send("approving LoanBook to pull tUSD", token.approve, book.address, amount, sender=owner)


@click.group()
@click.option(
    "--network",
    default=lambda: os.environ.get("PEERLEND_NETWORK", "ethereum:local:foundry"),
    show_default="ethereum:local:foundry (or $PEERLEND_NETWORK)",
    help="ape network choice",
)
@click.option(
    "--account",
    "account_alias",
    default=lambda: os.environ.get("PEERLEND_ACCOUNT"),
    help="ape account alias (or TEST::N on a local chain); $PEERLEND_ACCOUNT",
)
@click.option(
    "--deployments",
    "deployments_dir",
    default=None,
    envvar="PEERLEND_DEPLOYMENTS_DIR",
    help="folder holding <chain_id>.json",
)
@click.pass_context
def main(ctx, network, account_alias, deployments_dir):
    """Peerlend wallet CLI: borrow, lend, repay and claim from an ape account."""
    session = Session(network, account_alias, deployments_dir)
    ctx.obj = session
    ctx.call_on_close(session.close)


# ---------------------------------------------------------------- borrower


@main.command()
@click.argument("principal")
@click.option("--apr", "apr_percent", required=True, help="annual rate in percent, e.g. 12.5")
@click.option("--installments", type=click.IntRange(1, 360), required=True)
@click.option("--period-days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--method", type=click.Choice(sorted(METHODS)), default="equal-installment", show_default=True)
@click.option("--funding-days", type=click.IntRange(1, 30), default=7, show_default=True)
@click.option("--token", "token_address", default=None, help="token address (default: the deployment's)")
@click.pass_obj
def request(session, principal, apr_percent, installments, period_days, method, funding_days, token_address):
    """Post a loan request for PRINCIPAL (in token units)."""
    token = session.token(token_address)
    amount = to_base_units(principal, token.decimals())
    try:
        apr_bps = int(Decimal(apr_percent) * 100)
    except InvalidOperation:
        raise click.BadParameter(f"{apr_percent!r} is not a number", param_hint="--apr") from None
    book = session.contract("LoanBook")
    receipt = send(
        f"requesting {principal} at {apr_percent}% over {installments} × {period_days} days",
        book.request_loan, token.address, amount, apr_bps, installments, period_days * DAY, METHODS[method],
        funding_days * DAY, sender=session.account,
    )  # fmt: skip
    loan_id = receipt.events.filter(book.LoanRequested)[0].loan_id
    click.echo(f"loan {loan_id} requested")


@main.command()
@click.argument("loan_id", type=int)
@click.argument("amount", required=False)
@click.option("--full", is_flag=True, help="settle the whole loan now (repay_in_full)")
@click.pass_obj
def repay(session, loan_id, amount, full):
    """Repay AMOUNT (token units) on LOAN_ID, or everything with --full."""
    book = session.contract("LoanBook")
    loan = book.loan(loan_id)
    if loan.status == 0:
        raise CliError(f"no loan {loan_id}")
    token = session.token(loan.token)
    decimals = token.decimals()
    payer = session.account
    if full:
        due = book.amount_due(loan_id).payoff
        ensure_allowance(session, token, payer, due + due // 1_000 + 10**decimals)
        receipt = send(f"repaying loan {loan_id} in full", book.repay_in_full, loan_id, sender=payer)
    else:
        if amount is None:
            raise click.UsageError("give an AMOUNT or --full")
        value = to_base_units(amount, decimals)
        ensure_allowance(session, token, payer, value)
        receipt = send(f"repaying {amount} on loan {loan_id}", book.repay, loan_id, value, sender=payer)
    paid = sum(e.amount for e in receipt.events.filter(book.Repayment)) + sum(
        e.amount for e in receipt.events.filter(book.Recovery)
    )
    click.echo(f"paid {from_base_units(paid, decimals)}; status {STATUSES[book.loan(loan_id).status]}")


@main.command()
@click.argument("loan_id", type=int)
@click.pass_obj
def status(session, loan_id):
    """Show a loan: terms, status and what is due now."""
    book = session.contract("LoanBook")
    loan = book.loan(loan_id)
    if loan.status == 0:
        raise CliError(f"no loan {loan_id}")
    decimals = session.decimals(loan.token)
    fmt = lambda value: from_base_units(value, decimals)  # noqa: E731
    click.echo(
        f"loan {loan_id}: {STATUSES[loan.status]}, grade {'-ABCDE'[loan.grade]}, borrower {loan.borrower}"
    )
    click.echo(
        f"  {fmt(loan.principal)} at {loan.apr_bps / 100:.2f}% APR, {loan.installments} × "
        f"{loan.period_seconds // DAY} days, {METHOD_NAMES[loan.method]}; funded {fmt(loan.funded)}"
    )
    if loan.status in (3, 5):
        due = book.amount_due(loan_id)
        click.echo(
            f"  past due {fmt(due.past_due)}, penalty {fmt(due.penalty)}, next due {fmt(due.next_due_amount)} "
            f"at {due.next_due_time}, principal outstanding {fmt(due.principal_outstanding)}, payoff {fmt(due.payoff)}"
        )


# ---------------------------------------------------------------- lender


@main.command()
@click.argument("loan_id", type=int)
@click.argument("amount")
@click.pass_obj
def fund(session, loan_id, amount):
    """Fund AMOUNT (token units) of LOAN_ID; mints a note."""
    book = session.contract("LoanBook")
    loan = book.loan(loan_id)
    if loan.status == 0:
        raise CliError(f"no loan {loan_id}")
    token = session.token(loan.token)
    value = to_base_units(amount, token.decimals())
    lender = session.account
    ensure_allowance(session, token, lender, value)
    receipt = send(f"funding {amount} of loan {loan_id}", book.fund, loan_id, value, sender=lender)
    event = receipt.events.filter(book.LoanFunded)[0]
    click.echo(f"note {event.note_id}: {from_base_units(event.amount, token.decimals())} of loan {loan_id}")


@main.command()
@click.argument("note_id", type=int)
@click.pass_obj
def claim(session, note_id):
    """Claim what NOTE_ID has earned (or its refund if the loan was cancelled or expired)."""
    book = session.contract("LoanBook")
    note = book.note(note_id)
    loan = book.loan(note.loan_id)
    decimals = session.decimals(loan.token)
    if loan.status in (6, 7) and note.share > 0:
        send(f"refunding note {note_id}", book.refund, note_id, sender=session.account)
        click.echo(f"refunded {from_base_units(note.share, decimals)}")
        return
    receipt = send(f"claiming note {note_id}", book.claim, note_id, sender=session.account)
    amount = receipt.events.filter(book.Claimed)[0].amount
    click.echo(f"claimed {from_base_units(amount, decimals)}")


@main.command()
@click.option("--owner", default=None, help="address (default: --account)")
@click.pass_obj
def notes(session, owner):
    """List the notes an account holds, with what each can claim now."""
    book, note_nft = session.contract("LoanBook"), session.contract("LoanNote")
    owner = owner or session.account.address
    count = note_nft.balanceOf(owner)
    if count == 0:
        click.echo(f"{owner} holds no notes")
    for index in range(count):
        note_id = note_nft.tokenOfOwnerByIndex(owner, index)
        note = book.note(note_id)
        loan = book.loan(note.loan_id)
        decimals = session.decimals(loan.token)
        click.echo(
            f"note {note_id}: loan {note.loan_id} ({STATUSES[loan.status]}), share "
            f"{from_base_units(note.share, decimals)}, claimed {from_base_units(note.claimed, decimals)}, "
            f"claimable {from_base_units(book.claimable(note_id), decimals)}"
        )


@main.command()
@click.argument("note_id", type=int)
@click.argument("to")
@click.pass_obj
def transfer(session, note_id, to):
    """Sell or give NOTE_ID to address TO (债权转让): the new owner claims from now on."""
    from eth_utils import is_address, to_checksum_address

    if not is_address(to):
        raise click.BadParameter(f"{to!r} is not an address", param_hint="TO")
    sender = session.account
    note_nft = session.contract("LoanNote")
    send(f"transferring note {note_id} to {to}", note_nft.transferFrom, sender.address, to_checksum_address(to),
         note_id, sender=sender)  # fmt: skip
    click.echo(f"note {note_id} now belongs to {to_checksum_address(to)}")


# ---------------------------------------------------------------- market and score


@main.command()
@click.option("--status", "status_name", type=click.Choice(sorted(STATUSES.values())), default=None)
@click.option("--limit", type=click.IntRange(1, 1_000), default=50, show_default=True)
@click.pass_obj
def loans(session, status_name, limit):
    """List loans on the book, newest first."""
    book = session.contract("LoanBook")
    shown = 0
    for loan_id in range(book.loan_count(), 0, -1):
        loan = book.loan(loan_id)
        name = STATUSES[loan.status]
        if status_name and name != status_name:
            continue
        decimals = session.decimals(loan.token)
        click.echo(
            f"{loan_id:>5}  {name:<9} grade {'-ABCDE'[loan.grade]}  {from_base_units(loan.principal, decimals):>12}  "
            f"{loan.apr_bps / 100:>5.2f}%  {loan.installments:>3} × {loan.period_seconds // DAY}d  "
            f"{METHOD_NAMES[loan.method]:<17} funded {from_base_units(loan.funded, decimals)}"
        )
        shown += 1
        if shown >= limit:
            break
    if shown == 0:
        click.echo("no loans")


@main.group()
def score():
    """Credit score commands."""


@score.command("request")
@click.pass_obj
def score_request(session):
    """Ask the oracle service to (re)score your account (emits ScoreRequested)."""
    oracle = session.contract("CreditOracle")
    send("requesting a credit score", oracle.request_score, sender=session.account)
    click.echo("score requested; the oracle service will push it on-chain")


@score.command("show")
@click.argument("address", required=False)
@click.pass_obj
def score_show(session, address):
    """Show the on-chain score of ADDRESS (default: --account)."""
    oracle = session.contract("CreditOracle")
    address = address or session.account.address
    record = oracle.score_of(address)
    if record.score == 0:
        click.echo(f"{address} has no score")
        return
    click.echo(
        f"{address}: score {record.score}, grade {'-ABCDE'[record.grade] if record.grade else 'ineligible'}, "
        f"model {record.model.hex()}, expires at {record.expires_at}"
    )
