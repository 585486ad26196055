"""Scorecard: optbinning bins and lines, logistic regression, points from a fitted scaling.

Fitting (:func:`fit_scorecard`, given the per-feature trends and the features that
:mod:`oracle.model.selection` chose on cross-validation):

1. ``optbinning.OptimalBinning`` bins each feature: numerical ones with the trend chosen for
   them (monotonic, or a single peak/valley where that held across folds), categorical ones
   grouped. Its CP-SAT solver runs with a single search worker (by default it runs one per core
   and may return a different optimum of equal value on another machine).
2. The regression sees each feature in one of four codings (:func:`fit_coded`; the
   cross-validation in :mod:`oracle.model.selection` picks from ``ScorecardConfig.codings``,
   by default ``line``, ``indicator`` and ``indicator+line``):

   * ``woe``: the feature is replaced by its weight of evidence, ``WOE = ln(share of goods /
     share of bads)`` in its bin (missing values get the WOE of the "Missing" bin, 0 if it was
     empty), one coefficient per feature. A feature whose coefficient comes out positive (more
     evidence of "good" -> more risk) would make its points run backwards; it is dropped and the
     regression refitted.
   * ``indicator`` (the default): one 0/1 column per populated bin, one weight per bin. The WOE
     is a bin's evidence *on its own*; a bin's weight here is its evidence *given the other
     features*, which is what a score adds up. (On lending_club, ``num_il_tl`` — installment
     accounts ever — looks harmless on its own but, at the same number of recent ones, more of
     them means a seasoned borrower: the WOE coding had to drop it.) The L2 penalty shrinks
     every weight towards 0 (an empty bin's weight is 0).
   * ``line``: every numerical feature as a line (a continuous characteristic, :func:`fit_line`):
     its value clipped to the training values' 1st-99th percentiles, in ``ln(1 + x)`` where
     those are highly skewed counts or amounts (:data:`LOG_LINE_SKEWNESS`), and standardised;
     one weight, plus a weight for Missing; categorical features keep their bins' indicators.
   * ``indicator+line``: the bins' indicators and, for every numerical feature, its line too.
3. ``LogisticRegression`` (L2, ``C``, Newton-Cholesky to a 1e-10 tolerance: the exact optimum,
   not wherever an iterative solver stopped) for ``P(bad)``.

Either way the fitted card is a plain points table — bins, WOE, one contribution to the logit
per bin, and per line its points per unit between its clip bounds — with no optbinning or
scikit-learn object. :meth:`Scorecard.canonical` rounds every number to :data:`SIGNIFICANT_DIGITS` significant
digits; the pipeline evaluates, and the service scores with, the rounded card only, so the model
that is hashed is exactly the model that is served, and last-bit differences between BLAS
builds, thread counts or CPUs vanish in the rounding.

Scaling (:class:`Scaling`): ``score = offset + factor * ln(odds)``, odds = good:bad =
``(1 - PD) / PD`` after calibration, ``factor = PDO / ln 2``; it is fitted to the training data
by :func:`oracle.model.grading.fit_scaling`. Scores are rounded half up and clipped to [300, 850].

Calibration: Platt scaling, ``logit PD = a + s * raw logit``, fitted by the pipeline on
out-of-fold predictions; it is folded into the points so that score and PD always agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from peerlend.vocabulary import GRADES, MAX_SCORE, MIN_SCORE, Grade

#: Minimum score of grades A, B, C, D, E (1..5): the CreditOracle contract's defaults.
GRADE_THRESHOLDS: tuple[int, ...] = (740, 680, 620, 560, 500)
GRADE_LETTERS = {int(grade): grade.label for grade in (*GRADES, Grade.INELIGIBLE)}
#: Grades that count as "approved" in reports: A-D.
APPROVED_GRADES = (1, 2, 3, 4)
#: Precision of every number in the artifact.
SIGNIFICANT_DIGITS = 6
#: How the regression sees the features (:func:`fit_coded`), simplest first: the order in which
#: the cross-validation's one-standard-error rule prefers them.
WOE, LINE, INDICATOR, INDICATOR_LINE = "woe", "line", "indicator", "indicator+line"
CODINGS = (WOE, LINE, INDICATOR, INDICATOR_LINE)
#: Codings in which every numerical feature also enters as a line (:meth:`FeatureBins.line_of`);
#: in ``line`` it has no bins besides Missing.
LINE_CODINGS = (LINE, INDICATOR_LINE)
#: A line's value is clipped to these quantiles of the feature's training values.
LINE_CLIP_QUANTILES = (0.01, 0.99)
#: A line runs in ``ln(1 + x)`` instead of ``x`` where the clipped training values are never
#: negative and their skewness exceeds this (the conventional bound of "highly skewed"). Counts and
#: amounts are right-skewed, and their effect on the odds flattens as they grow (the fifth
#: recent inquiry says less than the first); a straight line in ``x`` is then set by the long
#: tail. The rule looks at the values only, never at the outcome.
LOG_LINE_SKEWNESS = 1.0
#: The transforms a line can run in (:attr:`FeatureBins.line_transform`).
LINE_TRANSFORMS = {"": lambda x: x, "log1p": np.log1p}


def sig(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits (decimal, as it is serialised)."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return 0.0 if value == 0 else value
    return float(f"{value:.{digits}g}")


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

    def score_at(self, pd_: float | np.ndarray) -> float | np.ndarray:
        """The (unrounded) score of a PD."""
        pd_ = np.asarray(pd_, dtype=float)
        return self.offset + self.factor * np.log((1 - pd_) / pd_)


def round_score(raw: np.ndarray) -> np.ndarray:
    """Round half up and clip into [MIN_SCORE, MAX_SCORE]."""
    return np.clip(np.floor(np.asarray(raw, dtype=float) + 0.5), MIN_SCORE, MAX_SCORE).astype(int)


@dataclass(frozen=True)
class ScorecardConfig:
    """Fixed settings of the pipeline (the data-dependent choices are in ``selection``)."""

    min_iv: float = 0.02
    C_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    #: Codings the cross-validation chooses from (with ``C``, by the one-standard-error rule):
    #: numbers as lines, as bins, or as bins and lines. WOE is left out: the indicator coding
    #: did as well as or better on every data set of the model card.
    codings: tuple[str, ...] = (LINE, INDICATOR, INDICATOR_LINE)
    selection_C: float = 0.1
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05
    folds: int = 5
    #: A feature is kept if the per-fold selection picked it in at least this share of folds.
    min_selection_share: float = 0.6
    #: A peak/valley trend is kept if it beat the monotonic binning out of fold in this many
    #: folds: all of them (with 4 of 5, one pure-noise feature in six got a shape).
    min_trend_wins: int = 5
    #: A coding richer than the simplest may be chosen only if, each at its best ``C``, it had
    #: a lower out-of-fold deviance than the simplest in this many folds: all of them, as for
    #: the trends (with the one-standard-error rule alone, 3 of 16 books whose risk is smooth
    #: got bins; with this rule 1).
    min_coding_wins: int = 5


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
    trend: str = ""  # the monotonic_trend it was binned with (numerical)
    #: ``(low, high, center, scale)`` of the feature's line, or ``()``: the line codings also
    #: give the regression ``z = (t(clip(x, low, high)) - center) / scale`` (0 where x is
    #: missing), a continuous characteristic whose points run from ``low`` to ``high``
    #: straight in ``t(x)``, with ``t`` the :attr:`line_transform`.
    line: tuple[float, ...] = ()
    #: ``""`` (``t(x) = x``) or ``"log1p"`` (``t(x) = ln(1 + x)``, :data:`LOG_LINE_SKEWNESS`).
    line_transform: str = ""

    @property
    def n_bins(self) -> int:
        return len(self.woe) - 1

    def line_of(self, values: Any) -> np.ndarray:
        """``z`` of each value (see :attr:`line`); zeros if the feature has no line."""
        if not self.line:
            return np.zeros(np.shape(values))
        x = np.asarray(values, dtype=float)
        low, high, center, scale = self.line
        z = (LINE_TRANSFORMS[self.line_transform](np.clip(x, low, high)) - center) / scale
        return np.where(np.isnan(x), 0.0, z)

    def line_span(self) -> list[tuple[float, float]]:
        """Per regular bin, ``z`` at the bin's two ends within the clip bounds (the line's
        extremes there); Missing's is (0, 0)."""
        z = self.line_of([-math.inf, *self.splits, math.inf])
        return [*zip(z[:-1].tolist(), z[1:].tolist(), strict=True), (0.0, 0.0)]

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

    def canonical(self) -> FeatureBins:
        return replace(
            self,
            splits=tuple(sig(s) for s in self.splits),
            woe=tuple(sig(w) for w in self.woe),
            bad_rate=tuple(sig(r) for r in self.bad_rate),
            iv=sig(self.iv),
            line=tuple(sig(v) for v in self.line),
        )


