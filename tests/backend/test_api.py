"""Every endpoint of the API over the indexed lifecycle, checked against the contracts' views
at the indexed block (on-chain truth), plus input validation."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from peerlend import abi, loanmath
from tests.backend.lifecycle import BEEF, DAY, DEAD, UNIT

STATUS = {1: "OPEN", 2: "FUNDED", 3: "ACTIVE", 4: "REPAID", 5: "DEFAULTED", 6: "CANCELLED", 7: "EXPIRED"}


@pytest.fixture(scope="module")
def client(indexed):
    settings, engine, _ = indexed
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def at(chain):
    """Call a LoanBook / LoanNote / token view at the indexed block."""
    block = chain.scenario.end_block

    def call(contract: str, fn: str, *args):
        if contract == "TestStablecoin":
            erc20 = chain.w3.eth.contract(address=chain.scenario.token, abi=abi.TEST_STABLECOIN)
            return getattr(erc20.functions, fn)(*args).call(block_identifier=block)
        if (contract, fn) == ("LoanBook", "exposure") and isinstance(args[0], str):
            # Exposure is kept per KYC identity; each scenario borrower has its own.
            registry = chain.contract("IdentityRegistry").functions
            args = (registry.attestation(args[0]).call(block_identifier=block)[0], *args[1:])
        return getattr(chain.contract(contract).functions, fn)(*args).call(block_identifier=block)

    return call


def logs_by_loan(chain, event: str) -> dict[int, list]:
    """A LoanBook event's logs up to the indexed block, by loan id (read with web3, not the indexer)."""
    out: dict[int, list] = {}
    logs = getattr(chain.book.events, event).get_logs(from_block=0, to_block=chain.scenario.end_block)
    for log in logs:
        out.setdefault(log.args.loan_id, []).append(log)
    return out


