"""The `peerlend` wallet CLI on a real anvil (one chain for the module): every command, the
checks that keep money mistakes and wasted gas out, and bad arguments of every kind.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerlend.cli.commands import main
from peerlend.cli.display import parse_amount, units
from peerlend.deploy import deploy_all, load_params
from peerlend.vocabulary import DAY

UNIT = 10**6


@pytest.fixture(scope="module")
def world(ape_network, anvil, tmp_path_factory):
    """Deployed contracts, a KYC'd and scored borrower (TEST::4), KYC'd lenders (TEST::5..7);
    TEST::9 holds tokens but has no KYC."""
    from ape import accounts, chain, project

    from peerlend import deployments

    directory = tmp_path_factory.mktemp("deployments")
    test = accounts.test_accounts
    record = deploy_all(test[0], load_params("local"), reuse=False, echo=lambda *_: None)
    deployments.save(record, directory)
    token = project.TestStablecoin.at(record["contracts"]["TestStablecoin"]["address"])
    identity = project.IdentityRegistry.at(record["contracts"]["IdentityRegistry"]["address"])
    oracle = project.CreditOracle.at(record["contracts"]["CreditOracle"]["address"])
    for index in (4, 5, 6, 7, 9):
        token.mint(test[index], 100_000 * UNIT, sender=test[0])
    for index in (4, 5, 6, 7):
        identity.attest(
            test[index], bytes([index]) * 32, chain.pending_timestamp + 3 * 365 * DAY, sender=test[2]
        )
    oracle.push_scores([test[4].address], [700], b"\x42" * 32, 365 * DAY, sender=test[3])
    book = project.LoanBook.at(record["contracts"]["LoanBook"]["address"])
    stranger = test[0].deploy(project.TestStablecoin)  # a contract the deployment does not know
    lens = record["contracts"].get("LoanLens")  # the book's views, where a lens is deployed
    return {
        "views": project.LoanLens.at(lens["address"]) if lens else book,
        "stranger": stranger.address,
        "dir": str(directory),
        "record": record,
        "accounts": test,
        "url": anvil.url,
        "book": book,
        "lens": project.LoanLens.at(record["contracts"]["LoanLens"]["address"]),
        "token": token,
    }


def cli(world, *args, account=None):
    base = ["--rpc", world["url"], "--deployments", world["dir"]]
    if account is not None:
        base += ["--account", f"TEST::{account}"]
    return CliRunner(mix_stderr=False).invoke(main, [*base, *args])


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def refused(result, words):
    assert result.exit_code != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert words in lines[0], lines[0]
    return lines[0]


def advance(seconds):
    from ape import chain

    chain.mine(1, timestamp=chain.pending_timestamp + seconds)


def request_loan(world, principal="1500.50", installments="3", *extra):
    out = ok(
        cli(world, "request", principal, "--apr", "12", "--installments", installments, *extra, account=4)
    )
    return int(out.split()[1])


def test_borrow_lend_repay_claim_transfer(world):
    loan_id = request_loan(world)
    listing = ok(cli(world, "loans", "--status", "OPEN"))
    header, *rows = listing.splitlines()
    assert header.split()[:4] == ["loan", "status", "grade", "borrower"]
    assert any(row.split()[0] == str(loan_id) and "1,500.50 tUSD" in row for row in rows)

    assert "note" in ok(cli(world, "fund", str(loan_id), "1000", account=5))
    refused(cli(world, "fund", str(loan_id), "600", account=6), "needs only 500.50 tUSD more")
    assert "500.50 tUSD of loan" in ok(cli(world, "fund", str(loan_id), "600", "--yes", account=6))

    shown = ok(cli(world, "status", str(loan_id)))
    assert "in review until" in shown and "peerlend disburse" in shown
    refused(cli(world, "disburse", str(loan_id), account=9), "in review: review ends")
    advance(DAY)
    ok(cli(world, "disburse", str(loan_id), account=9))
    shown = ok(cli(world, "status", str(loan_id)))
    assert "payoff now" in shown and "principal (tUSD)" in shown and "UTC" in shown

    refused(cli(world, "repay", str(loan_id), "100", "--full", account=4), "not both")
    refused(cli(world, "repay", str(loan_id), "100", account=4), "prepays")  # nothing is due a day in
    advance(30 * DAY)
    due = world["views"].amount_due(loan_id)
    first = units(due.past_due, 6)
    paid = ok(cli(world, "repay", str(loan_id), first, account=4))  # exactly what is due: no question
    assert f"paid {first} tUSD" in paid and "next" in paid

    holdings = ok(cli(world, "notes", account=5))
    assert holdings.splitlines()[0].split()[:3] == ["note", "loan", "status"]
    note_id = int(holdings.splitlines()[1].split()[0])

    book_address = world["record"]["contracts"]["LoanBook"]["address"]
    refused(cli(world, "transfer", str(note_id), book_address, account=5), "LoanBook contract")
    ok(cli(world, "transfer", str(note_id), world["accounts"][7].address, account=5))
    refused(cli(world, "claim", str(note_id), account=5), "neither owns the note")
    assert "claimed" in ok(cli(world, "claim", str(note_id), account=7))

    from ape import chain

    web3, book, borrower = chain.provider.web3, world["book"], world["accounts"][4]
    world["token"].approve(book, 2**256 - 1, sender=borrower)  # so the node can estimate the payoff
    payoff = {
        "from": borrower.address,
        "to": book.address,
        "data": book.repay_in_full.encode_input(loan_id),
    }
    estimate = web3.eth.estimate_gas(payoff)
    assert "it is repaid" in ok(cli(world, "repay", str(loan_id), "--full", account=4))
    # Sent with headroom over the node's estimate: a payoff landing a second later costs more.
    sent = web3.eth.get_block("latest", full_transactions=True).transactions[-1]
    assert sent["to"] == book.address and sent["gas"] >= estimate * 115 // 100
    assert "paid" in ok(cli(world, "status", str(loan_id))).splitlines()[-1]


def test_transfer_to_a_contract_asks_and_a_non_receiver_is_refused(world):
    loan_id = request_loan(world, "100")
    note_id = int(ok(cli(world, "fund", str(loan_id), "40", account=5)).split()[1].rstrip(":"))
    refused(cli(world, "transfer", str(note_id), world["stranger"], account=5), "is a contract, not a wallet")
    sent = cli(world, "transfer", str(note_id), world["stranger"], "--yes", account=5)
    assert sent.exit_code == 1 and "(--yes)" in sent.stderr  # --yes says what it accepted
    assert (
        sent.stderr.strip()
        .splitlines()[-1]
        .endswith("does not answer onERC721Received, so the transfer is refused")
    )
    assert world["book"].address != world["stranger"]


def test_gates_are_checked_before_any_approval(world):
    """An unverified lender's fund would revert: no approve and no fund are sent."""
    loan_id = request_loan(world, "100")
    lender = world["accounts"][9]
    nonce = lender.nonce
    refused(cli(world, "fund", str(loan_id), "50", account=9), "needs a KYC-verified lender")
    assert lender.nonce == nonce
    assert world["token"].allowance(lender, world["book"].address) == 0