def _num(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"


def _extract_bins(binning: Any, name: str, kind: str, trend: str = "") -> FeatureBins:
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
        groups = tuple(tuple(sorted(str(c) for c in group)) for group in binning.splits)
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
        trend=trend if kind == "numerical" else "",
    )


@contextmanager
def _single_worker_cp_sat() -> Iterator[None]:
    """optbinning's CP-SAT solver with one search worker: CP-SAT's default runs one worker per
    core, and which of two equally good binnings it returns then depends on the machine and on
    timing. One worker searches the same way everywhere."""
    import optbinning.binning.cp as cp_module

    original = cp_module.cp_model

    class _OneWorker:
        def __getattr__(self, name: str) -> Any:
            return getattr(original, name)

        @staticmethod
        def CpSolver() -> Any:  # noqa: N802 (the name optbinning calls)
            solver = original.CpSolver()
            solver.parameters.num_workers = 1
            return solver

    cp_module.cp_model = _OneWorker()
    try:
        yield
    finally:
        cp_module.cp_model = original


def bin_feature(
    values: pd.Series, y: np.ndarray, name: str, kind: str, trend: str, config: ScorecardConfig
) -> FeatureBins:
    """Optimal binning of one feature (see the module docstring)."""
    from optbinning import OptimalBinning

    options: dict[str, Any] = {
        "name": name,
        "dtype": kind,
        "solver": "cp",
        "max_n_prebins": config.max_n_prebins,
        "min_prebin_size": config.min_prebin_size,
    }
    if kind == "numerical":
        options["monotonic_trend"] = trend
        x = values.to_numpy(dtype=float)
    else:
        x = values.to_numpy(dtype=object)
    with _single_worker_cp_sat():
        binning = OptimalBinning(**options).fit(x, np.asarray(y))
    return _extract_bins(binning, name, kind, trend).canonical()


