"""Early warning, AML rules and scoring feedback on one real anvil book, read at three blocks:

1. a normal book (two borrowers, two lenders, a pay-ahead): nothing may be raised;
2. mid-way: a borrower 20 days late after two partial payments, and the oracle service's view
   of them (an active delinquency withholds a usable score);
3. the end: that borrower defaulted; a loan funded by the borrower's other wallet and one whose
   lender and borrower were paid by a common source; a large transfer; a note funded and passed
   on within the hour, then bought and sold again; one source funding five new wallets — each
   rule fires exactly where it should, with its evidence, and names no account of the normal
   book.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from backend.api.app import create_app
from backend.risk import transfers
from peerlend.db import make_engine
from peerlend.rpc import Rpc
from tests.backend.helpers import make_settings, sync_to_head
from tests.backend.risk.support import DAY, UNIT, deployed_chain

OPERATOR_TOKEN = "officer-secret"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    directory = tmp_path_factory.mktemp("risk-deployments")
    with deployed_chain(directory) as d:
        people = {
            "A": d.customer(4, 20_000, score=760),
            "B": d.customer(5, 20_000, score=760),
            "L1": d.customer(6, 20_000),
            "L2": d.customer(7, 20_000),
            "C": d.customer(8, 5_000, score=760),
            "D": d.customer(10, 5_000, score=760),
            "D2": d.customer(11),
            "W": d.customer(12, 50_000),
            "F": d.customer(14, 5_000),
            "M": d.customer(16, 5_000),
            "S": d.customer(23, 3_000),
            "E": d.customer(24, score=760),
            "G": d.customer(25),
        }
        people["X"], people["Y"], people["Z"] = d.accounts[13], d.accounts[15], d.accounts[26]
        fresh = d.accounts[17:22]
        world = {"d": d, "people": people, "fresh": fresh, "tx": {}, "loans": {}, "notes": {}, "snap": {}}

        def snapshot(name: str) -> None:
            url = f"sqlite:///{tmp_path_factory.mktemp('risk-db') / (name + '.db')}"
            settings = make_settings(
                d,
                url,
                risk_large_amount={d.token.address: 10_000 * UNIT},
                risk_drift_min_loans=1,
                risk_concentration_warn_share=0.6,
                risk_operator_token=OPERATOR_TOKEN,
            )
            engine = make_engine(url)
            sync_to_head(settings, engine)
            transfers.ingest(engine, Rpc(d.url))
            world["snap"][name] = (settings, engine)

        p = people
        # 1. The normal book: two 2×120-day loans, each funded half and half; one pays ahead.
        for name in ("A", "B"):
            loan = world["loans"][name] = d.request(p[name], 1_000, installments=2, period_days=120)
            d.fund(loan, p["L1"], 500)
            d.fund(loan, p["L2"], 500)
        d.at(d.now() + DAY + 60)
        for name in ("A", "B"):
            d.disburse(world["loans"][name], p[name])
        d.at(d.now() + 10 * DAY)
        d.repay(world["loans"]["A"], 100 * UNIT, p["A"])
        snapshot("normal")

        # 2. C borrows and falls behind; F flips its note within the hour; D funds itself via D2.
        loan_c = world["loans"]["C"] = d.request(p["C"], 1_000)
        world["notes"]["F"], receipt = d.fund(loan_c, p["F"], 400)
        world["tx"]["F_fund"] = d.tx(receipt)
        d.fund(loan_c, p["L1"], 600)
        world["tx"]["F_flip"] = d.tx(d.transfer_note(p["F"], p["Y"], world["notes"]["F"]))
        world["tx"]["Y_flip"] = d.tx(d.transfer_note(p["Y"], p["Z"], world["notes"]["F"]))  # bought, sold
        loan_d = world["loans"]["D"] = d.request(p["D"], 500)
        world["tx"]["D_to_D2"] = d.tx(d.transfer(p["D"], p["D2"], 600))
        world["notes"]["D2"], receipt = d.fund(loan_d, p["D2"], 500)
        world["tx"]["D2_fund"] = d.tx(receipt)
        world["tx"]["large"] = d.tx(d.transfer(p["W"], p["X"], 20_000))
        # E's loan is funded by G; S paid both of them just before.
        loan_e = world["loans"]["E"] = d.request(p["E"], 500)
        world["tx"]["S_to_E"] = d.tx(d.transfer(p["S"], p["E"], 500))
        world["tx"]["S_to_G"] = d.tx(d.transfer(p["S"], p["G"], 600))
        world["notes"]["G"], receipt = d.fund(loan_e, p["G"], 500)
        world["tx"]["G_fund"] = d.tx(receipt)
        world["tx"]["fan_out"] = [d.tx(d.transfer(p["M"], wallet, 100)) for wallet in fresh]
        d.at(d.now() + DAY + 60)
        d.disburse(loan_c, p["C"])
        d.disburse(loan_d, p["D"])
        d.disburse(loan_e, p["E"])
        start_c = d.start(loan_c)
        for day in (40, 45):  # two partial payments while the first installment is past due
            d.at(start_c + day * DAY)
            d.repay(loan_c, 10 * UNIT, p["C"])
        d.mine(start_c + 50 * DAY)
        snapshot("late")
        from oracle.service.chain import Chain
        from oracle.service.history import read_histories
        from oracle.service.settings import OracleSettings

        oracle_chain = Chain.connect(OracleSettings(rpc_url=d.url, deployments_dir=directory))
        world["histories"] = read_histories(oracle_chain, [p["A"], p["C"]])

        # 3. C is marked defaulted once more than 30 days past due.
        d.at(start_c + 65 * DAY)
        d.mark_default(loan_c, p["L1"])
        d.mine(start_c + 70 * DAY)
        snapshot("end")
        yield world


def client_for(world, name: str) -> TestClient:
    settings, engine = world["snap"][name]
    return TestClient(create_app(settings, engine=engine))


def normal_accounts(world) -> set[str]:
    return {world["people"][n] for n in ("A", "B", "L2")}


def test_normal_book_raises_nothing(book):
    p = book["people"]
    with client_for(book, "normal") as client:
        assert client.get("/risk/alerts", params={"status": "all"}).json()["total"] == 0
        warning = client.get("/risk/early-warning").json()
        assert warning["rolled_worse"] == []
        assert warning["partial_payers"] == []
        assert warning["drift_warnings"] == []
        assert warning["concentration_warnings"] == []
        assert warning["borrowers_by_bucket"] == {
            "current": 2,
            "1-30": 0,
            "31-60": 0,
            "61-90": 0,
            "default": 0,
        }
        rows = client.get("/risk/borrowers").json()["items"]
        assert {row["borrower"] for row in rows} == {p["A"], p["B"]}
        assert all(not row["delinquent"] and row["partial_streak"] == 0 for row in rows)
        drift = client.get("/risk/drift").json()["grades"]
        assert [(g["grade_letter"], g["status"]) for g in drift] == [("A", "ok")]
        roll = client.get("/risk/roll-rates").json()
        assert all(
            n == 0
            for start, row in roll["counts"].items()
            for to, n in row.items()
            if (start, to) != ("current", "current")
        )
        concentration = client.get("/risk/concentration").json()["tokens"][0]
        top = concentration["borrowers"]["top"]
        assert [row["account"] for row in top] == [p["B"], p["A"]]  # A paid ahead: less outstanding
        total = int(concentration["principal_outstanding"])
        assert top[0]["share"] == round(int(top[0]["principal_outstanding"]) / total, 6)
        assert 0.5 < top[0]["share"] < 0.6 and int(top[0]["principal_outstanding"]) == 1_000 * UNIT
        ics = client.get(f"/accounts/{p['A']}/calendar.ics")
        assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
        events = Calendar.from_ical(ics.content).walk("VEVENT")
        assert [str(e["UID"]) for e in events] == [
            f"loan-{book['loans']['A']}-installment-1@peerlend",
            f"loan-{book['loans']['A']}-installment-2@peerlend",
        ]
        assert all("OVERDUE" not in str(e["SUMMARY"]) for e in events)
        assert all(e.walk("VALARM") for e in events)


def test_late_borrower_is_flagged_and_its_score_withheld(book):
    from oracle.service.scorer import Scored
    from oracle.service.standing import REASON_DELINQUENT, apply_standing

    p = book["people"]
    with client_for(book, "late") as client:
        row = client.get(f"/risk/borrowers/{p['C']}").json()
        assert row["bucket"] == "1-30" and row["previous_bucket"] == "current" and row["roll"] == "worse"
        assert row["days_past_due"] == 20 and row["partial_streak"] == 2
        (loan,) = row["loans"]
        assert loan["partial_payments"] == 2 and int(loan["past_due"]) > 0
        warning = client.get("/risk/early-warning").json()
        assert {r["borrower"] for r in warning["rolled_worse"]} == {p["C"], p["D"], p["E"]}  # D, E never paid
        assert {r["borrower"] for r in warning["partial_payers"]} == {p["C"]}
        events = Calendar.from_ical(client.get(f"/accounts/{p['C']}/calendar.ics").content).walk("VEVENT")
        assert [str(e["CATEGORIES"].cats[0]) for e in events] == ["OVERDUE", "DUE", "DUE"]
        assert client.get(f"/risk/borrowers/{p['A']}").json()["bucket"] == "current"

    histories = book["histories"]
    assert histories[p["C"]].delinquent_loans == 1
    assert histories[p["A"]].delinquent_loans == 0
    good = Scored(account=p["C"], score=760, grade=1, pd=0.02, reasons=["r1"])
    withheld = apply_standing(good, histories[p["C"]])
    assert (withheld.score, withheld.grade, withheld.reasons) == (499, 0, [REASON_DELINQUENT, "r1"])
    assert apply_standing(good, histories[p["A"]]) == good


def test_each_aml_rule_fires_with_its_evidence(book):
    p, tx = book["people"], book["tx"]
    with client_for(book, "end") as client:
        alerts = client.get("/risk/alerts", params={"status": "all"}).json()["items"]
    by_rule = {}
    for alert in alerts:
        by_rule.setdefault(alert["rule"], []).append(alert)
    assert sorted(by_rule) == ["fan_out", "in_and_out", "large_transfer", "self_funding"]
    assert {rule: len(found) for rule, found in by_rule.items()} == {
        "fan_out": 1, "in_and_out": 2, "large_transfer": 1, "self_funding": 2,
    }  # fmt: skip

    (large,) = by_rule["large_transfer"]
    assert [e["tx_hash"] for e in large["evidence"]] == [tx["large"]]
    assert large["accounts"] == sorted([p["W"], p["X"]]) and list(large["amounts"].values()) == [
        str(20_000 * UNIT)
    ]

    flips = {tuple(e["tx_hash"] for e in a["evidence"]): a for a in by_rule["in_and_out"]}
    assert set(flips) == {(tx["F_fund"], tx["F_flip"]), (tx["F_flip"], tx["Y_flip"])}  # funded; bought
    assert set(flips[(tx["F_fund"], tx["F_flip"])]["accounts"]) == {p["F"], p["Y"]}
    assert set(flips[(tx["F_flip"], tx["Y_flip"])]["accounts"]) == {p["F"], p["Y"], p["Z"]}
    assert all(a["loan_id"] == book["loans"]["C"] for a in flips.values())

    own, common = sorted(by_rule["self_funding"], key=lambda a: a["loan_id"])
    assert (
        own["loan_id"] == book["loans"]["D"]
        and own["relation"] == "lender was paid by the borrower's wallets"
    )
    assert [e["tx_hash"] for e in own["evidence"]] == [tx["D2_fund"], tx["D_to_D2"]]
    assert set(own["accounts"]) == {p["D"], p["D2"]}
    assert common["loan_id"] == book["loans"]["E"]
    assert common["relation"] == "lender and borrower were paid by a common source"
    assert [e["tx_hash"] for e in common["evidence"]] == [tx["G_fund"], tx["S_to_G"], tx["S_to_E"]]
    assert set(common["accounts"]) == {p["E"], p["G"], p["S"]}

    (fan,) = by_rule["fan_out"]
    assert [e["tx_hash"] for e in fan["evidence"]] == tx["fan_out"]
    assert set(fan["accounts"]) == {p["M"], *book["fresh"]}

    named = {account for alert in alerts for account in alert["accounts"]}
    assert not named & normal_accounts(book)

    # An operator who trusts S (say, an exchange's hot wallet) sees no common-source alert.
    settings, engine = book["snap"]["end"]
    trusting = settings.model_copy(update={"risk_trusted_sources": [p["S"].lower()]})
    with TestClient(create_app(trusting, engine=engine)) as client:
        found = client.get("/risk/alerts", params={"rule": "self_funding", "status": "all"}).json()["items"]
    assert [a["loan_id"] for a in found] == [book["loans"]["D"]]


def test_default_drift_vintage_and_roll_at_the_end(book):
    p = book["people"]
    with client_for(book, "end") as client:
        row = client.get(f"/risk/borrowers/{p['C']}").json()
        assert (row["previous_bucket"], row["bucket"]) == ("31-60", "default")
        assert [step["bucket"] for step in row["timeline"]] == ["current", "1-30", "31-60", "default"]
        (grade_a,) = client.get("/risk/drift").json()["grades"]
        assert grade_a["loans"] == 5 and grade_a["defaults"] == 1 and grade_a["status"] == "above"
        assert client.get("/risk/early-warning").json()["drift_warnings"][0]["grade_letter"] == "A"
        cohorts = client.get("/risk/vintages", params={"grade": "A"}).json()["cohorts"]
        last = [c["curve"][-1] for c in cohorts]
        assert sum(c["loans"] for c in cohorts) == 5
        assert max(point["default_rate_by_count"] for point in last) > 0
        assert all(point["dpd30_rate"] >= point["default_rate"] for c in cohorts for point in c["curve"])
        roll = client.get("/risk/roll-rates").json()
        assert roll["counts"]["current"]["1-30"] >= 1
        assert sum(roll["counts"][b]["default"] for b in roll["from"]) == 1
        # Per cohort: every loan is grade A, none was disbursed in 1999.
        assert client.get("/risk/roll-rates", params={"grade": "A"}).json()["counts"] == roll["counts"]
        empty = client.get("/risk/roll-rates", params={"origination_month": "1999-01"}).json()
        assert empty["snapshots"] == [] and all(
            n == 0 for row in empty["counts"].values() for n in row.values()
        )
        assert client.get("/risk/roll-rates", params={"origination_month": "1999-13"}).status_code == 422
        # Normal borrowers are still current.
        for name in ("A", "B"):
            assert client.get(f"/risk/borrowers/{p[name]}").json()["bucket"] == "current"


def test_alert_acknowledgement(book):
    settings, engine = book["snap"]["end"]
    with client_for(book, "end") as client:
        alerts = client.get("/risk/alerts", params={"rule": "self_funding"}).json()["items"]
        (alert,) = [a for a in alerts if a["loan_id"] == book["loans"]["D"]]
        path = f"/risk/alerts/{alert['id']}/ack"
        body = {"action": "blocklisted", "by": "officer-1", "note": "D2 is D's mule"}
        assert client.post(path, json=body).status_code == 401
        assert client.post(path, json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
        auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        assert client.post(path, json={**body, "action": "shrug"}, headers=auth).status_code == 422
        assert client.post("/risk/alerts/nope/ack", json=body, headers=auth).status_code == 404
        acked = client.post(path, json=body, headers=auth).json()
        assert acked["ack"]["action"] == "blocklisted" and acked["ack"]["by"] == "officer-1"
        open_ids = {a["id"] for a in client.get("/risk/alerts").json()["items"]}
        assert alert["id"] not in open_ids and len(open_ids) == 5
        (done,) = client.get("/risk/alerts", params={"status": "acknowledged"}).json()["items"]
        assert done["id"] == alert["id"] and done["ack"]["note"] == "D2 is D's mule"
    # The acknowledgement is stored, with the evidence it was given for.
    settings = settings.model_copy(update={"risk_operator_token": None})
    with TestClient(create_app(settings, engine=engine)) as client:
        assert client.get(f"/risk/alerts/{alert['id']}").json()["ack"]["action"] == "blocklisted"
        assert client.post(path, json=body, headers=auth).status_code == 403
