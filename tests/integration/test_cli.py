"""The `peerlend` wallet CLI on a real anvil: every command, and bad input."""

from __future__ import annotations

import os
import subprocess

import pytest
from click.testing import CliRunner

from peerlend.cli.commands import main, to_base_units
from peerlend.deploy import deploy_all, load_params

DAY = 86_400
UNIT = 10**6


@pytest.fixture(scope="module")
def world(ape_network, tmp_path_factory):
    """Deployed contracts, a KYC'd and scored borrower (TEST::4), KYC'd lenders (TEST::5..7)."""
    from ape import accounts, chain, project

    from peerlend import deployments

    directory = tmp_path_factory.mktemp("deployments")
    test = accounts.test_accounts
    record = deploy_all(test[0], load_params("local"), reuse=False, echo=lambda *_: None)
    deployments.save(record, directory)
    token = project.TestStablecoin.at(record["contracts"]["TestStablecoin"]["address"])
    identity = project.IdentityRegistry.at(record["contracts"]["IdentityRegistry"]["address"])
    oracle = project.CreditOracle.at(record["contracts"]["CreditOracle"]["address"])
    for index in (4, 5, 6, 7):
        token.mint(test[index], 100_000 * UNIT, sender=test[0])
        identity.attest(test[index], bytes([index]) * 32, chain.pending_timestamp + 365 * DAY, sender=test[2])
    oracle.push_scores([test[4].address], [700], b"\x42" * 32, 60 * DAY, sender=test[3])
    return {"dir": str(directory), "record": record, "accounts": test}


def cli(world, *args, account=None):
    base = ["--deployments", world["dir"]]
    if account is not None:
        base += ["--account", f"TEST::{account}"]
    return CliRunner().invoke(main, [*base, *args], catch_exceptions=False)


def test_borrow_lend_repay_claim_transfer(world):
    from ape import chain

    result = cli(world, "request", "1500.50", "--apr", "12", "--installments", "3", account=4)
    assert result.exit_code == 0, result.output
    loan_id = int(result.output.strip().split()[-2])

    listing = cli(world, "loans", "--status", "open")
    assert f"{loan_id}" in listing.output and "1,500.5" in listing.output

    first = cli(world, "fund", str(loan_id), "1000", account=5)
    assert first.exit_code == 0 and "note" in first.output
    second = cli(world, "fund", str(loan_id), "600", account=6)  # capped at the 500.50 left
    assert "500.5 of loan" in second.output

    chain.pending_timestamp += DAY
    from ape import project

    book = project.LoanBook.at(world["record"]["contracts"]["LoanBook"]["address"])
    book.disburse(loan_id, sender=world["accounts"][4])
    status = cli(world, "status", str(loan_id))
    assert "active" in status.output and "payoff" in status.output

    chain.pending_timestamp += 30 * DAY
    paid = cli(world, "repay", str(loan_id), "600", account=4)
    assert paid.exit_code == 0 and "paid 600" in paid.output

    holdings = cli(world, "notes", account=5)
    note_id = int(holdings.output.split()[1].rstrip(":"))
    assert "claimable" in holdings.output

    moved = cli(world, "transfer", str(note_id), world["accounts"][7].address, account=5)
    assert moved.exit_code == 0
    stolen = cli(world, "claim", str(note_id), account=5)
    assert stolen.exit_code == 1 and "not owner or approved" in stolen.output
    claimed = cli(world, "claim", str(note_id), account=7)
    assert claimed.exit_code == 0 and "claimed" in claimed.output

    full = cli(world, "repay", str(loan_id), "--full", account=4)
    assert full.exit_code == 0 and "status repaid" in full.output


def test_score_request_and_show(world):
    requested = cli(world, "score", "request", account=5)
    assert requested.exit_code == 0 and "score requested" in requested.output
    shown = cli(world, "score", "show", world["accounts"][4].address)
    assert "score 700" in shown.output and "grade B" in shown.output


@pytest.mark.parametrize(
    ("args", "account", "message"),
    [
        (["request", "0", "--apr", "12", "--installments", "3"], 4, "amount must be positive"),
        (["request", "1.0000001", "--apr", "12", "--installments", "3"], 4, "more than 6 decimals"),
        (["request", "abc", "--apr", "12", "--installments", "3"], 4, "is not a number"),
        (["request", "100", "--apr", "50", "--installments", "3"], 4, "loanbook: apr too high"),
        (["request", "100", "--apr", "12", "--installments", "3"], 9, "loanbook: borrower not verified"),
        (["fund", "999", "10"], 5, "no loan 999"),
        (["transfer", "1", "not-an-address"], 5, "is not an address"),
        (["score", "request"], None, "pass --account"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(world, args, account, message):
    result = cli(world, *args, account=account)
    assert result.exit_code != 0
    assert message in result.output


def test_console_script_exit_code(world, anvil):
    env = dict(os.environ, APE_FOUNDRY_HOST=anvil.url, PEERLEND_DEPLOYMENTS_DIR=world["dir"])
    result = subprocess.run(
        ["peerlend", "status", "424242"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: no loan 424242"


def test_amount_conversion():
    assert to_base_units("1500.50", 6) == 1_500_500_000
    assert to_base_units("1", 18) == 10**18
