"""The data-dependent modelling choices, all made on cross-validation inside the training part.

:func:`decide` takes the training part and its folds and returns :class:`Decisions`:

1. **Trend per numerical feature.** In each fold the feature is binned on the fitting part three
   ways — monotonic (``auto_asc_desc``), single ``peak``, single ``valley``. A peak or valley is
   kept only if swapping it for the monotonic binning raises the out-of-fold AUC of the
   regression on all features (WOE, ``selection_C``) in at least ``min_trend_wins`` folds
   (every one of the 5); otherwise the feature stays monotonic. A U-shaped feature keeps its
   signal; noise that happens to wiggle does not get a wiggly binning, and neither does a shape
   that only wins on its own because it re-expresses another feature (lending_club's loan
   amount "valley" beat monotonic univariately in 5 of 5 folds and lowered the scorecard's AUC).
   Every fold, because a shape fitted to noise still wins a fold often (the regression's AUC
   moves up or down by chance, and each feature gets two tries, peak and valley): with 4 of 5,
   14 of 80 pure-noise features got a shape (one in six; loans_full_schema got 4 to 7 shaped
   features per fit, which its bins then paid for out of fold); with all 5, 1 of 80. The
   univariate AUC of each binning is reported for reference.
2. **Features by stability.** In each fold, features with IV >= ``min_iv`` on the fitting part
   enter a regression (``selection_C``) that drops features with a coefficient against their WOE; a feature is
   kept if that per-fold selection picked it in at least ``min_selection_share`` of the folds
   (3 of 5), not because one draw put it just above the IV cut-off.
   These are the WOE coding's features; the indicator coding takes every candidate with two or
   more populated bins and leaves the weak ones to the penalty (selecting them by WOE sign would
   drop exactly the features whose effect shows only given the others).
3. **Coding and regularisation**: every (coding, ``C``) of ``codings`` x ``C_grid`` is fitted per
   fold on the fitting part (binned there) and scored by its out-of-fold deviance — a proper
   score, steadier than AUC on a few hundred bad loans. The codings are numbers as lines
   (continuous characteristics), as bins, or as bins plus lines. A coding richer than the
   simplest is a candidate only if, each at its lowest-deviance ``C``, it beat the simplest in
   at least ``min_coding_wins`` folds (every one of the 5), as a peak or valley must
   (:func:`choose_coding`). The choice among the candidates is the **one-standard-error
   rule**: the simplest (coding in the order of :data:`~oracle.model.scorecard.CODINGS`, then
   the stronger penalty) whose deviance is within one standard error of the lowest, the error
   taken over the rows' paired deviance differences. On a few hundred bad loans several
   candidates are within noise of each other, and the simpler one generalises better:
   supervised bins fitted to ~100 bad loans chase noise where the truth is a slope, while on
   richer data the bins' gain exceeds the noise in every fold and they stay. The rows' error
   alone is not enough: the rows of one validation part share one fit, so a pooled gain can
   come from a fold or two (on 16 synthetic books whose risk is smooth in the log of a few
   counts, with ~85 bad loans each, the rule alone gave 3 of them bins; with every fold, 1).

The out-of-fold logits of step 3's choice are returned too: the pipeline fits the Platt
calibration and the score scaling on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from oracle.model.scorecard import (
    CODINGS,
    WOE,
    FeatureBins,
    ScorecardConfig,
    bin_feature,
    coded_feature,
    fit_coded,
    fit_signed,
)

MONOTONIC = "auto_asc_desc"
SHAPED = ("peak_heuristic", "valley_heuristic")

TREND_NAMES = {MONOTONIC: "monotonic", "peak_heuristic": "peak", "valley_heuristic": "valley"}

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Decisions:
    trends: dict[str, str]  # numerical feature -> monotonic_trend
    features: tuple[str, ...]  # kept, in candidate order
    C: float
    coding: str  # one of scorecard.CODINGS
    oof_logit: np.ndarray  # out-of-fold raw logits of the training part (step 3, chosen C)
    report: dict[str, Any]


def _deviance(y: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """Deviance of each row's raw logit (half the binomial deviance: the log loss)."""
    return np.logaddexp(0.0, logit) - y * logit


def one_standard_error(deviance: dict[Any, np.ndarray], order: Sequence[Any]) -> tuple[Any, dict[Any, float]]:
    """The first candidate of ``order`` (simplest first) whose mean deviance exceeds the lowest
    by at most one standard error of the rows' paired differences; and, per candidate, that
    excess in standard errors (0 for the best)."""
    best = min(order, key=lambda key: (float(np.mean(deviance[key])), order.index(key)))
    excess = {}
    for key in order:
        diff = deviance[key] - deviance[best]
        gap = float(np.mean(diff))
        se = float(np.std(diff, ddof=1) / np.sqrt(len(diff)))
        excess[key] = gap / se if se > 0 else (np.inf if gap > 0 else 0.0)
    chosen = next(key for key in order if excess[key] <= 1.0)
    return chosen, excess


