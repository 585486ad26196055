"""The data-dependent modelling choices, all made on cross-validation inside the training part.

:func:`decide` takes the training part and its folds and returns :class:`Decisions`:

1. **Trend per numerical feature.** In each fold the feature is binned on the fitting part three
   ways — monotonic (``auto_asc_desc``), single ``peak``, single ``valley`` — and each binning's
   WOE is scored on the held-out part (univariate AUC). A peak or valley is kept only if it beats
   the monotonic binning out of fold in at least ``min_trend_wins`` folds (4 of 5); otherwise the
   feature stays monotonic. A U-shaped feature keeps its signal; noise that happens to wiggle
   does not get a wiggly binning.
2. **Features by stability.** In each fold, features with IV >= ``min_iv`` on the fitting part
   enter a regression (``selection_C``) that drops features with a coefficient against their WOE; a feature is
   kept if that per-fold selection picked it in at least ``min_selection_share`` of the folds
   (3 of 5), not because one draw put it just above the IV cut-off.
3. **Regularisation** ``C`` from ``C_grid``: the mean out-of-fold AUC of the regression on the
   kept features, per fold binned on the fitting part; ties go to the stronger penalty.

The out-of-fold logits of step 3 at the chosen ``C`` are returned too: the pipeline fits the
Platt calibration and the score scaling on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from oracle.model.scorecard import FeatureBins, ScorecardConfig, bin_feature, fit_signed

MONOTONIC = "auto_asc_desc"
SHAPED = ("peak_heuristic", "valley_heuristic")

TREND_NAMES = {MONOTONIC: "monotonic", "peak_heuristic": "peak", "valley_heuristic": "valley"}

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Decisions:
    trends: dict[str, str]  # numerical feature -> monotonic_trend
    features: tuple[str, ...]  # kept, in candidate order
    C: float
    oof_logit: np.ndarray  # out-of-fold raw logits of the training part (step 3, chosen C)
    report: dict[str, Any]


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

    # 1. trends
    trends: dict[str, str] = {}
    trend_rows = []
    for name in names:
        if kind[name] != "numerical":
            continue
        auc = {t: [] for t in (MONOTONIC, *SHAPED)}
        for k, (_, val) in enumerate(folds):
            for t in auc:
                auc[t].append(_auc(y[val], -binned(k, name, t).woe_of(X[name].iloc[val])))
        wins = {t: sum(s > m for s, m in zip(auc[t], auc[MONOTONIC], strict=True)) for t in SHAPED}
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

    # 3. C, and the out-of-fold logits at that C
    results: dict[float, tuple[float, np.ndarray, list[float]]] = {}
    for C in config.C_grid:
        oof = np.zeros(len(y))
        fold_auc = []
        for k, (fit, val) in enumerate(folds):
            fold_bins = [binned(k, n, trends.get(n, "")) for n in features]
            kept, coef, intercept, _ = fit_signed(fold_bins, X.iloc[fit], y[fit], C)
            woe = np.column_stack([b.woe_of(X[b.name].iloc[val]) for b in kept])
            oof[val] = intercept + woe @ coef
            fold_auc.append(_auc(y[val], oof[val]))
        results[C] = (float(np.mean(fold_auc)), oof, fold_auc)
    C = max(config.C_grid, key=lambda c: (round(results[c][0], 4), -c))

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
        "C_grid": [{"C": c, "cv_auc": round(results[c][0], 4), "chosen": c == C} for c in config.C_grid],
    }
    return Decisions(trends=trends, features=features, C=C, oof_logit=results[C][1], report=report)