def fit_line(values: pd.Series) -> tuple[tuple[float, ...], str]:
    """A numerical feature's :attr:`FeatureBins.line` and :attr:`FeatureBins.line_transform` on
    its training values (rounded, so that the regression is fitted on exactly the transform that
    is served): clip bounds at :data:`LINE_CLIP_QUANTILES`; ``"log1p"`` where the clipped values
    are never negative, take more than two values and have a skewness above
    :data:`LOG_LINE_SKEWNESS` (clipped, so that a handful of outliers the clip tames do not
    decide the shape), else ``""``; then the mean and standard deviation of the transformed
    clipped values. ``((), "")`` where fewer than two distinct values remain."""
    x = values.to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return (), ""
    low, high = (sig(float(q)) for q in np.quantile(x, LINE_CLIP_QUANTILES))
    clipped = pd.Series(np.clip(x, low, high))
    skewed = low >= 0 and clipped.nunique() > 2 and float(clipped.skew()) > LOG_LINE_SKEWNESS
    transform = "log1p" if skewed else ""
    z = LINE_TRANSFORMS[transform](clipped.to_numpy())
    scale = sig(float(z.std()))
    if not (high > low and scale > 0):
        return (), ""
    return (low, high, sig(float(z.mean())), scale), transform


def with_line(bins: FeatureBins, values: pd.Series) -> FeatureBins:
    """``bins`` with the line of ``values`` (:func:`fit_line`)."""
    line, transform = fit_line(values)
    return replace(bins, line=line, line_transform=transform)


