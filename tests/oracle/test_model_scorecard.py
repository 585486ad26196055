"""Scorecard building blocks: binning extraction, WOE, indicator and line codings, scaling,
grades, calibration tables, PSI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from oracle.model import scorecard as scorecard_module
from oracle.model.data import load_lending_club
from oracle.model.evaluate import discrimination, ks_statistic
from oracle.model.scorecard import (
    GRADE_THRESHOLDS,
    INDICATOR,
    INDICATOR_LINE,
    LINE,
    WOE,
    Scaling,
    Scorecard,
    ScorecardConfig,
    _extract_bins,
    brier,
    fit_line,
    fit_scorecard,
    grade_of,
    grades_of,
    psi,
    reliability_table,
    round_score,
)


def test_grades_match_the_contract_thresholds():
    assert GRADE_THRESHOLDS == (740, 680, 620, 560, 500)
    cases = {850: 1, 740: 1, 739: 2, 680: 2, 679: 3, 620: 3, 619: 4, 560: 4, 559: 5, 500: 5, 499: 0, 300: 0}
    for score, grade in cases.items():
        assert grade_of(score) == grade, score
    assert grades_of(np.array(list(cases))).tolist() == list(cases.values())


def test_scaling_anchor_and_pdo():
    scaling = Scaling()  # 680 at 20:1, PDO 60
    assert scaling.pd_at(680) == pytest.approx(1 / 21)
    assert scaling.pd_at(740) == pytest.approx(1 / 41)  # 60 points double the odds
    assert scaling.pd_at(620) == pytest.approx(1 / 11)
    assert scaling.pd_at(500) == pytest.approx(1 / 3.5)


def test_fitted_scaling_puts_the_grade_bands_on_the_training_pds():
    from oracle.model.grading import A_SHARE, INELIGIBLE_SHARE, fit_scaling, pd_bands

    rng = np.random.default_rng(3)
    pds = 1 / (1 + np.exp(-rng.normal(-1.0, 1.0, 20_000)))  # a high-risk book, like German Credit
    scaling = fit_scaling(pds)
    scores = round_score(scaling.score_at(pds))
    grades = grades_of(scores)
    assert np.mean(grades == 1) == pytest.approx(A_SHARE, abs=0.02)
    ineligible = min(INELIGIBLE_SHARE, float(np.mean(pds > 0.5)))
    assert np.mean(grades == 0) >= ineligible - 0.02
    bands = pd_bands(scaling)
    assert bands[4]["pd_max"] <= 0.5 + 1e-3  # never lend to PD above one half
    for grade in range(1, 6):  # each grade's PDs lie in its band
        inside = pds[grades == grade]
        band = bands[grade - 1]
        assert inside.min() >= band["pd_min"] - 1e-3 and inside.max() <= band["pd_max"] + 1e-3


def test_the_jeffreys_interval_matches_its_beta_quantiles_and_its_edge_conventions():
    from oracle.model.grading import jeffreys_interval

    low, high = jeffreys_interval(25, 184)
    # the Beta(25.5, 159.5) distribution, integrated numerically: 2.5 % below, 2.5 % above
    a, b = 25.5, 159.5
    grid = np.linspace(1e-9, 1 - 1e-9, 400_001)
    log_density = (
        (a - 1) * np.log(grid)
        + (b - 1) * np.log1p(-grid)
        - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    )
    cdf = np.cumsum(np.exp(log_density)) * (grid[1] - grid[0])
    assert np.interp([low, high], grid, cdf) == pytest.approx([0.025, 0.975], abs=1e-4)
    assert jeffreys_interval(0, 50)[0] == 0.0 and 0 < jeffreys_interval(0, 50)[1] < 0.05
    assert jeffreys_interval(50, 50)[1] == 1.0
    assert jeffreys_interval(250, 10_000, confidence=0.99)[1] > jeffreys_interval(250, 10_000)[1]


def test_a_grade_table_judges_a_bad_rate_against_its_band_with_its_sampling_error():
    from oracle.model.grading import grade_table

    bands = [
        {"grade": "A", "number": 1, "pd_min": 0.0, "pd_max": 0.10},
        {"grade": "B", "number": 2, "pd_min": 0.10, "pd_max": 0.20},
    ]
    # grade A (score 800): 200 loans, 24 bad: 12 % is above its band, but 200 loans cannot tell
    # 12 % from 10 %; grade B (score 700): 4,000 loans, 1,000 bad: 25 % is far above its band
    scores = np.array([800] * 200 + [700] * 4_000)
    y = np.array([1] * 24 + [0] * 176 + [1] * 1_000 + [0] * 3_000)
    rows = {r["grade"]: r for r in grade_table(y, scores, np.full(len(y), 0.1), bands)}
    assert rows["A"]["bad_rate"] == 0.12 and rows["A"]["in_band"] is False and rows["A"]["consistent"] is True
    assert (
        rows["B"]["bad_rate"] == 0.25 and rows["B"]["in_band"] is False and rows["B"]["consistent"] is False
    )
    assert rows["B"]["bad_rate_interval"] == "23.68%–26.36%"


def test_sig_rounds_to_six_significant_digits():
    from oracle.model.scorecard import sig

    assert sig(0.123456789) == 0.123457 and sig(-98765.4321) == -98765.4 and sig(0.0) == 0.0
    assert sig(1.0000000000000002) == 1.0  # last-bit noise disappears


def test_round_score_rounds_half_up_and_clips():
    assert round_score(np.array([699.5, 699.49, -1e9, 1e9, 300.0])).tolist() == [700, 699, 300, 850, 300]


def test_extracted_bins_reproduce_optbinning_woe():
    """Our table lookup gives the same WOE as optbinning's own transform, missing values included."""
    from optbinning import BinningProcess

    ds = load_lending_club()
    X, y = ds.X.iloc[:4000], ds.y[:4000]
    names = ["emp_length", "all_util", "term", "open_il_12m"]
    process = BinningProcess(names, categorical_variables=["term"]).fit(X[names], y)
    expected = process.transform(X[names], metric="woe", metric_missing="empirical")
    assert X["emp_length"].isna().any()
    for name in names:
        kind = "categorical" if name == "term" else "numerical"
        bins = _extract_bins(process.get_binned_variable(name), name, kind)
        np.testing.assert_allclose(bins.woe_of(X[name]), expected[name].to_numpy(), rtol=1e-12, atol=1e-12)
    # a category never seen in training falls in "Missing"
    term = _extract_bins(process.get_binned_variable("term"), "term", "categorical")
    assert term.bin_index(np.array(["term_48"], dtype=object)).tolist() == [term.n_bins]


