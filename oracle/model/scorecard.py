"""WOE/IV scorecard: optbinning bins, logistic regression on WOE, points scaled to 300-850.

Fitting (:func:`fit_scorecard`):

1. ``optbinning.BinningProcess`` bins every candidate feature on the training data: numerical
   features get the best *monotonic* (ascending or descending) binning, categorical ones are
   grouped; features with information value below ``min_iv`` are dropped.
2. Each feature is replaced by its weight of evidence, ``WOE = ln(share of goods / share of
   bads)`` in its bin (missing values get the WOE of the "Missing" bin, 0 if it was empty).
3. ``LogisticRegression`` (L2, ``C``) is fitted on the WOE columns for ``P(bad)``. A feature whose
   coefficient comes out positive (more evidence of "good" -> more risk) is collinear noise that
   would make its points run backwards; it is dropped and the regression refitted until every
   coefficient is negative.

The fitted card is then a plain table — bins, WOE and points per bin — with no reference to
optbinning or scikit-learn objects: scoring is a lookup and a sum (:class:`Scorecard`).

Scaling (:class:`Scaling`): ``score = offset + factor * ln(odds)``, odds = good:bad =
``(1 - PD) / PD`` after calibration, ``factor = PDO / ln 2``. Default: **680 points at odds
20:1, PDO 60** (60 points double the odds). With the on-chain grade thresholds 60 points apart
every grade step doubles the odds: A >= 740 (odds >= 40:1, PD <= 2.4 %), B >= 680 (20:1,
4.8 %), C >= 620 (10:1, 9.1 %), D >= 560 (5:1, 16.7 %), E >= 500 (2.5:1, 28.6 %), below 500
ineligible. Scores are rounded half up and clipped into [300, 850].

Calibration: Platt scaling, ``logit PD = a + s * raw logit``, fitted by the trainer on
out-of-fold predictions; it is folded into the points so that score and PD always agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

MIN_SCORE, MAX_SCORE = 300, 850
#: Minimum score of grades A, B, C, D, E (1..5): the CreditOracle contract's defaults.
GRADE_THRESHOLDS: tuple[int, ...] = (740, 680, 620, 560, 500)
GRADE_LETTERS = {1: "A", 2: "B", 3: "C", 4: "D", 5: "E", 0: "ineligible"}
#: Grades that count as "approved" in reports: A-D.
APPROVED_GRADES = (1, 2, 3, 4)


def grade_of(score: int, thresholds: Sequence[int] = GRADE_THRESHOLDS) -> int:
    """1 (A) .. 5 (E) for the first threshold the score reaches, else 0 — as CreditOracle.vy."""
    for grade, threshold in enumerate(thresholds, start=1):
        if score >= threshold:
            return grade
    return 0


def grades_of(scores: np.ndarray, thresholds: Sequence[int] = GRADE_THRESHOLDS) -> np.ndarray:
    scores = np.asarray(scores)
    return np.select([scores >= t for t in thresholds], list(range(1, len(thresholds) + 1)), 0)


@dataclass(frozen=True)
class Scaling:
    """Points-to-odds anchoring: ``anchor_score`` points at good:bad odds ``anchor_odds``,
    ``pdo`` points to double the odds."""

    pdo: float = 60.0
    anchor_score: float = 680.0
    anchor_odds: float = 20.0

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.anchor_score - self.factor * math.log(self.anchor_odds)

    def pd_at(self, score: float | np.ndarray) -> float | np.ndarray:
        """The PD that an (unrounded, unclipped) score stands for."""
        return 1.0 / (1.0 + np.exp((np.asarray(score, dtype=float) - self.offset) / self.factor))


def round_score(raw: np.ndarray) -> np.ndarray:
    """Round half up and clip into [MIN_SCORE, MAX_SCORE]."""
    return np.clip(np.floor(np.asarray(raw, dtype=float) + 0.5), MIN_SCORE, MAX_SCORE).astype(int)


@dataclass(frozen=True)
class ScorecardConfig:
    min_iv: float = 0.02
    C: float = 0.1
    monotonic_trend: str = "auto_asc_desc"
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05
    scaling: Scaling = field(default_factory=Scaling)


# ------------------------------------------------------------------------------------- bins


@dataclass(frozen=True)
class FeatureBins:
    """The bins of one feature. Bin ``i < n_bins`` is a regular bin; index ``n_bins`` is
    "Missing" (NaN, or a category never seen in training)."""

    name: str
    kind: str  # "numerical" | "categorical"
    splits: tuple[float, ...]  # numerical: bin i is [splits[i-1], splits[i])
    groups: tuple[tuple[str, ...], ...]  # categorical: the categories of each bin
    woe: tuple[float, ...]  # n_bins + 1 values, the last for "Missing"
    count: tuple[int, ...]  # training rows per bin (incl. Missing)
    bad_rate: tuple[float, ...]  # training bad rate per bin (incl. Missing)
    iv: float

    @property
    def n_bins(self) -> int:
        return len(self.woe) - 1

    def labels(self) -> list[str]:
        if self.kind == "numerical":
            edges = [-math.inf, *self.splits, math.inf]
            out = [f"[{_num(lo)}, {_num(hi)})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        else:
            out = [", ".join(group) for group in self.groups]
        return [*out, "Missing"]

    def bin_index(self, values: Any) -> np.ndarray:
        if self.kind == "numerical":
            x = np.asarray(values, dtype=float)
            index = np.searchsorted(np.asarray(self.splits, dtype=float), x, side="right")
            return np.where(np.isnan(x), self.n_bins, index)
        lookup = {category: i for i, group in enumerate(self.groups) for category in group}
        return np.array([lookup.get(v, self.n_bins) for v in np.asarray(values, dtype=object)], dtype=int)

    def woe_of(self, values: Any) -> np.ndarray:
        return np.asarray(self.woe, dtype=float)[self.bin_index(values)]


def _num(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"


def _extract_bins(binning: Any, name: str, kind: str) -> FeatureBins:
    table = binning.binning_table.build()
    rows_all = table.drop(index="Totals")  # regular bins, then "Special", then "Missing"
    n_regular = len(binning.splits) + 1 if kind == "numerical" else len(binning.splits)
    if len(rows_all) != n_regular + 2:
        raise ValueError(
            f"{name}: unexpected binning table layout ({len(rows_all)} rows for {n_regular} bins)"
        )
    regular, missing = rows_all.iloc[:n_regular], rows_all.iloc[-1]
    if kind == "numerical":
        splits = tuple(float(s) for s in binning.splits)
        groups: tuple[tuple[str, ...], ...] = ()
    else:
        splits = ()
        groups = tuple(tuple(str(c) for c in group) for group in binning.splits)
    rows = [*(r for _, r in regular.iterrows()), missing]
    return FeatureBins(
        name=name,
        kind=kind,
        splits=splits,
        groups=groups,
        woe=tuple(float(r["WoE"]) for r in rows),
        count=tuple(int(r["Count"]) for r in rows),
        bad_rate=tuple(float(r["Event rate"]) for r in rows),
        iv=float(table.loc["Totals", "IV"]),
    )


# -------------------------------------------------------------------------------- scorecard


@dataclass(frozen=True)
class Scorecard:
    """A fitted scorecard. ``coefficients`` are the logistic-regression weights on WOE for
    ``logit P(bad)``; ``calibration = (a, s)`` maps the raw logit to the calibrated one."""

    features: tuple[FeatureBins, ...]
    coefficients: tuple[float, ...]
    intercept: float
    scaling: Scaling = field(default_factory=Scaling)
    calibration: tuple[float, float] = (0.0, 1.0)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    # ---- points
    @property
    def base_points(self) -> float:
        a, s = self.calibration
        return self.scaling.offset - self.scaling.factor * (a + s * self.intercept)

    def bin_points(self, i: int) -> np.ndarray:
        """Points of each bin (incl. Missing) of feature ``i``."""
        s = self.calibration[1]
        return -self.scaling.factor * s * self.coefficients[i] * np.asarray(self.features[i].woe, dtype=float)

    def feature_points(self, X: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """(n, k) points of each row for each feature."""
        columns = [
            self.bin_points(i)[f.bin_index(np.atleast_1d(X[f.name]))] for i, f in enumerate(self.features)
        ]
        return np.column_stack(columns)

    def raw_score(self, X: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Unrounded, unclipped scores."""
        return self.base_points + self.feature_points(X).sum(axis=1)

    def score(self, X: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        return round_score(self.raw_score(X))

    def pd(self, X: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        return np.asarray(self.scaling.pd_at(self.raw_score(X)))

    def raw_logit(self, X: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Uncalibrated ``logit P(bad)`` of the regression."""
        woe = np.column_stack([f.woe_of(np.atleast_1d(X[f.name])) for f in self.features])
        return self.intercept + woe @ np.asarray(self.coefficients)

    def reasons(self, X: pd.DataFrame | Mapping[str, Any], top: int = 3) -> list[list[str]]:
        """Reason codes: for each row the (up to) ``top`` features whose points fall furthest
        below that feature's best bin, largest shortfall first; features at their best bin are
        never named."""
        points = self.feature_points(X)
        best = np.array([self.bin_points(i).max() for i in range(len(self.features))])
        shortfall = best - points
        names = self.feature_names
        out = []
        for row in shortfall:
            order = sorted(range(len(names)), key=lambda j: (-row[j], names[j]))
            out.append([names[j] for j in order[:top] if row[j] > 1e-9])
        return out

    def calibrated(self, a: float, s: float) -> Scorecard:
        return replace(self, calibration=(float(a), float(s)))

    def points_table(self) -> list[dict[str, Any]]:
        rows = []
        for i, f in enumerate(self.features):
            points = self.bin_points(i)
            for label, woe, count, rate, pts in zip(
                f.labels(), f.woe, f.count, f.bad_rate, points, strict=True
            ):
                rows.append(
                    {
                        "feature": f.name,
                        "bin": label,
                        "count": count,
                        "bad_rate": round(rate, 4),
                        "woe": round(woe, 4),
                        "points": round(float(pts), 1),
                    }
                )
        return rows

    # ---- (de)serialisation to plain Python values
    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [asdict(f) for f in self.features],
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "scaling": asdict(self.scaling),
            "calibration": list(self.calibration),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        features = tuple(
            FeatureBins(
                name=f["name"],
                kind=f["kind"],
                splits=tuple(f["splits"]),
                groups=tuple(tuple(g) for g in f["groups"]),
                woe=tuple(f["woe"]),
                count=tuple(f["count"]),
                bad_rate=tuple(f["bad_rate"]),
                iv=f["iv"],
            )
            for f in data["features"]
        )
        return cls(
            features=features,
            coefficients=tuple(data["coefficients"]),
            intercept=data["intercept"],
            scaling=Scaling(**data["scaling"]),
            calibration=tuple(data["calibration"]),
        )


def fit_scorecard(
    X: pd.DataFrame, y: np.ndarray, categorical: Sequence[str] = (), config: ScorecardConfig | None = None
) -> tuple[Scorecard, list[dict[str, Any]]]:
    """Bins, regresses and returns an (uncalibrated) scorecard plus the IV table: each
    candidate feature's IV and bin count, whether it is in the model, and if not, why."""
    from optbinning import BinningProcess
    from sklearn.linear_model import LogisticRegression

    config = config or ScorecardConfig()
    names = list(X.columns)
    categorical = [c for c in names if c in set(categorical)]
    fit_params = {c: {"monotonic_trend": config.monotonic_trend} for c in names if c not in categorical}
    process = BinningProcess(
        names,
        categorical_variables=categorical,
        max_n_prebins=config.max_n_prebins,
        min_prebin_size=config.min_prebin_size,
        selection_criteria={"iv": {"min": config.min_iv}},
        binning_fit_params=fit_params,
    )
    process.fit(X, np.asarray(y))
    summary = process.summary().set_index("name")
    selected = [c for c in names if bool(summary.loc[c, "selected"])]
    bins = {
        c: _extract_bins(
            process.get_binned_variable(c), c, "categorical" if c in categorical else "numerical"
        )
        for c in selected
    }
    woe = pd.DataFrame({c: bins[c].woe_of(X[c]) for c in selected}, index=X.index)

    kept = list(selected)
    dropped: dict[str, str] = {}
    while kept:
        model = LogisticRegression(C=config.C, max_iter=1000).fit(woe[kept].to_numpy(), y)
        wrong = [c for c, b in zip(kept, model.coef_[0], strict=True) if b >= 0]
        if not wrong:
            break
        for c in wrong:
            dropped[c] = "coefficient sign against its WOE (collinear), dropped"
        kept = [c for c in kept if c not in wrong]
    if not kept:
        raise ValueError("no feature passed the IV filter with a usable coefficient")
    coefficients = dict(zip(kept, (float(b) for b in model.coef_[0]), strict=True))

    iv_table = []
    for c in names:
        row = {
            "feature": c,
            "type": "categorical" if c in categorical else "numerical",
            "iv": round(float(summary.loc[c, "iv"]), 4),
            "n_bins": int(summary.loc[c, "n_bins"]),
            "in_model": c in coefficients,
            "coefficient": round(coefficients[c], 4) if c in coefficients else None,
            "note": "" if c in coefficients else dropped.get(c, f"IV below {config.min_iv}"),
        }
        iv_table.append(row)
    iv_table.sort(key=lambda r: (-r["iv"], r["feature"]))

    card = Scorecard(
        features=tuple(bins[c] for c in kept),
        coefficients=tuple(coefficients[c] for c in kept),
        intercept=float(model.intercept_[0]),
        scaling=config.scaling,
    )
    return card, iv_table


# ----------------------------------------------------------------------------- calibration


def platt(raw_logit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fits ``logit P(bad) = a + s * raw_logit``; returns ``(a, s)``."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(raw_logit).reshape(-1, 1), y)
    return float(model.intercept_[0]), float(model.coef_[0][0])


def brier(pd_: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((np.asarray(pd_, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def reliability_table(pd_: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict[str, Any]]:
    """Equal-count bins of predicted PD (ascending): mean predicted PD vs observed bad rate."""
    pd_ = np.asarray(pd_, dtype=float)
    y = np.asarray(y)
    order = np.argsort(pd_, kind="stable")
    rows = []
    for i, part in enumerate(np.array_split(order, n_bins), start=1):
        if len(part) == 0:
            continue
        rows.append(
            {
                "bin": i,
                "n": int(len(part)),
                "n_bad": int(y[part].sum()),
                "pd_min": round(float(pd_[part].min()), 4),
                "pd_max": round(float(pd_[part].max()), 4),
                "mean_pd": round(float(pd_[part].mean()), 4),
                "observed": round(float(y[part].mean()), 4),
            }
        )
    return rows


# ------------------------------------------------------------------------------------- PSI


def psi(expected: np.ndarray, actual: np.ndarray, n_bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` (e.g. train vs holdout
    scores): bins at the deciles of ``expected``; ``sum((a - e) * ln(a / e))`` over bins, shares
    floored at ``eps``. Rule of thumb: < 0.10 stable, 0.10-0.25 watch, > 0.25 shifted."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    if expected.size == 0 or actual.size == 0:
        raise ValueError("psi needs two non-empty samples")
    inner = np.unique(np.quantile(expected, np.linspace(0, 1, n_bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=len(inner) + 1) / expected.size
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=len(inner) + 1) / actual.size
    e = np.maximum(e, eps)
    a = np.maximum(a, eps)
    return float(np.sum((a - e) * np.log(a / e)))