def unbinned(values: pd.Series, y: np.ndarray, name: str) -> FeatureBins:
    """A numerical feature with one regular bin (every value) and Missing, and its line: the
    ``line`` coding's form of it."""
    x = values.to_numpy(dtype=float)
    y = np.asarray(y)
    n_good, n_bad = max(int((y == 0).sum()), 1), max(int((y == 1).sum()), 1)
    woe, count, rate, iv = [], [], [], 0.0
    for rows in (~np.isnan(x), np.isnan(x)):
        good, bad = int((y[rows] == 0).sum()), int((y[rows] == 1).sum())
        w = math.log((good / n_good) / (bad / n_bad)) if good and bad else 0.0
        iv += (good / n_good - bad / n_bad) * w
        woe.append(w)
        count.append(int(rows.sum()))
        rate.append(bad / rows.sum() if rows.any() else 0.0)
    bins = FeatureBins(name=name, kind="numerical", splits=(), groups=(), woe=tuple(woe),
                       count=tuple(count), bad_rate=tuple(rate), iv=iv)  # fmt: skip
    return with_line(bins, values).canonical()


def coded_feature(
    values: pd.Series,
    y: np.ndarray,
    name: str,
    kind: str,
    trend: str,
    config: ScorecardConfig,
    coding: str,
    binning: Callable[[], FeatureBins] | None = None,
) -> FeatureBins:
    """One feature as ``coding`` sees it: binned (:func:`bin_feature`, or ``binning()`` where
    the caller already has the binning), binned with a line, or (``line``, numerical) a line and
    Missing only."""
    if kind == "numerical" and coding == LINE:
        return unbinned(values, y, name)
    bins = binning() if binning is not None else bin_feature(values, y, name, kind, trend, config)
    if kind == "numerical" and coding == INDICATOR_LINE:
        bins = with_line(bins, values)
    return bins


def woe_matrix(bins: Sequence[FeatureBins], X: pd.DataFrame) -> np.ndarray:
    return np.column_stack([b.woe_of(X[b.name]) for b in bins]) if bins else np.zeros((len(X), 0))