def test_brier_and_reliability_table():
    y = np.array([0, 0, 1, 1])
    assert brier(np.array([0.0, 0.0, 1.0, 1.0]), y) == 0.0
    assert brier(np.array([0.5] * 4), y) == 0.25
    rng = np.random.default_rng(0)
    pd_ = rng.uniform(0, 0.3, 1_000)
    outcome = (rng.uniform(size=1_000) < pd_).astype(int)
    table = reliability_table(pd_, outcome)
    assert len(table) == 10 and sum(r["n"] for r in table) == 1_000
    assert [r["mean_pd"] for r in table] == sorted(r["mean_pd"] for r in table)
    assert sum(r["n_bad"] for r in table) == outcome.sum()


def test_ks_and_gini_on_known_separations():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert ks_statistic(y, np.array([1, 2, 3, 4, 5, 6])) == 1.0
    perfect = discrimination(y, np.array([1, 2, 3, 4, 5, 6]))
    assert perfect == {"auc": 1.0, "ks": 1.0, "gini": 1.0}
    assert discrimination(y, np.array([1, 4, 2, 5, 3, 6]))["gini"] == pytest.approx(2 * (8 / 9) - 1, abs=1e-4)


def test_psi_is_zero_for_the_same_population_and_large_for_a_shift():
    rng = np.random.default_rng(1)
    base = rng.normal(680, 50, 5_000).round()
    assert psi(base, base) == pytest.approx(0.0, abs=1e-12)
    assert psi(base, rng.normal(680, 50, 5_000).round()) < 0.02
    assert psi(base, rng.normal(620, 50, 5_000).round()) > 0.25
    with pytest.raises(ValueError):
        psi(base, np.array([]))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.integers(300, 850), min_size=20, max_size=200),
    st.lists(st.integers(300, 850), min_size=20, max_size=200),
)
def test_psi_is_never_negative(expected, actual):
    assert psi(np.array(expected), np.array(actual)) >= 0.0


