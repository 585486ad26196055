"""Evaluation of the scorecard pipeline on one data set.

:func:`run_pipeline` is the whole procedure, identical for every data set:

* stratified split, 75 % train / 25 % holdout, fixed seed;
* 5-fold stratified cross-validation *inside the training part*: each fold fits the full
  pipeline (binning, feature selection, regression); the fold AUCs give the CV mean/std, and the
  out-of-fold raw logits fit the Platt calibration;
* the final scorecard is fitted on the whole training part and calibrated with that Platt fit;
* the holdout is touched once: AUC, KS, Gini, Brier, a 10-bin reliability table, grade mix and
  bad rate per grade, PSI between train and holdout scores, and fairness (AUC and approval
  rate, grade A-D, per age band and per sex where the data set has them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, train_test_split

from oracle.model.data import Dataset
from oracle.model.scorecard import (
    APPROVED_GRADES,
    GRADE_LETTERS,
    Scorecard,
    ScorecardConfig,
    brier,
    fit_scorecard,
    grades_of,
    platt,
    psi,
    reliability_table,
)

SEED = 42
HOLDOUT_SHARE = 0.25
FOLDS = 5
AGE_BANDS = ((0, 25, "<25"), (25, 35, "25-34"), (35, 50, "35-49"), (50, 200, "50+"))


def ks_statistic(y: np.ndarray, risk: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the bad and good cumulative distributions."""
    fpr, tpr, _ = roc_curve(y, risk)
    return float(np.max(tpr - fpr))


