"""Grades as PD bands, and the score scaling fitted to the training data.

CreditOracle grades a pushed score with fixed thresholds (A >= 740, B >= 680, C >= 620,
D >= 560, E >= 500, below 500 ineligible), 60 points apart. With the log-odds scaling
``score = offset + factor * ln(odds)`` each grade is therefore a band of PD whose edges are a
constant odds ratio apart: the scaling *is* the choice of PD bands. :func:`fit_scaling` fits it
to the training part's out-of-fold calibrated PDs, so that a grade means the same *relative*
thing on every loan book a model is trained on:

* the upper PD edge of grade A is the PD of the best :data:`A_SHARE` (20 %) of the training
  applicants;
* the upper PD edge of grade E — above it an applicant is ineligible — is the PD of the riskiest
  :data:`INELIGIBLE_SHARE` (2.5 %), but never above :data:`MAX_ELIGIBLE_PD` (50 %: no loan to
  someone more likely to default than not);
* the three grades between split the odds range evenly (each grade step multiplies the odds by
  the same factor).

PDO is rounded to a whole number of points and the anchor odds to 3 significant digits; the
bands stored in the artifact and shown in the model card are computed from those rounded numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import beta

from oracle.model.scorecard import GRADE_LETTERS, GRADE_THRESHOLDS, Scaling, grades_of, sig

A_SHARE = 0.20
INELIGIBLE_SHARE = 0.025
MAX_ELIGIBLE_PD = 0.5
MIN_PDO, MAX_PDO = 10, 400


def _odds(pd_: float) -> float:
    return (1 - pd_) / pd_


def fit_scaling(pd_oof: np.ndarray, thresholds: tuple[int, ...] = GRADE_THRESHOLDS) -> Scaling:
    """The scaling whose grade bands fit the training PDs (see the module docstring)."""
    pd_oof = np.clip(np.asarray(pd_oof, dtype=float), 1e-6, 1 - 1e-6)
    pd_a = float(np.quantile(pd_oof, A_SHARE))
    pd_e = min(float(np.quantile(pd_oof, 1 - INELIGIBLE_SHARE)), MAX_ELIGIBLE_PD)
    top, bottom = thresholds[0], thresholds[-1]
    ratio = _odds(pd_a) / _odds(pd_e)
    if not ratio > 1.01:
        raise ValueError("the model does not separate its training applicants: cannot fit grade bands")
    pdo = (top - bottom) * math.log(2) / math.log(ratio)
    pdo = float(min(max(round(pdo), MIN_PDO), MAX_PDO))
    anchor_odds = sig(_odds(pd_a), 3)
    scaling = Scaling(pdo=pdo, anchor_score=float(top), anchor_odds=anchor_odds)
    # rounding PDO must not make a PD above MAX_ELIGIBLE_PD eligible
    while scaling.pd_at(bottom - 0.5) > MAX_ELIGIBLE_PD and scaling.pdo < MAX_PDO:
        scaling = Scaling(pdo=scaling.pdo + 1, anchor_score=float(top), anchor_odds=anchor_odds)
    return scaling


def pd_bands(scaling: Scaling, thresholds: tuple[int, ...] = GRADE_THRESHOLDS) -> list[dict[str, Any]]:
    """Each grade's score range and the PD range it stands for (PD at the rounded scores'
    half-point edges, as the service rounds scores half up)."""
    rows = []
    upper_score = None
    for grade, threshold in enumerate(thresholds, start=1):
        pd_max = float(scaling.pd_at(threshold - 0.5))
        pd_min = 0.0 if upper_score is None else float(scaling.pd_at(upper_score - 0.5))
        rows.append(
            {
                "grade": GRADE_LETTERS[grade],
                "number": grade,
                "min_score": threshold,
                "pd_min": sig(pd_min, 4),
                "pd_max": sig(pd_max, 4),
            }
        )
        upper_score = threshold
    rows.append(
        {
            "grade": GRADE_LETTERS[0],
            "number": 0,
            "min_score": None,
            "pd_min": sig(float(scaling.pd_at(thresholds[-1] - 0.5)), 4),
            "pd_max": 1.0,
        }
    )
    return rows


#: Confidence of the interval around a grade's observed bad rate (:func:`jeffreys_interval`).
BAD_RATE_CONFIDENCE = 0.95


def jeffreys_interval(bad: int, n: int, confidence: float = BAD_RATE_CONFIDENCE) -> tuple[float, float]:
    """Equal-tailed Jeffreys interval of a bad rate of ``bad`` in ``n``: the quantiles of
    Beta(bad + 1/2, n - bad + 1/2), with 0 as the lower end when nothing was bad and 1 as the
    upper when everything was. The interval of the Jeffreys test supervisors use to back-test a
    rating grade's PD (ECB, *Instructions for reporting the validation results of internal
    models*, 2019): with a few hundred loans in a grade, its observed rate is known only to a
    few percentage points, and a point estimate just outside the band says nothing by itself."""
    tail = (1 - confidence) / 2
    low = 0.0 if bad == 0 else float(beta.ppf(tail, bad + 0.5, n - bad + 0.5))
    high = 1.0 if bad == n else float(beta.ppf(1 - tail, bad + 0.5, n - bad + 0.5))
    return low, high


def grade_table(
    y: np.ndarray, scores: np.ndarray, pd_: np.ndarray, bands: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per grade: its PD band, share and count, mean predicted PD and the observed bad rate;
    whether the observed rate lies inside the band, and whether its Jeffreys interval
    (:func:`jeffreys_interval`) reaches the band — the observed rate is consistent with it."""
    grades = grades_of(scores)
    y = np.asarray(y)
    rows = []
    for band in bands:
        mask = grades == band["number"]
        n, bad = int(mask.sum()), int(y[mask].sum())
        observed = bad / n if n else None
        low, high = jeffreys_interval(bad, n) if n else (None, None)
        rows.append(
            {
                "grade": band["grade"],
                "pd_band": f"{band['pd_min']:.2%}–{band['pd_max']:.2%}",
                "share": round(float(mask.mean()), 4),
                "n": n,
                "n_bad": bad,
                "mean_pd": round(float(np.mean(pd_[mask])), 4) if n else None,
                "bad_rate": round(observed, 4) if observed is not None else None,
                "in_band": (band["pd_min"] <= observed <= band["pd_max"]) if observed is not None else None,
                "bad_rate_interval": f"{low:.2%}–{high:.2%}" if n else None,
                "consistent": (low <= band["pd_max"] and high >= band["pd_min"]) if n else None,
            }
        )
    return rows