def _conditional_book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """`b` follows `a`, so on its own a higher `b` looks riskier; given `a`, it is safer."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + rng.normal(size=n)
    logit = -1.5 + 1.5 * a - 1.2 * (b - a)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"a": a, "b": b}), y


def test_indicator_coding_keeps_an_effect_that_holds_only_given_the_other_features():
    """The WOE coding can only scale b's univariate WOE, whose sign says the opposite of its
    effect given a, so it drops b; one weight per bin fits b's bins given a's."""
    X, y = _conditional_book(6000, seed=1)
    X_new, y_new = _conditional_book(6000, seed=2)
    trends = {"a": "auto_asc_desc", "b": "auto_asc_desc"}
    config = ScorecardConfig()
    woe, woe_dropped = fit_scorecard(X, y, (), ["a", "b"], trends, 1.0, config, WOE)
    indicator, _ = fit_scorecard(X, y, (), ["a", "b"], trends, 1.0, config, INDICATOR)
    assert woe.feature_names == ["a"] and "b" in woe_dropped
    assert indicator.feature_names == ["a", "b"] and indicator.coding == INDICATOR
    b = indicator.features[1]
    populated = [j for j, c in enumerate(b.count) if c > 0 and j < b.n_bins]
    assert np.all(np.diff(np.asarray(b.bad_rate)[populated]) > 0)  # on its own: riskier as b rises
    assert np.all(np.diff(indicator.bin_points(1)[populated]) > 0)  # given a: more points
    auc = {c.coding: roc_auc_score(y_new, c.raw_logit(X_new)) for c in (woe, indicator)}
    assert auc[INDICATOR] > auc[WOE] + 0.02


def test_an_indicator_card_round_trips_through_plain_values():
    X, y = _conditional_book(3000, seed=3)
    card, _ = fit_scorecard(X, y, (), ["a", "b"], {}, 0.3, ScorecardConfig(), INDICATOR)
    card = card.calibrated(0.1, 0.9).scaled(Scaling(pdo=50, anchor_score=700, anchor_odds=30))
    assert all(float(f"{w:.6g}") == w for ws in card.bin_weights for w in ws)
    plain = card.to_dict()
    assert plain["coding"] == INDICATOR and plain["coefficients"] == []
    again = Scorecard.from_dict(plain, card.scaling)
    assert again == card
    np.testing.assert_array_equal(again.score(X), card.score(X))
    # a missing value falls in the (empty) Missing bin, whose weight is 0
    missing = pd.DataFrame({"a": [np.nan], "b": [0.0]})
    assert card.bin_logit(0)[card.features[0].n_bins] == 0
    assert np.isfinite(card.raw_logit(missing)).all()


def _sloped_book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Few bad loans, risk a straight line in a count (and an outlier tail the clip must tame)."""
    rng = np.random.default_rng(seed)
    count = rng.poisson(3.0, n).astype(float)
    count[rng.random(n) < 0.05] = np.nan
    count[:5] = 500.0  # outliers far above the 99th percentile
    noise = rng.normal(size=n)
    logit = -4.5 + 0.35 * np.nan_to_num(np.minimum(count, 12.0), nan=3.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"count": count, "noise": noise}), y


def test_a_line_card_scores_straight_within_its_clip_bounds_and_round_trips():
    X, y = _sloped_book(8000, seed=4)
    card, _ = fit_scorecard(X, y, (), ["count", "noise"], {}, 0.3, ScorecardConfig(), LINE)
    card = card.calibrated(0.0, 1.0).scaled(Scaling())
    count = card.features[0]
    assert card.coding == LINE and count.n_bins == 1 and count.splits == ()
    low, high, center, scale = count.line
    assert high < 500 and low >= 0  # clipped at the 1st/99th percentiles, not at the outliers
    assert count.line_transform == ""  # a Poisson count, once clipped, is not highly skewed
    per_z = card.line_points_per_z(0)
    assert per_z < 0  # more accounts, fewer points
    grid = pd.DataFrame({"count": [low, low + 1, low + 2, high, high + 100], "noise": 0.0})
    points = card.feature_points(grid)[:, 0]
    np.testing.assert_allclose(np.diff(points[:3]), per_z / scale, rtol=1e-9)  # straight
    assert points[3] == points[4]  # clipped above
    missing = card.feature_points(pd.DataFrame({"count": [np.nan], "noise": [0.0]}))[0, 0]
    assert missing == pytest.approx(card.bin_points(0)[count.n_bins])  # Missing: its bin, z = 0
    assert card.best_points(0) == pytest.approx(max(float(points[0]), missing))
    # the low end scores best: a row there is never told that its count cost it points
    assert "count" not in card.reasons(pd.DataFrame({"count": [low], "noise": [0.0]}))[0]
    assert card.reasons(pd.DataFrame({"count": [high], "noise": [0.0]}))[0][0] == "count"
    plain = card.to_dict()
    assert plain["coding"] == LINE and len(plain["line_weights"]) == 2
    again = Scorecard.from_dict(plain, card.scaling)
    assert again == card
    np.testing.assert_array_equal(again.score(X), card.score(X))
    assert all(float(f"{v:.6g}") == v for f in card.features for v in f.line)


