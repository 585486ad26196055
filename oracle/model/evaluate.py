"""The scorecard pipeline on one data set: split, choices on CV, final fit, holdout read once.

:func:`run_pipeline` is the whole procedure, identical for every data set:

* **split**: where the data has an issue time, out of time — the latest issue periods holding at
  least :data:`HOLDOUT_SHARE` of the rows are the holdout, everything earlier the training part;
  otherwise a stratified random 75 % / 25 % split with a fixed seed;
* **choices** (:mod:`oracle.model.selection`): trends, features, coding and ``C`` on 5
  stratified folds of the training part only;
* **final fit** on the whole training part; Platt calibration on the out-of-fold logits; the
  score scaling (grade PD bands, :mod:`oracle.model.grading`) fitted to the out-of-fold PDs; the
  grade mix and the observed bad rate per grade out of fold;
* the **holdout** is read once, at the end: AUC, KS, Gini, Brier, a reliability table, grade mix,
  PSI of holdout against training scores, fairness by age band and sex where the data has them.

The whole run executes with BLAS and OpenMP pools limited to one thread (:func:`single_threaded`):
with the deterministic solvers and the canonical rounding this makes the artifact the same
whatever the machine's thread settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, train_test_split

from oracle.model.data import Dataset
from oracle.model.grading import fit_scaling, grade_table, pd_bands
from oracle.model.scorecard import (
    APPROVED_GRADES,
    Scorecard,
    ScorecardConfig,
    brier,
    fit_scorecard,
    grades_of,
    platt,
    psi,
    psi_bins,
    reliability_table,
    shares,
    sig,
)
from oracle.model.selection import TREND_NAMES, Decisions, decide

SEED = 42
HOLDOUT_SHARE = 0.25
AGE_BANDS = ((0, 25, "<25"), (25, 35, "25-34"), (35, 50, "35-49"), (50, 200, "50+"))


@contextmanager
def single_threaded() -> Iterator[None]:
    """BLAS and OpenMP thread pools limited to one thread (threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


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


def split(dataset: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(train index, holdout index, description): out of time where the data has a time."""
    y = dataset.y
    index = np.arange(len(y))
    if dataset.time is not None:
        times = dataset.time.to_numpy()
        periods = np.unique(times)
        if len(periods) < 2:
            raise ValueError(
                f"time column {dataset.time_column!r} has a single value: cannot split out of time"
            )
        cut = periods[-1]
        for period in periods[::-1]:
            cut = period
            if np.mean(times >= period) >= HOLDOUT_SHARE:
                break
        test = index[times >= cut]
        train = index[times < cut]
        if len(train) == 0 or y[train].sum() < 10 or y[test].sum() < 1:
            raise ValueError("the out-of-time split leaves too few bad loans on one side")
        return (
            train,
            test,
            {
                "kind": "out-of-time",
                "time_column": dataset.time_column,
                "holdout_from": _period_label(dataset, cut),
            },
        )
    train, test = train_test_split(index, test_size=HOLDOUT_SHARE, stratify=y, random_state=seed)
    return np.sort(train), np.sort(test), {"kind": "stratified random", "seed": seed}


def _period_label(dataset: Dataset, value: Any) -> str:
    raw = dataset.time
    if raw is not None and dataset.time_column and str(raw.dtype).startswith("int"):
        return str(pd.Timestamp(int(value), unit="s").date())
    return str(value)


def folds_of(y: np.ndarray, seed: int, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(np.sort(a), np.sort(b)) for a, b in folds.split(np.zeros(len(y)), y)]


@dataclass(frozen=True)
class FittedModel:
    """The served scorecard of one training part and what it was built from."""

    scorecard: Scorecard
    decisions: Decisions
    dropped: dict[str, str]
    oof_pd: np.ndarray
    oof_score: np.ndarray


def fit_model(X: pd.DataFrame, y: np.ndarray, categorical: tuple[str, ...], seed: int,
              config: ScorecardConfig) -> FittedModel:  # fmt: skip
    """Choices on CV, final fit, calibration and scaling on one training part."""
    folds = folds_of(y, seed, config.folds)
    decisions = decide(X, y, categorical, folds, config)
    card, dropped = fit_scorecard(
        X, y, categorical, decisions.features, decisions.trends, decisions.C, config, decisions.coding
    )
    a, s = platt(decisions.oof_logit, y)
    card = card.calibrated(a, s)
    oof_logit_cal = card.calibration[0] + card.calibration[1] * decisions.oof_logit
    oof_pd = 1 / (1 + np.exp(-oof_logit_cal))
    card = card.scaled(fit_scaling(oof_pd))
    oof_raw = card.scaling.score_at(oof_pd)
    oof_score = np.clip(np.floor(oof_raw + 0.5), 300, 850).astype(int)
    return FittedModel(card, decisions, dropped, oof_pd, oof_score)


@dataclass(frozen=True)
class PipelineResult:
    scorecard: Scorecard
    report: dict[str, Any]
    train_scores: dict[str, list[float]]  # the training score distribution (monitor's baseline)


def run_pipeline(dataset: Dataset, config: ScorecardConfig | None = None, seed: int = SEED) -> PipelineResult:
    """Fits and evaluates the scorecard on ``dataset`` (see the module docstring)."""
    config = config or ScorecardConfig()
    started = time.perf_counter()
    with single_threaded():
        return _run(dataset, config, seed, started)


def _run(dataset: Dataset, config: ScorecardConfig, seed: int, started: float) -> PipelineResult:
    X, y = dataset.X, dataset.y
    train_idx, test_idx, split_info = split(dataset, seed)
    X_train, y_train = X.iloc[train_idx], y[train_idx]
    X_test, y_test = X.iloc[test_idx], y[test_idx]

    model = fit_model(X_train, y_train, dataset.categorical, seed, config)
    card = model.scorecard
    bands = pd_bands(card.scaling)

    # read once: the holdout
    pd_test = card.pd(X_test)
    score_test = card.score(X_test)
    score_train = card.score(X_train)
    grades_test = grades_of(score_test)
    edges = psi_bins(score_train)

    fairness: dict[str, Any] = {}
    groups_test = dataset.groups.iloc[test_idx]
    if "age" in groups_test:
        bands_age = age_band(groups_test["age"].to_numpy())
        fairness["age"] = group_table(
            bands_age, y_test, pd_test, grades_test, tuple(b for *_, b in AGE_BANDS)
        )
    if "sex" in groups_test:
        fairness["sex"] = group_table(groups_test["sex"].to_numpy(), y_test, pd_test, grades_test)
    missing = [g for g in ("age", "sex") if g not in groups_test]
    if missing:
        fairness["not_available"] = f"{dataset.name} has no {' or '.join(missing)} attribute"

    iv_table = _iv_table(dataset, model)
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
            **split_info,
            "train": len(train_idx),
            "train_bad": int(y_train.sum()),
            "holdout": len(test_idx),
            "holdout_bad": int(y_test.sum()),
        },
        "features": card.feature_names,
        "choices": {**model.decisions.report, "C": model.decisions.C},
        "iv_table": iv_table,
        "oof": {
            **discrimination(y_train, model.oof_pd),
            "brier": round(brier(model.oof_pd, y_train), 5),
        },
        "grades_oof": grade_table(y_train, model.oof_score, model.oof_pd, bands),
        "holdout": discrimination(y_test, pd_test),
        "train": discrimination(y_train, card.pd(X_train)),
        "calibration": {
            "method": f"Platt scaling on {config.folds}-fold out-of-fold logits of the training part",
            "intercept": card.calibration[0],
            "slope": card.calibration[1],
            "brier_holdout": round(brier(pd_test, y_test), 5),
            "brier_base_rate": round(brier(np.full(len(y_test), y_train.mean()), y_test), 5),
            "mean_pd_holdout": round(float(pd_test.mean()), 4),
            "bad_rate_holdout": round(float(y_test.mean()), 4),
            "reliability": reliability_table(pd_test, y_test),
        },
        "scaling": {
            "pdo": card.scaling.pdo,
            "anchor_score": card.scaling.anchor_score,
            "anchor_odds": card.scaling.anchor_odds,
            "bands": bands,
        },
        "grades_holdout": grade_table(y_test, score_test, pd_test, bands),
        "score_quantiles_holdout": {f"p{q}": int(np.percentile(score_test, q)) for q in (5, 25, 50, 75, 95)},
        "psi_train_holdout": round(psi(score_train, score_test), 4),
        "fairness": fairness,
        "seconds": round(time.perf_counter() - started, 1),
    }
    train_scores = {
        "edges": [float(e) for e in edges],
        "shares": [sig(v) for v in shares(score_train, edges)],
    }
    return PipelineResult(scorecard=card, report=report, train_scores=train_scores)


def _iv_table(dataset: Dataset, model: FittedModel) -> list[dict[str, Any]]:
    card, decisions = model.scorecard, model.decisions
    by_name = {f.name: (i, f) for i, f in enumerate(card.features)}
    selection = {row["feature"]: row for row in decisions.report["selection"]}
    rows = []
    for name in dataset.X.columns:
        sel = selection[name]
        in_model = name in by_name
        if in_model:
            note = ""
        elif name in model.dropped:
            note = model.dropped[name]
        else:
            note = f"selected in {sel['folds_selected']}/{decisions.report['folds']} folds"
        trend = TREND_NAMES[decisions.trends[name]] if name in decisions.trends else "–"
        if in_model:
            i, bins = by_name[name]
            if bins.line:
                line = "line in ln(1 + x)" if bins.line_transform == "log1p" else "line"
                trend = line if not bins.splits else f"{trend} + {line}"
            low, high = card.points_span(i, populated=True)
        rows.append(
            {
                "feature": name,
                "type": dataset.schema.by_name[name].binned_as,
                "trend": trend,
                "mean_iv": sel["mean_iv"],
                "folds_selected": sel["folds_selected"],
                "in_model": in_model,
                "n_bins": bins.n_bins if in_model else None,
                "coefficient": round(card.coefficients[i], 4) if in_model and card.coefficients else None,
                "points_range": round(high - low, 1) if in_model else None,
                "note": note,
            }
        )
    rows.sort(key=lambda r: (-r["mean_iv"], r["feature"]))
    return rows


def summary_line(report: dict[str, Any]) -> str:
    h = report["holdout"]
    line = (
        f"{report['dataset']['name']:<17} holdout ({report['split']['kind']}) AUC {h['auc']:.3f} "
        f"KS {h['ks']:.3f} | out-of-fold AUC {report['oof']['auc']:.3f} | "
        f"Brier {report['calibration']['brier_holdout']:.4f} | PSI {report['psi_train_holdout']:.4f}"
    )
    if "cv" in report:
        cv = report["cv"]["models"]["scorecard"]
        line += f" | CV AUC {cv['auc_mean']:.3f} ± {cv['auc_sd']:.3f}"
    return line
