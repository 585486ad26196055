"""The HTTP API without a chain: signed submissions accepted, every bad one refused with a 4xx
and nothing stored; status reporting."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlmodel import func, select

from oracle.service import store
from oracle.service.api import create_app
from oracle.service.runtime import Runtime
from oracle.service.store import Application, ScoreRequest, Submission
from tests.oracle.helpers import fields_for, model_path, scorer_for, settings_for, signed_payload

ALICE = Account.from_key("0x" + "a1" * 32)
BOB = Account.from_key("0x" + "b2" * 32)


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    return scorer_for(model_path(tmp_path_factory.mktemp("model")))


@pytest.fixture
def api(tmp_path, scorer):
    settings = settings_for("http://unused", tmp_path, tmp_path / "oracle.db", tmp_path / "model")
    engine = store.make_engine(settings.db_url)
    chain = SimpleNamespace(chain_id=31337, oracle=SimpleNamespace(address="0x" + "00" * 19 + "01"))
    runtime = Runtime(settings=settings, chain=chain, engine=engine, scorer=scorer)
    return TestClient(create_app(runtime)), engine


def counts(engine) -> tuple[int, int]:
    with store.session(engine) as db:
        apps = db.exec(select(func.count()).select_from(Application)).one()
        subs = db.exec(select(func.count()).select_from(Submission)).one()
    return apps, subs


def test_signed_application_is_stored_minimally_and_reported(api, scorer):
    client, engine = api
    fields = fields_for(1)
    response = client.post("/applications", json=signed_payload(ALICE, fields, nonce=1))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["address"] == ALICE.address
    assert (body["status"], body["stage"]) == ("pending", "awaiting_request")
    with store.session(engine) as db:
        row = db.get(Application, ALICE.address)
        submission = db.exec(select(Submission)).one()
    # only the model's inputs are kept, not every field the applicant sent
    assert set(row.fields) == set(scorer.input_fields) and len(row.fields) < len(fields)
    assert row.fields == scorer.validate(fields)
    assert submission.nonce == 1 and submission.fields_hash == row.fields_hash
    # lower-case address in the URL works too; unknown address is 404
    got = client.get(f"/applications/{ALICE.address.lower()}")
    assert got.status_code == 200 and got.json()["stage"] == "awaiting_request"
    assert client.get(f"/applications/{BOB.address}").status_code == 404
    assert client.get("/applications/not-an-address").status_code == 422


def test_personal_sign_scheme_is_accepted(api):
    client, engine = api
    payload = signed_payload(ALICE, fields_for(2), nonce=5, scheme="eip191")
    assert client.post("/applications", json=payload).status_code == 201
    assert counts(engine) == (1, 1)


def test_newer_application_replaces_the_old_one(api, scorer):
    client, engine = api
    assert client.post("/applications", json=signed_payload(ALICE, fields_for(1), nonce=1)).status_code == 201
    assert client.post("/applications", json=signed_payload(ALICE, fields_for(3), nonce=2)).status_code == 201
    with store.session(engine) as db:
        assert db.get(Application, ALICE.address).fields == scorer.validate(fields_for(3))
    assert scorer.validate(fields_for(3)) != scorer.validate(fields_for(1))
    assert counts(engine) == (1, 2)


def _tamper(payload, **changes):
    return {**payload, **changes}


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("bad_signature", 401, "bad signature"),
        ("wrong_signer", 401, "not by the applicant"),
        ("fields_changed_after_signing", 401, "not by the applicant"),
        ("stale", 400, "stale"),
        ("future", 400, "in the future"),
        ("bad_field", 422, "revol_util"),
        ("missing_field", 422, "missing"),
        ("unknown_field", 422, "full_name"),
        ("bad_address", 422, "not an address"),
        ("negative_nonce", 422, "nonce"),
    ],
)
def test_bad_submissions_are_refused_and_nothing_is_stored(api, scorer, case, status, message):
    client, engine = api
    fields = fields_for(1)
    now = int(time.time())
    payload = signed_payload(ALICE, fields, nonce=1)
    if case == "bad_signature":
        payload["signature"] = "0x" + "00" * 65
    elif case == "wrong_signer":
        payload = _tamper(signed_payload(BOB, fields, nonce=1), address=ALICE.address)
    elif case == "fields_changed_after_signing":
        payload["fields"] = {**fields, "annual_inc": 999_999.0}
    elif case == "stale":
        payload = signed_payload(ALICE, fields, nonce=1, issued_at=now - 3600)
    elif case == "future":
        payload = signed_payload(ALICE, fields, nonce=1, issued_at=now + 3600)
    elif case == "bad_field":
        payload = signed_payload(ALICE, {**fields, "revol_util": "lots"}, nonce=1)
    elif case == "missing_field":
        needed = scorer.input_fields[0]
        payload = signed_payload(ALICE, {k: v for k, v in fields.items() if k != needed}, nonce=1)
        message = f"{needed}: missing"
    elif case == "unknown_field":
        payload = signed_payload(ALICE, {**fields, "full_name": "Alice Example"}, nonce=1)
    elif case == "bad_address":
        payload["address"] = "0x1234"
    elif case == "negative_nonce":
        payload["nonce"] = -1
    response = client.post("/applications", json=payload)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert counts(engine) == (0, 0)


def test_replayed_and_older_nonces_are_refused(api):
    client, engine = api
    first = signed_payload(ALICE, fields_for(1), nonce=10)
    assert client.post("/applications", json=first).status_code == 201
    replay = client.post("/applications", json=first)
    assert replay.status_code == 409 and "replayed nonce" in replay.json()["detail"]
    older = client.post("/applications", json=signed_payload(ALICE, fields_for(2), nonce=9))
    assert older.status_code == 409
    assert counts(engine) == (1, 1)
    with store.session(engine) as db:
        assert db.get(Application, ALICE.address).nonce == 10


def test_waiting_request_is_queued_when_the_application_arrives(api):
    client, engine = api
    with store.session(engine) as db:
        db.add(ScoreRequest(account=ALICE.address, request_nonce=1, status=store.NEEDS_APPLICATION))
    assert client.get(f"/applications/{ALICE.address}").json()["stage"] == "needs_application"
    body = client.post("/applications", json=signed_payload(ALICE, fields_for(1), nonce=1)).json()
    assert (body["status"], body["stage"]) == ("pending", "queued")


def test_signing_info_describes_the_typed_data(api, scorer):
    client, _ = api
    info = client.get("/signing").json()
    assert info["domain"] == {"name": "Peerlend Oracle", "version": "1", "chainId": 31337}
    assert [f["name"] for f in info["types"]["Application"]] == [
        "applicant",
        "fieldsHash",
        "nonce",
        "issuedAt",
    ]
    assert info["fields"] == list(scorer.input_fields)