def test_bins_and_lines_together_keep_both_shapes():
    """A U in one feature and a slope in another: the line alone misses the U, the bins alone
    need several weights for the slope; bins plus lines hold both on new data."""
    rng = np.random.default_rng(5)

    def book(n: int) -> tuple[pd.DataFrame, np.ndarray]:
        u, s = rng.uniform(-2, 2, n), rng.uniform(0, 10, n)
        logit = -2.5 + 0.8 * u**2 + 0.25 * s
        return pd.DataFrame({"u": u, "s": s}), (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

    X, y = book(8000)
    X_new, y_new = book(8000)
    trends = {"u": "valley_heuristic", "s": "auto_asc_desc"}
    fitted = {c: fit_scorecard(X, y, (), ["u", "s"], trends, 1.0, ScorecardConfig(), c)[0]
              for c in (LINE, INDICATOR_LINE)}  # fmt: skip
    auc = {c: roc_auc_score(y_new, card.raw_logit(X_new)) for c, card in fitted.items()}
    assert auc[INDICATOR_LINE] > auc[LINE] + 0.05
    both = fitted[INDICATOR_LINE]
    assert both.features[0].n_bins > 1 and both.features[0].line and both.features[1].line
    ends = both.feature_points(pd.DataFrame({"u": [-1.9, 0.0, 1.9, 0.0], "s": [5.0, 5.0, 5.0, 9.5]}))
    assert ends[1, 0] > max(ends[0, 0], ends[2, 0])  # the U: the middle of u scores best
    assert ends[3, 1] < ends[1, 1]  # the slope: more s, fewer points


def _log_sloped_book(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises with the logarithm of a right-skewed amount (each doubling adds the same) and
    straight with a score-like number."""
    rng = np.random.default_rng(seed)
    amount = np.floor(rng.lognormal(mean=6.0, sigma=1.5, size=n))
    other = rng.uniform(0.0, 10.0, n)
    logit = -7.0 + 0.55 * np.log1p(amount) + 0.15 * other
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"amount": amount, "other": other}), y


def test_a_skewed_amount_gets_a_line_in_its_logarithm_that_scores_better_and_round_trips(monkeypatch):
    X, y = _log_sloped_book(8000, seed=6)
    X_new, y_new = _log_sloped_book(8000, seed=7)
    card, _ = fit_scorecard(X, y, (), ["amount", "other"], {}, 1.0, ScorecardConfig(), LINE)
    card = card.calibrated(0.0, 1.0).scaled(Scaling())
    amount = card.features[0]
    assert amount.line_transform == "log1p"
    low, high, _, scale = amount.line
    # straight in ln(1 + x): equal points for each step of ln(1 + x), clipped at both ends
    grid = np.array([low, 100.0, 1000.0, high, high * 10])
    points = card.feature_points(pd.DataFrame({"amount": grid, "other": 5.0}))[:, 0]
    per_log = card.line_points_per_z(0) / scale
    np.testing.assert_allclose(np.diff(points[:4]), per_log * np.diff(np.log1p(grid[:4])), rtol=1e-9)
    assert points[3] == points[4] and per_log < 0
    assert "ln(1 + x)" in [r for r in card.points_table() if r["feature"] == "amount"][-1]["bin"]
    again = Scorecard.from_dict(card.to_dict(), card.scaling)
    assert again == card and again.features[0].line_transform == "log1p"
    np.testing.assert_array_equal(again.score(X_new), card.score(X_new))
    # the same book with the rule switched off: a line in x, set by the long tail, ranks worse
    monkeypatch.setattr(scorecard_module, "LOG_LINE_SKEWNESS", math.inf)
    straight, _ = fit_scorecard(X, y, (), ["amount", "other"], {}, 1.0, ScorecardConfig(), LINE)
    assert straight.features[0].line_transform == ""
    log_auc, straight_auc = (roc_auc_score(y_new, c.raw_logit(X_new)) for c in (card, straight))
    assert log_auc > straight_auc + 0.02


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.random.default_rng(1).normal(0.0, 1.0, 2000), "negative values"),
        (np.random.default_rng(2).uniform(0.0, 100.0, 2000), "not skewed"),
        (np.where(np.random.default_rng(3).random(2000) < 0.05, 1.0, 0.0), "two values"),
    ],
)
def test_a_line_stays_in_x_unless_the_values_are_non_negative_many_and_highly_skewed(values, why):
    line, transform = fit_line(pd.Series(values))
    assert line and transform == "", why