def fit_regression(woe: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    """L2 logistic regression for P(bad), solved to the exact optimum (see module docstring)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10, max_iter=200)
    model.fit(woe, np.asarray(y))
    return model.coef_[0].astype(float), float(model.intercept_[0])


def fit_signed(bins: Sequence[FeatureBins], X: pd.DataFrame, y: np.ndarray, C: float):
    """Regression on the WOE of ``bins``, dropping features with a coefficient against their WOE
    until none is left; returns (kept bins, coefficients, intercept, {dropped name: reason})."""
    kept = list(bins)
    dropped: dict[str, str] = {}
    woe_all = {b.name: b.woe_of(X[b.name]) for b in bins}
    while kept:
        coef, intercept = fit_regression(np.column_stack([woe_all[b.name] for b in kept]), y, C)
        wrong = [b.name for b, c in zip(kept, coef, strict=True) if c >= 0]
        if not wrong:
            return kept, coef, intercept, dropped
        for name in wrong:
            dropped[name] = "coefficient sign against its WOE (collinear), dropped"
        kept = [b for b in kept if b.name not in wrong]
    return [], np.zeros(0), 0.0, dropped


def informative(b: FeatureBins) -> bool:
    """At least two populated bins (incl. Missing), or a line: a feature binned into one bin
    without a line carries nothing."""
    return bool(b.line) or sum(c > 0 for c in b.count) >= 2


def _indicator_columns(bins: Sequence[FeatureBins]) -> list[tuple[int, int]]:
    """(feature, bin) of every populated bin: the columns of the indicator coding."""
    return [(i, j) for i, b in enumerate(bins) for j, c in enumerate(b.count) if c > 0]


def indicator_matrix(bins: Sequence[FeatureBins], X: pd.DataFrame) -> np.ndarray:
    columns = _indicator_columns(bins)
    index = {i: b.bin_index(X[b.name]) for i, b in enumerate(bins)}
    out = np.zeros((len(X), len(columns)))
    for col, (i, j) in enumerate(columns):
        out[:, col] = index[i] == j
    return out


def fit_indicator(bins: Sequence[FeatureBins], X: pd.DataFrame, y: np.ndarray, C: float):
    """Regression on one indicator per populated bin (the dummy-coded scorecard), plus the ``z``
    of every feature that has a line: every bin gets its own weight, fitted together with the
    other features' bins, so a feature's points hold its effect *given* the others, which its
    univariate WOE cannot. Features with a single populated bin and no line are left out.
    Returns (kept bins, per-bin weights, per-feature line weights, intercept, {dropped: reason});
    an empty bin's weight is 0, and so is the line weight of a feature without a line."""
    kept = [b for b in bins if informative(b)]
    dropped = {b.name: "a single populated bin: no information, dropped" for b in bins if not informative(b)}
    if not kept:
        return [], (), (), 0.0, dropped
    lines = [i for i, b in enumerate(kept) if b.line]
    design = indicator_matrix(kept, X)
    if lines:
        design = np.column_stack([design, *(kept[i].line_of(X[kept[i].name]) for i in lines)])
    coef, intercept = fit_regression(design, y, C)
    columns = _indicator_columns(kept)
    weights = [[0.0] * len(b.count) for b in kept]
    for c, (i, j) in zip(coef[: len(columns)], columns, strict=True):
        weights[i][j] = float(c)
    line_weights = [0.0] * len(kept)
    for c, i in zip(coef[len(columns) :], lines, strict=True):
        line_weights[i] = float(c)
    return kept, tuple(tuple(w) for w in weights), tuple(line_weights), intercept, dropped


def fit_coded(bins: Sequence[FeatureBins], X: pd.DataFrame, y: np.ndarray, C: float, coding: str):
    """:func:`fit_signed` (``coding="woe"``) or :func:`fit_indicator` (the others; ``bins`` as
    :func:`coded_feature` made them for ``coding``), as a :class:`Scorecard` (uncalibrated,
    unscaled, not rounded) and the dropped features."""
    if coding == WOE:
        kept, coef, intercept, dropped = fit_signed(bins, X, y, C)
        card = Scorecard(tuple(kept), tuple(float(c) for c in coef), float(intercept))
    elif coding in (INDICATOR, *LINE_CODINGS):
        kept, weights, line_weights, intercept, dropped = fit_indicator(bins, X, y, C)
        card = Scorecard(tuple(kept), (), float(intercept), bin_weights=weights,
                         line_weights=line_weights if coding in LINE_CODINGS else (),
                         coding=coding)  # fmt: skip
    else:
        raise ValueError(f"unknown coding {coding!r}")
    return card, dropped


# -------------------------------------------------------------------------------- scorecard


@dataclass(frozen=True)
class Scorecard:
    """A fitted scorecard for ``logit P(bad)``: in the WOE coding ``coefficients`` are the
    regression's weights on each feature's WOE; in the indicator coding ``bin_weights`` hold one
    weight per bin of each feature (incl. Missing) and ``coefficients`` is empty; in the line
    codings ``line_weights`` also hold one weight per feature on its line's ``z`` (0 for a
    feature without a line). Either way a bin's contribution to the logit (:meth:`bin_logit`) is
    fixed and a line's runs straight, so the card is a points table.
    ``calibration = (a, s)`` maps the raw logit to the calibrated one."""

    features: tuple[FeatureBins, ...]
    coefficients: tuple[float, ...]
    intercept: float
    scaling: Scaling = field(default_factory=Scaling)
    calibration: tuple[float, float] = (0.0, 1.0)
    bin_weights: tuple[tuple[float, ...], ...] = ()
    line_weights: tuple[float, ...] = ()
    coding: str = WOE

    def line_logit(self, i: int, values: Any) -> np.ndarray:
        """Contribution of feature ``i``'s line to the raw logit at each value (0 without one)."""
        z = self.features[i].line_of(values)
        return self.line_weights[i] * z if self.line_weights else np.zeros(z.shape)

    def _feature_logit(self, i: int, values: Any) -> np.ndarray:
        values = np.atleast_1d(values)
        return self.bin_logit(i)[self.features[i].bin_index(values)] + self.line_logit(i, values)

    def bin_logit(self, i: int) -> np.ndarray:
        """Contribution of each bin (incl. Missing) of feature ``i`` to the raw logit."""
        if self.bin_weights:
            return np.asarray(self.bin_weights[i], dtype=float)
        return self.coefficients[i] * np.asarray(self.features[i].woe, dtype=float)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    # ---- points
    @property
    def base_points(self) -> float:
        a, s = self.calibration
        return self.scaling.offset - self.scaling.factor * (a + s * self.intercept)

    @property
    def _points_per_logit(self) -> float:
        return -self.scaling.factor * self.calibration[1]

    def bin_points(self, i: int) -> np.ndarray:
        """Points of each bin (incl. Missing) of feature ``i`` (its line's not included)."""
        return self._points_per_logit * self.bin_logit(i)

    def line_points_per_z(self, i: int) -> float:
        """Points of feature ``i``'s line per unit of its ``z`` (0 without a line)."""
        return self._points_per_logit * (self.line_weights[i] if self.line_weights else 0.0)

    def points_span(self, i: int, populated: bool = False) -> tuple[float, float]:
        """The fewest and the most points feature ``i`` can give over its bins (``populated``:
        only bins that held training rows), each bin's line at its two ends within the bin."""
        bins, f = self.bin_points(i), self.features[i]
        ends = f.line_span() if f.line and self.line_weights else [(0.0, 0.0)] * len(bins)
        per_z = self.line_points_per_z(i)
        values = [float(b) + per_z * z for j, (b, zs) in enumerate(zip(bins, ends, strict=True))
                  if not populated or f.count[j] > 0 for z in zs]  # fmt: skip
        return min(values), max(values)

    def best_points(self, i: int) -> float:
        """The most points feature ``i`` can give: its best bin, with its line at its best
        within that bin."""
        return self.points_span(i)[1]

    def points_of(self, i: int, values: Any) -> np.ndarray:
        """Points feature ``i`` gives each of ``values`` (its bin's and its line's)."""
        return self._points_per_logit * self._feature_logit(i, values)

    def feature_points(self, X: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """(n, k) points of each row for each feature."""
        columns = [self.points_of(i, X[f.name]) for i, f in enumerate(self.features)]
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
        logit = np.full(len(np.atleast_1d(X[self.features[0].name])), float(self.intercept))
        for i, f in enumerate(self.features):
            logit = logit + self._feature_logit(i, X[f.name])
        return logit

    def reasons(self, X: pd.DataFrame | Mapping[str, Any], top: int = 3) -> list[list[str]]:
        """Reason codes: for each row the (up to) ``top`` features whose points fall furthest
        below the most that feature can give (:meth:`best_points`), largest shortfall first;
        features at their best are never named."""
        points = self.feature_points(X)
        best = np.array([self.best_points(i) for i in range(len(self.features))])
        shortfall = best - points
        names = self.feature_names
        out = []
        for row in shortfall:
            order = sorted(range(len(names)), key=lambda j: (-row[j], names[j]))
            out.append([names[j] for j in order[:top] if row[j] > 1e-9])
        return out

    def calibrated(self, a: float, s: float) -> Scorecard:
        return replace(self, calibration=(sig(a), sig(s)))

    def scaled(self, scaling: Scaling) -> Scorecard:
        return replace(self, scaling=scaling)

    def canonical(self) -> Scorecard:
        """Every number rounded to SIGNIFICANT_DIGITS: the card that is serialised and served."""
        return replace(
            self,
            features=tuple(f.canonical() for f in self.features),
            coefficients=tuple(sig(c) for c in self.coefficients),
            bin_weights=tuple(tuple(sig(w) for w in ws) for ws in self.bin_weights),
            line_weights=tuple(sig(w) for w in self.line_weights),
            intercept=sig(self.intercept),
            calibration=(sig(self.calibration[0]), sig(self.calibration[1])),
        )

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
                        "points": round(float(pts), 1) + 0.0,  # no "-0"
                    }
                )
            if f.line and self.line_weights:
                low, high, _, scale = f.line
                per_z = self.line_points_per_z(i)
                at_low, at_high = (per_z * float(f.line_of([v])[0]) for v in (low, high))
                between = (f"straight in ln(1 + x) between ({per_z / scale:+.4g} per unit of ln(1 + x))"
                           if f.line_transform == "log1p" else f"straight between ({per_z / scale:+.4g} per unit)")  # fmt: skip
                rows.append(
                    {
                        "feature": f.name,
                        "bin": f"line: {at_low:+.1f} at or below {_num(low)}, {at_high:+.1f} at or above "
                        f"{_num(high)}, {between}; Missing 0",
                        "count": None,
                        "bad_rate": None,
                        "woe": None,
                        "points": None,
                    }
                )
        return rows

    # ---- (de)serialisation to plain Python values
    def to_dict(self) -> dict[str, Any]:
        """Plain values (the scaling is stored beside the card in the artifact)."""
        return {
            "features": [asdict(f) for f in self.features],
            "coding": self.coding,
            "coefficients": list(self.coefficients),
            "bin_weights": [list(ws) for ws in self.bin_weights],
            "line_weights": list(self.line_weights),
            "intercept": self.intercept,
            "calibration": list(self.calibration),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], scaling: Scaling) -> Scorecard:
        features = tuple(
            FeatureBins(
                name=f["name"],
                kind=f["kind"],
                splits=tuple(float(s) for s in f["splits"]),
                groups=tuple(tuple(g) for g in f["groups"]),
                woe=tuple(float(w) for w in f["woe"]),
                count=tuple(int(c) for c in f["count"]),
                bad_rate=tuple(float(r) for r in f["bad_rate"]),
                iv=float(f["iv"]),
                trend=f.get("trend", ""),
                line=tuple(float(v) for v in f.get("line", ())),
                line_transform=f.get("line_transform", ""),
            )
            for f in data["features"]
        )
        return cls(
            features=features,
            coefficients=tuple(float(c) for c in data["coefficients"]),
            bin_weights=tuple(tuple(float(w) for w in ws) for ws in data.get("bin_weights", ())),
            line_weights=tuple(float(w) for w in data.get("line_weights", ())),
            coding=data.get("coding", INDICATOR if data.get("bin_weights") else WOE),
            intercept=float(data["intercept"]),
            scaling=scaling,
            calibration=(float(data["calibration"][0]), float(data["calibration"][1])),
        )