def get(client, path, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------------------
# Health and docs
# ---------------------------------------------------------------------------


def test_health(client, chain):
    body = get(client, "/health")
    assert body["chain_id"] == 31337
    assert body["indexed_block"] == body["head"] == chain.scenario.end_block
    assert body["lag"] == 0 and body["ok"] is True
    assert body["indexed_timestamp"] == chain.scenario.end_time


def test_openapi_and_docs(client):
    spec = get(client, "/openapi.json")
    for path in ("/health", "/loans", "/loans/{loan_id}", "/notes/{note_id}", "/accounts/{address}", "/events",
                 "/calculator", "/stats", "/reconcile"):  # fmt: skip
        assert path in spec["paths"]
        assert list(spec["paths"][path]) == ["get"]  # read-only
    assert "swagger" in client.get("/docs").text.lower()
    assert client.post("/loans").status_code == 405


# ---------------------------------------------------------------------------
# Loans
# ---------------------------------------------------------------------------


def test_every_loan_matches_the_chain(client, chain, at):
    sc = chain.scenario
    count = at("LoanBook", "loan_count")
    assert count == 10
    funded = logs_by_loan(chain, "LoanFunded")
    repayments = logs_by_loan(chain, "Repayment")
    for loan_id in range(1, count + 1):
        body = get(client, f"/loans/{loan_id}")
        record = at("LoanBook", "loan", loan_id)
        assert body["borrower"] == record[0] and body["token"] == record[1]
        assert body["grade"] == record[2] and int(body["principal"]) == record[3]
        assert (body["apr_bps"], body["installments"], body["period_seconds"]) == (
            record[4],
            record[5],
            record[6],
        )
        assert body["method_id"] == record[7]
        assert body["status"] == STATUS[record[8]], loan_id
        assert int(body["funded"]) == record[11]
        assert (body["start"] or 0) == record[13] and int(body["annuity"]) == record[14]
        assert list(body["terms"].values()) == list(at("LoanBook", "loan_terms", loan_id))
        # amount_due, as the contract computes it at this block (pending penalty included).
        due = at("LoanLens", "amount_due", loan_id)
        keys = ("past_due", "penalty", "next_due_time", "next_due_amount", "principal_outstanding", "payoff")
        # next_due_time is null, not 0, where the loan has none (as in the summary).
        assert [int(body["amount_due"][k] or 0) for k in keys] == list(due), loan_id
        assert body["amount_due"]["next_due_time"] == body["next_due_time"]
        debt, _, recovered, at_default = at("LoanBook", "default_record", loan_id)
        if body["status"] == "DEFAULTED":
            assert int(body["principal_outstanding"]) == (at_default if recovered < debt else 0)
            assert int(body["past_due"]) == debt - recovered
        else:
            assert int(body["principal_outstanding"]) == due[4]
        # Distinct lenders, not notes; the rows' paid amounts add up to the Repayment events.
        lenders = [log.args.lender for log in funded.get(loan_id, [])]
        assert (body["lender_count"], body["note_count"]) == (len(set(lenders)), len(lenders)), loan_id
        paid = sum(log.args.principal + log.args.interest for log in repayments.get(loan_id, []))
        assert sum(int(row["paid"]) for row in body["schedule"]) == paid, loan_id
        for row in body["schedule"]:
            assert int(row["paid"]) + int(row["waived"]) + int(row["recovered"]) + int(row["unpaid"]) == int(
                row["amount"]
            )
        # Schedule: the contract's schedule view, to the unit.
        rows = at("LoanLens", "schedule", record[3], record[4], record[5], record[6], record[7])
        assert [(r["due_offset"], int(r["principal"]), int(r["interest"])) for r in body["schedule"]] == [
            tuple(r) for r in rows
        ]
        # Notes: current owners and claimable amounts.
        for note in body["notes"]:
            assert note["loan_id"] == loan_id
            chain_note = at("LoanBook", "note", note["id"])
            assert (int(note["share"]), int(note["claimed"])) == (chain_note[1], chain_note[2])
            assert int(note["claimable"]) == at("LoanBook", "claimable", note["id"])
            if note["owner"] is not None:
                assert note["owner"] == at("LoanNote", "ownerOf", note["id"])
        assert sum(int(n["amount"]) for n in body["notes"]) >= int(body["funded"])
    assert sc.loans["repaid"] == 1


def test_statuses_cover_every_path(client, chain):
    sc = chain.scenario
    expected = {
        "repaid": "REPAID", "defaulted": "DEFAULTED", "cancelled": "CANCELLED", "expired": "EXPIRED",
        "expired_unrecorded": "EXPIRED", "overdue_45": "ACTIVE", "overdue_11": "ACTIVE", "open": "OPEN",
        "in_review": "FUNDED", "recovered": "DEFAULTED",
    }  # fmt: skip
    for key, status in expected.items():
        body = get(client, f"/loans/{sc.loans[key]}")
        assert body["status"] == status, key
    unrecorded = get(client, f"/loans/{sc.loans['expired_unrecorded']}")
    assert unrecorded["status_recorded"] == "OPEN"  # EXPIRED computed from the deadline at query time


def test_repaid_loan_detail(client, chain):
    sc = chain.scenario
    body = get(client, f"/loans/{sc.loans['repaid']}")
    # Settled early by repay_in_full: the last installment's unearned interest was never owed.
    assert [row["status"] for row in body["schedule"]] == ["PAID", "PAID", "SETTLED"]
    last = body["schedule"][-1]
    assert int(last["waived"]) > 0 and last["unpaid"] == "0" and int(last["paid"]) < int(last["amount"])
    assert last["paid_principal"] == last["principal"]
    kinds = [row["kind"] for row in body["repayments"]]
    assert kinds == ["repayment"] * 3
    late = body["repayments"][1]
    assert int(late["penalty"]) > 0  # the late second installment paid a penalty
    assert int(body["paid"]["principal"]) == 3_000 * UNIT
    assert int(body["paid"]["penalty"]) == int(late["penalty"])
    names = [event["name"] for event in body["events"]]
    for name in ("LoanRequested", "LoanTerms", "LoanFunded", "LoanFullyFunded", "LoanDisbursed", "PenaltyAccrued",
                 "Repayment", "LoanRepaid", "Claimed", "Transfer"):  # fmt: skip
        assert name in names
    # The note L1 sold is owned (and was claimed) by the buyer.
    sold = next(note for note in body["notes"] if note["id"] == sc.notes["sold"])
    assert sold["lender"] == sc.lenders[0] and sold["owner"] == sc.buyer and sold["transfers"] == 1
    unclaimed = next(note for note in body["notes"] if note["id"] == sc.notes["unclaimed"])
    assert int(unclaimed["claimed"]) == 0 and int(unclaimed["claimable"]) > 1_000 * UNIT


def test_overdue_loan_schedule(client, chain):
    sc = chain.scenario
    body = get(client, f"/loans/{sc.loans['overdue_45']}")
    assert [row["status"] for row in body["schedule"]] == ["PAID", "OVERDUE", "OVERDUE", "SCHEDULED"]
    assert body["days_past_due"] == 45 and body["schedule"][1]["days_overdue"] == 45
    assert int(body["amount_due"]["penalty"]) > 0
    body = get(client, f"/loans/{sc.loans['overdue_11']}")
    assert [row["status"] for row in body["schedule"]] == ["OVERDUE", "SCHEDULED", "SCHEDULED"]
    assert 1 <= body["days_past_due"] <= 30


def test_defaulted_loan_detail(client, chain, at):
    sc = chain.scenario
    body = get(client, f"/loans/{sc.loans['defaulted']}")
    debt, cover, recovered, principal = at("LoanBook", "default_record", sc.loans["defaulted"])
    assert body["default"] == {
        "debt": str(debt), "principal": str(principal), "cover": str(cover), "recovered": str(recovered),
    }  # fmt: skip
    assert recovered == 200 * UNIT and cover == 500 * UNIT
    assert all(row["status"] == "DEFAULTED" for row in body["schedule"])
    assert sum(int(row["recovered"]) for row in body["schedule"]) == recovered
    assert [row["kind"] for row in body["repayments"]] == ["recovery"]
    # Still owed: its principal at default counts as outstanding and it stays past due.
    assert int(body["principal_outstanding"]) == principal > 0
    assert int(body["past_due"]) == debt - recovered
    oldest_due = body["start"] + body["ledger"]["cursor"] * body["period_seconds"]
    assert body["days_past_due"] == (sc.end_time - oldest_due) // DAY > 90


def test_fully_recovered_default(client, chain, at):
    sc = chain.scenario
    loan_id = sc.loans["recovered"]
    body = get(client, f"/loans/{loan_id}")
    debt, cover, recovered, principal = at("LoanBook", "default_record", loan_id)
    assert recovered == debt > 0 and body["status"] == "DEFAULTED"
    assert [row["kind"] for row in body["repayments"]] == ["recovery", "recovery"]
    assert int(body["repayments"][0]["amount"]) == 100 * UNIT
    assert all(row["status"] == "RECOVERED" and row["unpaid"] == "0" for row in body["schedule"])
    assert body["principal_outstanding"] == body["past_due"] == "0" and body["days_past_due"] == 0
    assert body["lender_count"] == 2 and body["note_count"] == 3
    assert at("LoanBook", "exposure", sc.borrower_b, sc.token) == int(
        get(client, f"/accounts/{sc.borrower_b}")["borrower"]["exposure"][sc.token]
    )


def test_list_filters_and_sorting(client, chain, at):
    sc = chain.scenario
    statuses = {i: STATUS[at("LoanBook", "loan", i)[8]] for i in range(1, 11)}
    for number, status in STATUS.items():
        body = get(client, "/loans", status=status)
        assert sorted(item["id"] for item in body["items"]) == sorted(
            i for i, s in statuses.items() if s == status
        )
        assert body["total"] == len(body["items"])
        assert all(item["status_id"] == number for item in body["items"])
        # The number the responses carry, and the name in any case, filter alike.
        assert get(client, "/loans", status=number) == body == get(client, "/loans", status=status.lower())
    a = get(client, "/loans", borrower=sc.borrower_a.lower(), sort="id")  # any case
    assert [item["id"] for item in a["items"]] == [1, 3, 6, 9]
    assert all(item["grade_letter"] == "A" for item in a["items"])
    grade_c = [item["id"] for item in get(client, "/loans", grade="C", sort="id")["items"]]
    assert grade_c == [2, 4, 5, 7, 8, 10]
    assert [item["id"] for item in get(client, "/loans", grade=3, sort="id")["items"]] == grade_c
    assert [item["id"] for item in get(client, "/loans", grade="c", sort="id")["items"]] == grade_c
    interest_only = get(client, "/loans", method="interest-only", sort="id")["items"]
    assert [item["id"] for item in interest_only] == [4, 6]
    assert get(client, "/loans", method=2, sort="id")["items"] == interest_only
    assert [item["id"] for item in get(client, "/loans", lender=sc.buyer, sort="id")["items"]] == [1, 6]
    assert get(client, "/loans", token=sc.token)["total"] == 10
    assert get(client, "/loans", token="0x" + "11" * 20)["total"] == 0
    by_principal = get(client, "/loans", sort="-principal")["items"]
    principals = [int(item["principal"]) for item in by_principal]
    assert principals == sorted(principals, reverse=True)
    page1 = get(client, "/loans", limit=4, offset=0, sort="id")
    page3 = get(client, "/loans", limit=4, offset=8, sort="id")
    assert [i["id"] for i in page1["items"]] == [1, 2, 3, 4] and [i["id"] for i in page3["items"]] == [9, 10]
    assert page1["total"] == page3["total"] == 10


# ---------------------------------------------------------------------------
# Notes and accounts
# ---------------------------------------------------------------------------


def test_note_detail(client, chain, at):
    sc = chain.scenario
    body = get(client, f"/notes/{sc.notes['sold']}")
    assert body["owner"] == sc.buyer == at("LoanNote", "ownerOf", sc.notes["sold"])
    assert [e["name"] for e in body["events"]] == ["LoanFunded", "Transfer", "Transfer", "Claimed"]
    assert len(body["claims"]) == 1 and body["claims"][0]["owner"] == sc.buyer
    assert int(body["claimed"]) == at("LoanBook", "note", sc.notes["sold"])[2]
    refunded = get(client, f"/notes/{sc.notes['cancelled']}")
    assert refunded["burned"] and refunded["owner"] is None and int(refunded["refunded"]) == 200 * UNIT
    assert refunded["share"] == "0" and refunded["loan"]["status"] == "CANCELLED"


def test_lender_accounts_balance_with_the_token(client, chain, at):
    """For each lender: minted − invested + received (claims) + refunds = token balance on-chain,
    and claimable now is what the contract says."""
    sc = chain.scenario
    for lender in (*sc.lenders, sc.buyer):
        body = get(client, f"/accounts/{lender}")["lender"]
        funded = [get(client, f"/notes/{note_id}") for note_id in body["funded_notes"]]
        spent = sum(int(note["amount"]) for note in funded)
        received = int(body["received"].get(sc.token, 0))
        refunded = int(body["refunded"].get(sc.token, 0))
        assert at("TestStablecoin", "balanceOf", lender) == 100_000 * UNIT - spent + received + refunded, (
            lender
        )
        claimable = sum(at("LoanBook", "claimable", note["id"]) for note in body["notes"])
        assert int(body["claimable"].get(sc.token, 0)) == claimable
    buyer = get(client, f"/accounts/{sc.buyer}")
    assert {note["id"] for note in buyer["lender"]["notes"]} == {sc.notes["sold"], sc.notes["buyer_loan6"]}
    assert int(buyer["lender"]["realised_return"][sc.token]) > 0
    assert buyer["roles"] == ["lender"]


def test_notes_list(client, chain, at):
    sc = chain.scenario
    count = at("LoanBook", "note_count")
    everything = get(client, "/notes", limit=1000)
    assert everything["total"] == count == len(everything["items"])
    assert [note["id"] for note in everything["items"]] == list(range(1, count + 1))
    for note in everything["items"]:
        assert (note["loan_id"], int(note["share"]), int(note["claimed"])) == tuple(
            at("LoanBook", "note", note["id"])
        )[:3]  # the fourth field links the loan's previous note
        assert note["token"] == sc.token
    owned = get(client, "/notes", owner=sc.lenders[0].lower())["items"]
    assert {n["id"] for n in owned} == {
        sc.notes["l1_loan6"], sc.notes["l1_loan6_again"], sc.notes["l1_recovered"], sc.notes["l1_recovered_again"]
    }  # fmt: skip
    assert all(at("LoanNote", "ownerOf", n["id"]) == sc.lenders[0] for n in owned)
    by_loan = get(client, "/notes", loan=sc.loans["repaid"])["items"]
    assert [n["id"] for n in by_loan] == [sc.notes["sold"], sc.notes["l2_loan1"], sc.notes["unclaimed"]]
    both = get(client, "/notes", owner=sc.buyer, loan=sc.loans["repaid"])
    assert [n["id"] for n in both["items"]] == [sc.notes["sold"]] and both["total"] == 1
    funded_by_l1 = get(client, "/notes", lender=sc.lenders[0])["items"]
    assert sc.notes["sold"] in {n["id"] for n in funded_by_l1}
    assert get(client, "/notes", limit=2, offset=1)["items"] == everything["items"][1:3]


def test_invested_counts_every_note_funded(client, chain):
    """invested = every note the account funded, whatever became of the loan (refunded ones
    included); lent = only notes of loans that were disbursed."""
    sc = chain.scenario
    logs = chain.book.events.LoanFunded.get_logs(from_block=0, to_block=sc.end_block)
    for lender in sc.lenders:
        body = get(client, f"/accounts/{lender}")["lender"]
        mine = [log for log in logs if log.args.lender == lender]
        assert int(body["invested"][sc.token]) == sum(log.args.amount for log in mine)
        disbursed = {
            loan["id"] for loan in get(client, "/loans", limit=1000)["items"] if loan["disbursed_at"]
        }
        assert int(body["lent"][sc.token]) == sum(
            log.args.amount for log in mine if log.args.loan_id in disbursed
        )
    l3 = get(client, f"/accounts/{sc.lenders[2]}")["lender"]
    assert int(l3["invested"][sc.token]) - int(l3["lent"][sc.token]) == 100 * UNIT  # the expired loan's note


def test_borrower_exposure_is_the_contracts(client, chain, at):
    sc = chain.scenario
    for borrower in (sc.borrower_a, sc.borrower_b):
        body = get(client, f"/accounts/{borrower}")["borrower"]
        assert int(body["exposure"][sc.token]) == at("LoanBook", "exposure", borrower, sc.token), borrower
    # B's partly recovered default still counts, in exposure and outstanding, as on-chain.
    b = get(client, f"/accounts/{sc.borrower_b}")["borrower"]
    principal = at("LoanBook", "default_record", sc.loans["defaulted"])[3]
    active = sum(at("LoanLens", "amount_due", i)[4] for i in (sc.loans["overdue_11"],))
    assert int(b["principal_outstanding"][sc.token]) == principal + active


def test_borrower_account(client, chain, at):
    sc = chain.scenario
    body = get(client, f"/accounts/{sc.borrower_a}")
    assert body["kyc"]["verified"] is True and body["kyc"]["blocked"] is False
    assert [s["score"] for s in body["borrower"]["scores"]] == [760, 780]
    assert [s["grade_letter"] for s in body["borrower"]["scores"]] == ["A", "A"]
    ids = [loan["id"] for loan in body["borrower"]["loans"]]
    outstanding = sum(at("LoanLens", "amount_due", i)[4] for i in ids)
    assert int(body["borrower"]["principal_outstanding"][sc.token]) == outstanding
    payoff = sum(at("LoanLens", "amount_due", i)[5] for i in ids)
    assert int(body["borrower"]["payoff"][sc.token]) == payoff
    assert body["roles"] == ["borrower"]


def test_kyc_and_blocklist(client, at):
    revoked = get(client, f"/accounts/{DEAD}")["kyc"]
    assert revoked["verified"] is False and revoked["revoked_at"] is not None
    assert get(client, f"/accounts/{BEEF}")["kyc"]["blocked"] is True
    nobody = get(client, "/accounts/0x" + "12" * 20)
    assert nobody["is_known"] is False and nobody["borrower"]["loans"] == []


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


def test_events_audit_log(client, chain):
    sc = chain.scenario
    addresses = [
        chain.record["contracts"][n]["address"]
        for n in ("LoanBook", "LoanNote", "IdentityRegistry", "CreditOracle")
    ]
    logs = chain.w3.eth.get_logs({"fromBlock": 0, "toBlock": sc.end_block, "address": addresses})
    everything = get(client, "/events", limit=10_000)
    assert everything["total"] == len(logs)
    assert [(e["tx_hash"], e["log_index"]) for e in everything["items"]] == [
        (log["transactionHash"].to_0x_hex(), log["logIndex"]) for log in logs
    ]
    repayments = get(client, "/events", contract="LoanBook", name="Repayment")
    assert repayments["total"] == 4 and {e["name"] for e in repayments["items"]} == {"Repayment"}
    window = get(client, "/events", from_block=40, to_block=50)
    assert window["items"] and all(40 <= e["block_number"] <= 50 for e in window["items"])
    buyer = get(client, "/events", account=sc.buyer)["items"]
    assert buyer and all(sc.buyer in str(e["args"]) for e in buyer)
    assert {"Transfer", "Claimed", "LoanFunded", "Attested"} <= {e["name"] for e in buyer}
    newest = get(client, "/events", order="desc", limit=1)["items"][0]
    assert newest == everything["items"][-1]
    by_loan = get(client, "/events", loan_id=sc.loans["defaulted"])["items"]
    assert "LoanDefaulted" in {e["name"] for e in by_loan} and "Recovery" in {e["name"] for e in by_loan}


def test_events_csv(client, chain):
    response = client.get("/events", params={"format": "csv", "contract": "LoanBook", "name": "Claimed"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == int(response.headers["x-total-count"]) == 4
    assert {row["name"] for row in rows} == {"Claimed"} and all(row["args"].startswith("{") for row in rows)


# ---------------------------------------------------------------------------
# Calculator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "terms",
    [
        (3_000 * UNIT, 1_200, 3, 30 * DAY, 0),
        (10**24, 3_600, 360, 10 * DAY, 0),
        (999_999, 1, 7, DAY, 1),
        (5_000 * UNIT, 0, 12, 30 * DAY, 0),
        (1, 3_600, 2, 366 * DAY, 2),
        (123_456_789, 2_500, 24, 15 * DAY, 3),
    ],
)
def test_calculator_equals_the_contract(client, at, terms):
    body = get(client, "/calculator", principal=terms[0], apr_bps=terms[1], installments=terms[2],
               period_seconds=terms[3], method=terms[4], start=1_000)  # fmt: skip
    rows = at("LoanLens", "schedule", *terms)
    assert [(r["due_offset"], int(r["principal"]), int(r["interest"])) for r in body["schedule"]] == [
        tuple(r) for r in rows
    ]
    assert int(body["total_principal"]) == terms[0]
    assert body["schedule"][0]["due_time"] == 1_000 + terms[3]


@pytest.mark.parametrize(
    "terms, message",
    [
        ((0, 1_000, 3, 30 * DAY, 0), "loanbook: zero principal"),
        ((10**31, 1_000, 3, 30 * DAY, 0), "loanbook: principal too large"),
        ((1_000, 3_601, 3, 30 * DAY, 0), "loanbook: apr too high"),
        ((1_000, 1_000, 0, 30 * DAY, 0), "loanbook: bad installments"),
        ((1_000, 1_000, 361, DAY, 0), "loanbook: bad installments"),
        ((1_000, 1_000, 3, DAY - 1, 0), "loanbook: bad period"),
        ((1_000, 1_000, 20, 366 * DAY, 0), "loanbook: term too long"),
        ((1_000, 1_000, 3, 30 * DAY, 4), "loanbook: bad method"),
    ],
)
def test_calculator_rejects_what_the_contract_rejects(client, chain, terms, message):
    from web3.exceptions import ContractLogicError

    with pytest.raises(ContractLogicError, match=message):
        chain.lens.functions.schedule(*terms).call()
    response = client.get("/calculator", params=dict(zip(
        ("principal", "apr_bps", "installments", "period_seconds", "method"), terms, strict=True)))  # fmt: skip
    assert response.status_code == 422 and response.json()["detail"] == message


def test_calculator_method_names(client):
    by_name = get(client, "/calculator", principal=10_000, apr_bps=1_000, installments=4, period_seconds=30 * DAY,
                  method="equal_principal")  # fmt: skip
    assert by_name["method"] == "EQUAL_PRINCIPAL"
    assert by_name == get(client, "/calculator", principal=10_000, apr_bps=1_000, installments=4,
                          period_seconds=30 * DAY, method=1)  # fmt: skip
    # The CLI's spelling and the API's are both accepted; the answer uses one.
    for spelling in ("equal-principal", "EQUAL_PRINCIPAL", "Equal-Principal"):
        assert by_name == get(client, "/calculator", principal=10_000, apr_bps=1_000, installments=4,
                              period_seconds=30 * DAY, method=spelling)  # fmt: skip
    assert by_name["method_id"] == 1


# ---------------------------------------------------------------------------
# Stats and reconcile
# ---------------------------------------------------------------------------


def test_stats_match_the_chain(client, chain, at):
    sc = chain.scenario
    body = get(client, "/stats")
    ids = range(1, 11)
    assert body["as_of"]["block"] == sc.end_block and body["loans"] == 10
    (token,) = body["tokens"]
    assert token["token"] == sc.token
    statuses = [STATUS[at("LoanBook", "loan", i)[8]] for i in ids]
    assert token["loans_by_status"] == {s: statuses.count(s) for s in STATUS.values()}
    disbursed = [i for i in ids if at("LoanBook", "loan", i)[13] > 0]
    volume = sum(at("LoanBook", "loan", i)[3] for i in disbursed)
    assert token["volume"] == {"count": len(disbursed), "principal": str(volume)}
    # Outstanding: active loans' principal, and defaulted loans' principal at default until
    # recovered (what the contract keeps in exposure).
    defaults = {i: at("LoanBook", "default_record", i) for i in ids}
    unrecovered = {i: d[3] for i, d in defaults.items() if d[0] and d[2] < d[0]}
    assert list(unrecovered) == [sc.loans["defaulted"]]
    outstanding = sum(at("LoanLens", "amount_due", i)[4] for i in ids) + sum(unrecovered.values())
    assert int(token["principal_outstanding"]) == outstanding
    assert outstanding == at("LoanBook", "exposure", sc.borrower_a, sc.token) + at(
        "LoanBook", "exposure", sc.borrower_b, sc.token
    ) - sum(at("LoanBook", "loan", sc.loans[k])[3] for k in ("open", "in_review", "expired_unrecorded"))
    assert int(token["reserve"]["balance"]) == at("LoanBook", "reserve", sc.token)
    assert int(token["fees"]["balance"]) == at("LoanBook", "fees", sc.token)
    assert int(token["escrow_held"]) == at("LoanBook", "held", sc.token)
    overdue = token["overdue"]["buckets"]
    assert (overdue["1-30"]["loans"], overdue["31-90"]["loans"], overdue["90+"]["loans"]) == (1, 1, 1)
    assert int(overdue["31-90"]["past_due"]) == at("LoanLens", "amount_due", sc.loans["overdue_45"])[0]
    assert overdue["31-90"]["rate"] == pytest.approx(2_000 * UNIT / outstanding, abs=1e-6)
    debt, _, recovered, principal = defaults[sc.loans["defaulted"]]
    assert int(overdue["90+"]["past_due"]) == debt - recovered
    assert int(overdue["90+"]["principal_outstanding"]) == principal
    at_default = sum(d[3] for d in defaults.values())
    assert token["default"]["count"] == 2 and token["default"]["rate"] == pytest.approx(
        at_default / volume, abs=1e-6
    )
    assert body["borrowers"] == 2 and body["lenders"] == 4
    assert {row["grade_letter"] for row in token["by_grade"]} == {"A", "C"}
    months = token["by_month"]
    assert sum(row["requested"] for row in months) == 10
    assert sum(int(row["volume"]) for row in months) == int(token["volume"]["principal"])
    assert get(client, "/stats", token=sc.token)["tokens"] == body["tokens"]
    assert body["loans_by_status"] == token["loans_by_status"]
    assert body["overdue_loans"] == {"1-30": 1, "31-90": 1, "90+": 1}
    assert body["default_rate_by_count"] == pytest.approx(2 / 5)


def test_stats_outstanding_by_month_match_the_chain_events(client, chain, at):
    """`by_month[].outstanding_end` recomputed from the LoanBook's events: each loan's principal
    from its disbursement, less each Repayment's principal, and at default its principal at default
    until the Recovery events add up to its debt."""
    from datetime import UTC, datetime

    stamps: dict[int, int] = {}

    def month(log) -> str:
        if log.blockNumber not in stamps:
            stamps[log.blockNumber] = chain.w3.eth.get_block(log.blockNumber).timestamp
        return datetime.fromtimestamp(stamps[log.blockNumber], tz=UTC).strftime("%Y-%m")

    changes: dict[str, int] = {}
    for loan_id, (log,) in logs_by_loan(chain, "LoanDisbursed").items():
        changes[month(log)] = changes.get(month(log), 0) + at("LoanBook", "loan", loan_id)[3]
    for logs in logs_by_loan(chain, "Repayment").values():
        for log in logs:
            changes[month(log)] = changes.get(month(log), 0) - log.args.principal
    recoveries = logs_by_loan(chain, "Recovery")
    for loan_id, (default,) in logs_by_loan(chain, "LoanDefaulted").items():
        recovered = 0
        for log in sorted(recoveries.get(loan_id, []), key=lambda log: (log.blockNumber, log.logIndex)):
            recovered += log.args.amount
            if recovered >= default.args.debt:
                changes[month(log)] = changes.get(month(log), 0) - default.args.principal_outstanding
                break
    (token,) = get(client, "/stats")["tokens"]
    months = token["by_month"]
    assert [row["month"] for row in months] == sorted(row["month"] for row in months)
    assert set(changes) <= {row["month"] for row in months}
    running, expected = 0, []
    for row in months:
        running += changes.get(row["month"], 0)
        expected.append(running)
    assert [int(row["outstanding_end"]) for row in months] == expected
    assert len(set(expected)) > 2  # the lifecycle spans months in which the book grows and shrinks
    assert int(months[-1]["outstanding_end"]) == int(token["principal_outstanding"]) > 0


def test_reconcile_endpoint(client):
    body = get(client, "/reconcile")
    assert body["ok"] is True and body["mismatches"] == []
    assert body["checked"]["loan"] > 100


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, params, fragment",
    [
        ("/loans", {"limit": 0}, "limit"),
        ("/loans", {"limit": 5000}, "limit"),
        ("/loans", {"offset": -1}, "offset"),
        ("/loans", {"status": "LOST"}, "status"),
        ("/loans", {"status": 8}, "unknown LoanStatus '8'"),
        ("/loans", {"grade": "F"}, "grade"),
        ("/loans", {"grade": 0}, "unknown Grade"),
        ("/loans", {"method": "linear"}, "unknown Method"),
        ("/notes", {"owner": "0x12"}, "not an Ethereum address"),
        ("/notes", {"loan": 0}, "loan"),
        ("/loans", {"borrower": "0x123"}, "not an Ethereum address"),
        ("/loans", {"lender": "alice"}, "not an Ethereum address"),
        ("/loans", {"sort": "-borrower"}, "sort"),
        ("/loans/0", {}, "loan_id"),
        ("/loans/9223372036854775808", {}, "loan_id"),
        ("/notes/9223372036854775808", {}, "note_id"),
        ("/loans", {"offset": 2**63}, "offset"),
        ("/events", {"to_block": 2**64}, "to_block"),
        ("/loans/abc", {}, "loan_id"),
        ("/accounts/0xnothex", {}, "not an Ethereum address"),
        ("/events", {"from_block": 10, "to_block": 5}, "from_block must not be greater than to_block"),
        ("/events", {"format": "xml"}, "format"),
        ("/events", {"contract": "Token"}, "contract"),
        ("/events", {"account": "0x00"}, "not an Ethereum address"),
        ("/calculator", {"principal": 1_000}, "apr_bps"),
        (
            "/calculator",
            {"principal": "ten", "apr_bps": 1, "installments": 1, "period_seconds": DAY},
            "principal",
        ),
        (
            "/calculator",
            {"principal": 1, "apr_bps": 1, "installments": 1, "period_seconds": DAY, "method": "LINEAR"},
            "method",
        ),
        ("/stats", {"token": "0xzz"}, "not an Ethereum address"),
    ],
)
def test_bad_input_is_422_with_a_message(client, path, params, fragment):
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and fragment in detail


def test_unknown_ids_are_404(client):
    for path in ("/loans/999", "/notes/999"):
        response = client.get(path)
        assert response.status_code == 404 and "not found" in response.json()["detail"]


def test_schedule_port_matches_contract_for_lifecycle_loans(chain, at):
    for loan_id in range(1, 11):
        record = at("LoanBook", "loan", loan_id)
        terms = record[3], record[4], record[5], record[6], record[7]
        assert [(r.due_offset, r.principal, r.interest) for r in loanmath.schedule(*terms)] == [
            tuple(r) for r in at("LoanLens", "schedule", *terms)
        ]


# ---------------------------------------------------------------------------
# Caching, docs, schemas, token units
# ---------------------------------------------------------------------------


def test_etag_and_not_modified(client):
    first = client.get("/loans/1")
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('"') and first.headers["cache-control"] == "no-cache"
    again = client.get("/loans/1")
    assert again.headers["etag"] == etag and again.content == first.content
    not_modified = client.get("/loans/1", headers={"If-None-Match": etag})
    assert (
        not_modified.status_code == 304
        and not_modified.content == b""
        and not_modified.headers["etag"] == etag
    )
    assert client.get("/loans/1", headers={"If-None-Match": '"other"'}).status_code == 200
    other = client.get("/loans/2")
    assert other.headers["etag"] != etag
    # Errors are not cached; every answer still carries its message.
    assert client.get("/loans/999").status_code == 404 and "etag" not in client.get("/loans/999").headers


def test_docs_work_offline(client):
    page = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "/docs/assets/swagger-ui.css" in page
    assert "cdn" not in page.lower() and "http" not in page.split("<body>", 1)[-1].replace(
        "/openapi.json", ""
    )
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.content) > 10_000


