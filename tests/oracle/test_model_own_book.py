"""An operator trains on a loan book the code has never seen (`peerlend-oracle train --data`),
and the oracle service loads that artifact, enforces its inferred schema and scores with it;
`peerlend-oracle monitor` compares the stored applications with the training scores."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from eth_account import Account
from fastapi.testclient import TestClient

from oracle.cli import main
from oracle.model import load_model
from oracle.service import store
from oracle.service.api import create_app
from oracle.service.history import BorrowerHistory
from oracle.service.runtime import Runtime, load_scorer
from tests.oracle.helpers import settings_for, signed_payload

APPLICANT = Account.from_key("0x" + "c3" * 32)


def loan_book(rows: int = 2_400, seed: int = 5) -> pd.DataFrame:
    """A synthetic book: risk U-shaped in `utilisation` (very low and very high both bad),
    falling with `income`, higher for renters, one free-text and one id column."""
    rng = np.random.default_rng(seed)
    utilisation = rng.uniform(0, 100, rows).round(1)
    income = rng.lognormal(10.8, 0.5, rows).round(0)
    home = rng.choice(["own", "rent", "mortgage"], rows, p=[0.3, 0.4, 0.3])
    logit = (-2.2 + 2.2 * ((utilisation - 50) / 50) ** 2 - 0.9 * np.log(income / 50_000)
             + 0.6 * (home == "rent"))  # fmt: skip
    defaulted = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "loan_ref": np.arange(10_000, 10_000 + rows),
            "utilisation": utilisation,
            "income": income,
            "home": home,
            "comment": [f"note {i}" for i in range(rows)],
            "issued": np.repeat(["2024-01", "2024-02", "2024-03", "2024-04"], rows // 4),
            "defaulted": defaulted,
        }
    )


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("own-book")
    loan_book().to_csv(directory / "book.csv", index=False)
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--data",
            str(directory / "book.csv"),
            "--target",
            "defaulted",
            "--time",
            "issued",
            "--out",
            str(directory / "model"),
            "--no-compare",
            "--no-cache",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    (artifact,) = (directory / "model").glob("model-*.json")
    card = json.loads((directory / "model" / "model_card.json").read_text())
    return artifact, card


def test_the_schema_is_inferred_and_the_u_shape_is_kept(own_model):
    artifact, card = own_model
    model = load_model(artifact)
    assert set(model.schema.names) == {"utilisation", "income", "home"}  # id, text, time, target left out
    assert model.schema.by_name["home"].choices == ("mortgage", "own", "rent")
    excluded = card["metrics"]["dataset"]["excluded_columns"]
    assert "identifier" in excluded["loan_ref"] and "free text" in excluded["comment"]
    assert (
        card["metrics"]["split"]["kind"] == "out-of-time"
        and card["metrics"]["split"]["holdout_from"] == "2024-04-01"
    )
    trend = {row["feature"]: row["trend"] for row in card["metrics"]["choices"]["trends"]}
    assert trend["utilisation"] == "valley" and trend["income"] == "monotonic"
    assert "utilisation" in model.input_fields and card["metrics"]["holdout"]["auc"] > 0.65
    middle, edge = (model.score({"utilisation": u, "income": 50_000.0, "home": "own"}) for u in (50.0, 98.0))
    assert middle.score > edge.score and edge.reasons[0] == "utilisation"


def test_the_oracle_service_loads_the_artifact_and_enforces_its_schema(own_model, tmp_path):
    artifact, _ = own_model
    settings = settings_for("http://unused", tmp_path, tmp_path / "oracle.db", artifact)
    scorer = load_scorer(settings)
    engine = store.make_engine(settings.db_url)
    chain = SimpleNamespace(chain_id=31337, oracle=SimpleNamespace(address="0x" + "00" * 19 + "01"))
    client = TestClient(create_app(Runtime(settings=settings, chain=chain, engine=engine, scorer=scorer)))

    assert client.get("/signing").json()["fields"] == ["utilisation", "income", "home"]
    good = {"utilisation": 35.5, "income": 61_000, "home": "rent"}
    response = client.post("/applications", json=signed_payload(APPLICANT, good, nonce=1))
    assert response.status_code == 201, response.text
    scored = scorer.score(APPLICANT.address, store_fields(engine, APPLICANT.address), BorrowerHistory())
    assert 300 <= scored.score <= 850 and scored.model_id == load_model(artifact).model_id

    for nonce, (bad, words) in enumerate(
        [
            ({**good, "home": "boat"}, "home: 'boat' is not allowed; expected one of mortgage, own, rent"),
            ({**good, "utilisation": 1_000.0}, "utilisation: 1000.0 is outside the allowed range"),
            ({**good, "loan_ref": 7}, "loan_ref: unknown field"),
            ({"utilisation": 35.5, "home": "own"}, "income: missing"),
        ],
        start=2,
    ):
        response = client.post("/applications", json=signed_payload(APPLICANT, bad, nonce=nonce))
        assert response.status_code == 422, response.text
        assert words in response.json()["detail"]
    engine.dispose()


def store_fields(engine, address: str) -> dict:
    with store.session(engine) as db:
        return db.get(store.Application, address).fields


def _stored(db_url: str, applications: list[dict]) -> None:
    engine = store.make_engine(db_url)
    with store.session(engine) as db:
        for i, fields in enumerate(applications):
            db.add(store.Application(address=f"0x{i:040x}", fields_json=json.dumps(fields), fields_hash="0x",
                                     nonce=1, issued_at=0, scheme="eip712"))  # fmt: skip
    engine.dispose()


def test_monitor_warns_when_live_applications_drift(own_model, tmp_path):
    artifact, _ = own_model
    book = loan_book(rows=400, seed=9)
    like_training = [
        {"utilisation": float(r.utilisation), "income": float(r.income), "home": r.home}
        for r in book.itertuples()
    ]
    _stored(f"sqlite:///{tmp_path / 'same.db'}", like_training)
    same = CliRunner().invoke(
        main, ["monitor", "--model", str(artifact), "--db-url", f"sqlite:///{tmp_path / 'same.db'}"]
    )
    assert same.exit_code == 0, same.output
    assert json.loads(same.output)["applications"] == 400 and json.loads(same.output)["psi"] < 0.1

    shifted = [
        dict(a, utilisation=min(100.0, 90 + a["utilisation"] / 10), home="rent") for a in like_training
    ]
    _stored(f"sqlite:///{tmp_path / 'shifted.db'}", shifted)
    moved = CliRunner().invoke(
        main, ["monitor", "--model", str(artifact), "--db-url", f"sqlite:///{tmp_path / 'shifted.db'}"]
    )
    assert moved.exit_code == 1
    assert (
        "warning: PSI" in moved.output and json.loads(moved.output.split("warning")[0])["status"] == "shifted"
    )


def test_train_data_errors_are_one_readable_line(tmp_path):
    loan_book(rows=40).to_csv(tmp_path / "book.csv", index=False)
    runner = CliRunner()
    for args, words in (
        (["--data", str(tmp_path / "book.csv")], "--data needs --target"),
        (["--data", str(tmp_path / "book.csv"), "--target", "home"], "name the bad value"),
        (["--data", str(tmp_path / "missing.csv"), "--target", "x"], "no such file"),
        (["--target", "defaulted"], "need --data"),
    ):
        result = runner.invoke(main, ["train", *args, "--no-compare", "--no-cache", "--out", str(tmp_path)])
        assert result.exit_code != 0 and words in result.output, result.output
        assert "Traceback" not in result.output and result.output.strip().count("\n") == 0