def coding_wins(deviance: Mapping[tuple[str, float], np.ndarray], order: Sequence[tuple[str, float]],
                folds: Folds) -> dict[str, int]:  # fmt: skip
    """Per coding of the (coding, ``C``) candidates in ``order`` (simplest coding first): the
    folds in which that coding, at its lowest-deviance ``C``, had a lower mean out-of-fold
    deviance on the fold's validation rows than the simplest coding at its own; the simplest
    counts every fold."""
    codings = list(dict.fromkeys(key[0] for key in order))

    def best(coding: str) -> np.ndarray:
        return min((deviance[key] for key in order if key[0] == coding), key=lambda d: float(np.mean(d)))

    base = best(codings[0])
    wins = {codings[0]: len(folds)}
    for coding in codings[1:]:
        rows = best(coding)
        wins[coding] = sum(float(np.mean(rows[val])) < float(np.mean(base[val])) for _, val in folds)
    return wins


def choose_coding(
    deviance: Mapping[tuple[str, float], np.ndarray], order: Sequence[tuple[str, float]], folds: Folds,
    min_wins: int,
) -> tuple[tuple[str, float], dict[tuple[str, float], float], dict[str, int]]:  # fmt: skip
    """The (coding, ``C``) to fit: the one-standard-error rule among the candidates whose coding
    is the simplest or beat it in at least ``min_wins`` folds (:func:`coding_wins`); with each
    candidate's excess over the best of them in standard errors (only the candidates have one)
    and the wins."""
    wins = coding_wins(deviance, order, folds)
    eligible = [key for key in order if wins[key[0]] >= min_wins]
    chosen, excess = one_standard_error(deviance, eligible)
    return chosen, excess, wins


def _auc(y: np.ndarray, risk: np.ndarray) -> float:
    if len(np.unique(y)) < 2:
        return 0.5
    return float(roc_auc_score(y, risk))