def discrimination(y: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """AUC, KS and Gini (= 2 AUC - 1) for a risk measure (higher = riskier)."""
    auc = float(roc_auc_score(y, risk))
    return {"auc": round(auc, 4), "ks": round(ks_statistic(y, risk), 4), "gini": round(2 * auc - 1, 4)}


def age_band(age: np.ndarray) -> np.ndarray:
    age = np.asarray(age, dtype=float)
    return np.select(
        [(age >= lo) & (age < hi) for lo, hi, _ in AGE_BANDS], [b for *_, b in AGE_BANDS], "unknown"
    )


def group_table(
    groups: np.ndarray, y: np.ndarray, pd_: np.ndarray, grades: np.ndarray, order: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Per group: size, bad rate, AUC (when the group has both classes and 10+ bads) and the
    approval rate (grade A-D). Groups in ``order`` first, then the rest sorted."""
    present = set(groups.tolist())
    levels = [g for g in order if g in present] + sorted(present - set(order))
    rows = []
    for level in levels:
        mask = groups == level
        n_bad = int(y[mask].sum())
        both = 0 < n_bad < int(mask.sum())
        rows.append(
            {
                "group": str(level),
                "n": int(mask.sum()),
                "n_bad": n_bad,
                "bad_rate": round(float(y[mask].mean()), 4),
                "auc": round(float(roc_auc_score(y[mask], pd_[mask])), 4) if both and n_bad >= 10 else None,
                "approval_rate": round(float(np.isin(grades[mask], APPROVED_GRADES).mean()), 4),
            }
        )
    return rows


def grade_table(y: np.ndarray, grades: np.ndarray) -> list[dict[str, Any]]:
    rows = []
    for grade in (1, 2, 3, 4, 5, 0):
        mask = grades == grade
        rows.append(
            {
                "grade": GRADE_LETTERS[grade],
                "share": round(float(mask.mean()), 4),
                "n": int(mask.sum()),
                "bad_rate": round(float(y[mask].mean()), 4) if mask.any() else None,
            }
        )
    return rows


@dataclass(frozen=True)
class PipelineResult:
    scorecard: Scorecard
    report: dict[str, Any]


def run_pipeline(dataset: Dataset, config: ScorecardConfig | None = None, seed: int = SEED) -> PipelineResult:
    """Fits and evaluates the scorecard on ``dataset`` (see the module docstring)."""
    config = config or ScorecardConfig()
    started = time.perf_counter()
    X, y = dataset.X, dataset.y
    index = np.arange(len(y))
    train_idx, test_idx = train_test_split(index, test_size=HOLDOUT_SHARE, stratify=y, random_state=seed)
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    X_train, y_train = X.iloc[train_idx], y[train_idx]
    X_test, y_test = X.iloc[test_idx], y[test_idx]

    oof = np.zeros(len(train_idx))
    fold_auc = []
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for fit_part, val_part in folds.split(X_train, y_train):
        card, _ = fit_scorecard(X_train.iloc[fit_part], y_train[fit_part], dataset.categorical, config)
        oof[val_part] = card.raw_logit(X_train.iloc[val_part])
        fold_auc.append(float(roc_auc_score(y_train[val_part], oof[val_part])))

    card, iv_table = fit_scorecard(X_train, y_train, dataset.categorical, config)
    raw_test_pd = 1 / (1 + np.exp(-card.raw_logit(X_test)))
    a, s = platt(oof, y_train)
    card = card.calibrated(a, s)

    pd_test = card.pd(X_test)
    score_test = card.score(X_test)
    score_train = card.score(X_train)
    grades_test = grades_of(score_test)

    fairness: dict[str, Any] = {}
    groups_test = dataset.groups.iloc[test_idx]
    if "age" in groups_test:
        bands = age_band(groups_test["age"].to_numpy())
        fairness["age"] = group_table(bands, y_test, pd_test, grades_test, tuple(b for *_, b in AGE_BANDS))
    if "sex" in groups_test:
        fairness["sex"] = group_table(groups_test["sex"].to_numpy(), y_test, pd_test, grades_test)
    missing = [g for g in ("age", "sex") if g not in groups_test]
    if missing:
        fairness["not_available"] = f"{dataset.name} has no {' or '.join(missing)} attribute"

    report = {
        "dataset": {
            "name": dataset.name,
            "source": dataset.source,
            "rows": int(len(y)),
            "bad": int(y.sum()),
            "bad_rate": round(dataset.bad_rate, 4),
            "fingerprint": dataset.fingerprint,
            "candidate_features": list(X.columns),
            "excluded_columns": dataset.excluded,
        },
        "split": {
            "seed": seed,
            "holdout_share": HOLDOUT_SHARE,
            "train": len(train_idx),
            "holdout": len(test_idx),
            "holdout_bad": int(y_test.sum()),
        },
        "features": card.feature_names,
        "holdout": discrimination(y_test, pd_test),
        "train": discrimination(y_train, card.pd(X_train)),
        "cv": {
            "folds": FOLDS,
            "auc_mean": round(float(np.mean(fold_auc)), 4),
            "auc_std": round(float(np.std(fold_auc)), 4),
            "auc_folds": [round(v, 4) for v in fold_auc],
        },
        "iv_table": iv_table,
        "calibration": {
            "method": f"Platt scaling on {FOLDS}-fold out-of-fold logits of the training part",
            "intercept": round(a, 4),
            "slope": round(s, 4),
            "brier_holdout": round(brier(pd_test, y_test), 5),
            "brier_holdout_uncalibrated": round(brier(raw_test_pd, y_test), 5),
            "brier_base_rate": round(brier(np.full(len(y_test), y_train.mean()), y_test), 5),
            "mean_pd_holdout": round(float(pd_test.mean()), 4),
            "bad_rate_holdout": round(float(y_test.mean()), 4),
            "reliability": reliability_table(pd_test, y_test),
        },
        "grades_holdout": grade_table(y_test, grades_test),
        "score_quantiles_holdout": {f"p{q}": int(np.percentile(score_test, q)) for q in (5, 25, 50, 75, 95)},
        "psi_train_holdout": round(psi(score_train, score_test), 4),
        "fairness": fairness,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return PipelineResult(scorecard=card, report=report)


def summary_line(report: dict[str, Any]) -> str:
    h, cv = report["holdout"], report["cv"]
    return (
        f"{report['dataset']['name']:<14} holdout AUC {h['auc']:.3f} KS {h['ks']:.3f} Gini {h['gini']:.3f} | "
        f"CV AUC {cv['auc_mean']:.3f} ± {cv['auc_std']:.3f} | Brier {report['calibration']['brier_holdout']:.4f} | "
        f"PSI {report['psi_train_holdout']:.4f}"
    )


def scores_frame(card: Scorecard, X: pd.DataFrame) -> pd.DataFrame:
    """Score, grade and PD of every row (for ad-hoc analysis)."""
    scores = card.score(X)
    return pd.DataFrame({"score": scores, "grade": grades_of(scores), "pd": card.pd(X)}, index=X.index)