def test_expire_refund_cancel_and_default(world):
    from ape import chain

    open_loan = request_loan(world, "200")
    note_out = ok(cli(world, "fund", str(open_loan), "50", account=5))
    note_id = int(note_out.split()[1].rstrip(":"))
    refused(cli(world, "expire", str(open_loan), account=9), "funding is open until")
    vetoed = request_loan(world, "100", "3", "--method", "EQUAL_PRINCIPAL")  # the API's spelling works too
    assert "equal-principal" in ok(cli(world, "status", str(vetoed)))
    refused(cli(world, "cancel", str(vetoed), account=9), "only the borrower")
    assert "cancelled" in ok(cli(world, "cancel", str(vetoed), account=4))

    late = request_loan(world, "300")
    ok(cli(world, "fund", str(late), "300", account=6))
    advance(DAY)  # the review is over
    ok(cli(world, "disburse", str(late), account=9))
    refused(cli(world, "default", str(late), account=9), "can be declared defaulted after")
    advance(7 * DAY)  # past the first request's funding window
    assert "expired" in ok(cli(world, "expire", str(open_loan), account=9))
    assert "refunded 50.00 tUSD" in ok(cli(world, "refund", str(note_id), account=5))
    chain.mine(1, timestamp=chain.pending_timestamp + 80 * DAY)
    assert "defaulted" in ok(cli(world, "default", str(late), account=9))
    assert "debt left" in ok(cli(world, "status", str(late)))