def decide(
    X: pd.DataFrame, y: np.ndarray, categorical: Sequence[str], folds: Folds, config: ScorecardConfig
) -> Decisions:
    names = list(X.columns)
    categorical = set(categorical)
    kind = {n: "categorical" if n in categorical else "numerical" for n in names}
    y = np.asarray(y)
    # bins[(fold, name, trend)] -> FeatureBins fitted on that fold's fitting part
    bins: dict[tuple[int, str, str], FeatureBins] = {}

    def binned(k: int, name: str, trend: str) -> FeatureBins:
        key = (k, name, trend if kind[name] == "numerical" else "")
        if key not in bins:
            fit = folds[k][0]
            bins[key] = bin_feature(X[name].iloc[fit], y[fit], name, kind[name], trend, config)
        return bins[key]

    # coded[(fold, name, coding)] -> the feature as that coding sees it, on that fold's fitting part
    coded_bins: dict[tuple[int, str, str], FeatureBins] = {}

    def coded(k: int, name: str, coding: str) -> FeatureBins:
        key = (k, name, coding)
        if key not in coded_bins:
            fit, trend = folds[k][0], trends.get(name, "")
            coded_bins[key] = coded_feature(X[name].iloc[fit], y[fit], name, kind[name], trend, config, coding,
                                            binning=lambda: binned(k, name, trend))  # fmt: skip
        return coded_bins[key]

    # 1. trends: the univariate out-of-fold AUC of each binning is reported; the choice is made
    # on the regression, because a shape that wins on its own may only re-express what other
    # features already say (a larger loan is also a longer term).
    def regression_auc(k: int, fold_bins: list[FeatureBins]) -> float:
        fit, val = folds[k]
        candidates = [b for b in fold_bins if b.iv >= config.min_iv]
        kept, coef, intercept, _ = fit_signed(candidates, X.iloc[fit], y[fit], config.selection_C)
        if not kept:
            return 0.5
        woe = np.column_stack([b.woe_of(X[b.name].iloc[val]) for b in kept])
        return _auc(y[val], intercept + woe @ coef)

    monotonic_bins = [[binned(k, n, MONOTONIC) for n in names] for k in range(len(folds))]
    base_auc = [regression_auc(k, monotonic_bins[k]) for k in range(len(folds))]
    trends: dict[str, str] = {}
    trend_rows = []
    for j, name in enumerate(names):
        if kind[name] != "numerical":
            continue
        auc = {t: [] for t in (MONOTONIC, *SHAPED)}
        for k, (_, val) in enumerate(folds):
            for t in auc:
                auc[t].append(_auc(y[val], -binned(k, name, t).woe_of(X[name].iloc[val])))
        wins = {t: 0 for t in SHAPED}
        for t in SHAPED:
            for k in range(len(folds)):
                shaped = binned(k, name, t)
                if shaped.splits == monotonic_bins[k][j].splits:
                    continue  # the same bins: no evidence either way
                swapped = [*monotonic_bins[k][:j], shaped, *monotonic_bins[k][j + 1 :]]
                wins[t] += regression_auc(k, swapped) > base_auc[k]
        best = max(SHAPED, key=lambda t: (wins[t], float(np.mean(auc[t]))))
        chosen = best if wins[best] >= config.min_trend_wins else MONOTONIC
        trends[name] = chosen
        trend_rows.append(
            {
                "feature": name,
                "auc_monotonic": round(float(np.mean(auc[MONOTONIC])), 4),
                "auc_peak": round(float(np.mean(auc["peak_heuristic"])), 4),
                "auc_valley": round(float(np.mean(auc["valley_heuristic"])), 4),
                "folds_peak_wins": wins["peak_heuristic"],
                "folds_valley_wins": wins["valley_heuristic"],
                "trend": TREND_NAMES[chosen],
            }
        )

    # 2. features by selection frequency
    picked = {name: 0 for name in names}
    iv_sum = {name: 0.0 for name in names}
    for k, (fit, _) in enumerate(folds):
        fold_bins = [binned(k, n, trends.get(n, "")) for n in names]
        for b in fold_bins:
            iv_sum[b.name] += b.iv
        candidates = [b for b in fold_bins if b.iv >= config.min_iv]
        kept, *_ = fit_signed(candidates, X.iloc[fit], y[fit], config.selection_C)
        for b in kept:
            picked[b.name] += 1
    need = config.min_selection_share * len(folds)
    features = tuple(n for n in names if picked[n] >= need - 1e-9)
    if not features:
        raise ValueError("no feature was selected in enough cross-validation folds")

    # 3. coding and C by the one-standard-error rule, and the out-of-fold logits of that choice
    coded_features = {coding: tuple(names) for coding in CODINGS}
    coded_features[WOE] = features
    results: dict[tuple[str, float], tuple[float, np.ndarray]] = {}
    deviance: dict[tuple[str, float], np.ndarray] = {}
    for coding in config.codings:
        for C in config.C_grid:
            oof = np.zeros(len(y))
            fold_auc = []
            for k, (fit, val) in enumerate(folds):
                fold_bins = [coded(k, n, coding) for n in coded_features[coding]]
                card, _ = fit_coded(fold_bins, X.iloc[fit], y[fit], C, coding)
                oof[val] = card.raw_logit(X.iloc[val]) if card.features else 0.0
                fold_auc.append(_auc(y[val], oof[val]))
            results[coding, C] = (float(np.mean(fold_auc)), oof)
            deviance[coding, C] = _deviance(y, oof)
    order = sorted(results, key=lambda key: (CODINGS.index(key[0]), key[1]))
    (coding, C), excess, wins = choose_coding(deviance, order, folds, config.min_coding_wins)

    report = {
        "folds": len(folds),
        "trends": trend_rows,
        "selection": [
            {
                "feature": n,
                "mean_iv": round(iv_sum[n] / len(folds), 4),
                "folds_selected": picked[n],
                "kept": n in features,
            }
            for n in names
        ],
        "min_selection_folds": int(np.ceil(need - 1e-9)),
        "min_trend_wins": config.min_trend_wins,
        "min_coding_wins": config.min_coding_wins,
        # a list, not a mapping: the simplest coding first, in any JSON key order
        "coding_wins": [{"coding": c, "folds_won": n} for c, n in wins.items()],
        "C_grid": [
            {
                "coding": key[0],
                "C": key[1],
                "cv_log_loss": round(float(np.mean(deviance[key])), 5),
                "candidate": key in excess,
                # JSON has no infinity (a constant gap); a coding left out has no distance at all
                "se_above_best": round(min(excess[key], 999.0), 2) if key in excess else None,
                "cv_auc": round(results[key][0], 4),
                "chosen": key == (coding, C),
            }
            for key in order
        ],
        "coding": coding,
    }
    return Decisions(
        trends=trends,
        features=coded_features[coding],
        C=C,
        coding=coding,
        oof_logit=results[coding, C][1],
        report=report,
    )