def fit_scorecard(
    X: pd.DataFrame,
    y: np.ndarray,
    categorical: Sequence[str],
    features: Sequence[str],
    trends: Mapping[str, str],
    C: float,
    config: ScorecardConfig,
    coding: str = WOE,
) -> tuple[Scorecard, dict[str, str]]:
    """Bins ``features`` with their ``trends``, regresses in ``coding`` (:func:`fit_coded`), and
    returns the (uncalibrated, canonical) scorecard and the features dropped, with the reason."""
    categorical = set(categorical)
    bins = [
        coded_feature(
            X[name],
            y,
            name,
            "categorical" if name in categorical else "numerical",
            trends.get(name, "auto_asc_desc"),
            config,
            coding,
        )  # fmt: skip
        for name in features
    ]
    card, dropped = fit_coded(bins, X, y, C, coding)
    if not card.features:
        raise ValueError("no feature has a usable coefficient")
    return card.canonical(), dropped


# ----------------------------------------------------------------------------- calibration


def platt(raw_logit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fits ``logit P(bad) = a + s * raw_logit`` (unpenalised); returns ``(a, s)``."""
    coef, intercept = fit_regression(np.asarray(raw_logit).reshape(-1, 1), y, C=1e6)
    return intercept, float(coef[0])


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

#: PSI rule of thumb: below WATCH stable, WATCH-SHIFTED watch, above SHIFTED shifted.
PSI_WATCH, PSI_SHIFTED = 0.10, 0.25


def psi_bins(expected: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Inner bin edges at the deciles of ``expected`` (duplicates merged)."""
    return np.unique(np.quantile(np.asarray(expected, dtype=float), np.linspace(0, 1, n_bins + 1)[1:-1]))


def shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin of ``edges`` (bin i = [edges[i-1], edges[i]))."""
    values = np.asarray(values, dtype=float)
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(values.size, 1)


def psi_of_shares(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    e = np.maximum(np.asarray(expected, dtype=float), eps)
    a = np.maximum(np.asarray(actual, dtype=float), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(expected: np.ndarray, actual: np.ndarray, n_bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` (e.g. train vs holdout
    scores): bins at the deciles of ``expected``; ``sum((a - e) * ln(a / e))`` over bins, shares
    floored at ``eps``. Rule of thumb: < 0.10 stable, 0.10-0.25 watch, > 0.25 shifted."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    if expected.size == 0 or actual.size == 0:
        raise ValueError("psi needs two non-empty samples")
    edges = psi_bins(expected, n_bins)
    return psi_of_shares(shares(expected, edges), shares(actual, edges), eps)
