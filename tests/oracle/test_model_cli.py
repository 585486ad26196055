"""`peerlend-oracle train` and `score-application` through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from oracle.cli import main
from tests.oracle.model_support import TYPICAL


def test_cli_is_a_group_with_the_model_commands():
    assert {"train", "score-application", "monitor"} <= set(main.commands)
    train = {p.name for p in main.commands["train"].params}
    assert {"data", "target", "bad_value", "features", "time_column"} <= train


def test_score_application_prints_json(trained_model, credit_model, tmp_path):
    path = tmp_path / "app.json"
    path.write_text(json.dumps(TYPICAL))
    result = CliRunner().invoke(
        main, ["score-application", "--model", str(trained_model.artifact), "--json", str(path)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    expected = credit_model.score(TYPICAL)
    assert out == {
        "score": expected.score,
        "grade": expected.grade,
        "pd": expected.pd,
        "reasons": expected.reasons,
        "model_id": trained_model.model_id,
    }


def test_score_application_with_a_default_is_ineligible(trained_model, tmp_path):
    path = tmp_path / "app.json"
    path.write_text(json.dumps(TYPICAL))
    args = [
        "score-application",
        "--model",
        str(trained_model.artifact),
        "--json",
        str(path),
        "--defaults",
        "1",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["grade"] == 0 and out["score"] < 500 and out["reasons"][0] == "peerlend_default"


def test_score_application_rejects_bad_input_in_one_line(trained_model, tmp_path):
    runner = CliRunner()
    bad_field = tmp_path / "bad.json"
    bad_field.write_text(json.dumps(dict(TYPICAL, inq_last_6mths=-2)))
    result = runner.invoke(
        main, ["score-application", "--model", str(trained_model.artifact), "--json", str(bad_field)]
    )
    assert result.exit_code != 0
    assert result.output.strip().count("\n") == 0
    assert "inq_last_6mths" in result.output and "Traceback" not in result.output

    not_json = tmp_path / "broken.json"
    not_json.write_text("{ nope")
    result = runner.invoke(
        main, ["score-application", "--model", str(trained_model.artifact), "--json", str(not_json)]
    )
    assert result.exit_code != 0 and "not valid JSON" in result.output
    assert result.output.strip().count("\n") == 0

    missing_model = runner.invoke(
        main, ["score-application", "--model", str(tmp_path / "nope"), "--json", str(not_json)]
    )
    assert missing_model.exit_code != 0