def test_every_response_has_a_schema(client):
    spec = get(client, "/openapi.json")
    for path, methods in spec["paths"].items():
        if "get" not in methods:  # the risk desk's acknowledgement (POST)
            continue
        content = methods["get"]["responses"]["200"].get("content", {})
        if "application/json" not in content:  # the event stream, the calendar feed
            continue
        schema = content["application/json"].get("schema")
        assert schema and (schema.get("$ref") or schema.get("type") or schema.get("anyOf")), path
    for path in ("/accounts/{address}", "/stats", "/reconcile", "/tokens", "/notes", "/ping"):
        assert path in spec["paths"], path
    assert "StatsOut" in spec["components"]["schemas"] and "AccountOut" in spec["components"]["schemas"]


def test_token_symbol_and_decimals_from_the_chain(client, chain):
    sc = chain.scenario
    erc20 = chain.w3.eth.contract(address=sc.token, abi=abi.ERC20)
    symbol, decimals = erc20.functions.symbol().call(), erc20.functions.decimals().call()
    (token,) = get(client, "/tokens")
    assert token == {"address": sc.token, "symbol": symbol, "name": erc20.functions.name().call(),
                     "decimals": decimals, "allowed": True}  # fmt: skip
    loan = get(client, "/loans/1")
    assert (loan["token_symbol"], loan["token_decimals"]) == (symbol, decimals)
    assert loan["principal"] == str(3_000 * 10**decimals)  # amounts stay base-unit strings
    (stats_token,) = get(client, "/stats")["tokens"]
    assert (stats_token["symbol"], stats_token["decimals"]) == (symbol, decimals)