def test_score_show_and_request_words(world):
    shown = ok(cli(world, "score", "show", world["accounts"][4].address))
    assert "score 700" in shown and "grade B" in shown and "expires" in shown
    refused(cli(world, "score", "show"), "whose score?")
    refused(cli(world, "notes"), "whose notes?")
    refused(cli(world, "score", "request"), "pass --account")
    refused(cli(world, "--rpc", "http://127.0.0.1:9", "loans"), "no chain answers at http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("args", "account", "message"),
    [
        (["request", "0", "--apr", "12", "--installments", "3"], 4, "must be positive"),
        (["request", "1.0000001", "--apr", "12", "--installments", "3"], 4, "more than 6 decimals"),
        (["request", "abc", "--apr", "12", "--installments", "3"], 4, "is not a number"),
        (["request", "100", "--apr", "-1", "--installments", "3"], 4, "percentage of 0 or more"),
        (["request", "100", "--apr", "50", "--installments", "3"], 4, "ceiling of 36%"),
        (
            ["request", "30000", "--apr", "12", "--installments", "3"],
            4,
            "grade B may borrow at most 20,000.00 tUSD",
        ),
        (
            ["request", "100", "--apr", "5", "--installments", "3"],
            4,
            "grade B borrows at 8.00% a year or more",
        ),
        (["request", "100", "--apr", "12", "--installments", "3"], 9, "no valid KYC attestation"),
        (
            ["request", "100", "--apr", "12", "--installments", "3", "--token", "0x1234"],
            4,
            "is not an address",
        ),
        (
            ["request", "100", "--apr", "12", "--installments", "3", "--method", "annuity"],
            4,
            "is not a method",
        ),
        (["fund", "999", "10"], 5, "no loan 999"),
        (["request", "9" * 77, "--apr", "12", "--installments", "3"], 4, "far larger than any token supply"),
        (["claim", "999"], 5, "no note 999"),
        (["transfer", "1", "not-an-address"], 5, "is not an address"),
        (["status", "1" * 80], None, "is not an id"),
        (["notes"], "99999999999", "test accounts are TEST::0"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(world, args, account, message):
    refused(cli(world, *args, account=account), message)


BAD = st.sampled_from(
    ["-1", "0", "-0", "abc", "nan", "inf", "1e999", "1.0000001", "0x1234", "0xZZ", "", " ", "TEST::99",
     "1" * 80, "9" * 77, "999999", "--", "-x", "--yes", "--full", "1,2,3", "0x" + "00" * 20]
) | st.text(min_size=1, max_size=12).filter(lambda s: not (s.strip().isascii() and s.strip().isdigit()))  # fmt: skip

COMMANDS = [
    ["request", "{}", "--apr", "{}", "--installments", "3"],
    ["request", "100", "--apr", "12", "--installments", "{}"],
    ["request", "100", "--apr", "12", "--installments", "3", "--method", "{}"],
    ["request", "100", "--apr", "12", "--installments", "3", "--token", "{}"],
    ["fund", "{}", "{}"],
    ["repay", "{}", "{}"],
    ["repay", "{}", "--full"],
    ["status", "{}"],
    ["claim", "{}"],
    ["refund", "{}"],
    ["disburse", "{}"],
    ["cancel", "{}"],
    ["expire", "{}"],
    ["default", "{}"],
    ["notes", "--owner", "{}"],
    ["transfer", "{}", "{}"],
    ["loans", "--status", "{}"],
    ["loans", "--limit", "{}"],
    ["loans", "--borrower", "{}"],
    ["score", "show", "{}"],
    ["score", "apply", "--fields", "{}"],
]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_command_refuses_bad_arguments_in_one_line(world, data):
    template = data.draw(st.sampled_from(COMMANDS))
    args = [data.draw(BAD) if part == "{}" else part for part in template]
    account = data.draw(st.sampled_from([None, "TEST::5", "TEST::99999999999", "nosuch-alias"]))
    base = ["--rpc", world["url"], "--deployments", world["dir"]]
    if account:
        base += ["--account", account]
    result = CliRunner(mix_stderr=False).invoke(main, [*base, *args])
    assert result.exit_code != 0, (args, result.stdout)
    assert isinstance(result.exception, SystemExit), (args, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout


def test_console_script_from_another_folder(world, tmp_path):
    env = dict(os.environ, PEERLEND_RPC_URL=world["url"], PEERLEND_DEPLOYMENTS_DIR=world["dir"])
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "peerlend"), "status", "424242"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: no loan 424242 (the book has")


def test_amounts():
    assert parse_amount("1500.50", 6) == 1_500_500_000
    assert parse_amount("1", 18) == 10**18
    assert units(1_500_500_000, 6) == "1,500.50" and units(1_234_567, 6) == "1.234567"
