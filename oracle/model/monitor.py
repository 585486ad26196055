"""Population stability of live applications: the scores of the applications the oracle service
has stored, against the training score distribution in the artifact.

``artifact["training_scores"]`` holds the inner edges of the training scores' deciles and the
training share in each bin; :func:`stability` scores the live applications with the same model
(before the repayment policy, so that only the application population is compared) and computes
the PSI over those bins. Rule of thumb: below 0.10 stable, 0.10-0.25 watch, above 0.25 shifted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from oracle.model.artifact import CreditModel
from oracle.model.scorecard import PSI_SHIFTED, PSI_WATCH, psi_of_shares, shares


def stability(model: CreditModel, applications: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """PSI of the applications' model scores against the training scores, with the per-bin
    shares; applications the model can no longer validate are counted, not scored."""
    scores, invalid = [], 0
    for application in applications:
        try:
            scores.append(model.score(application).score)
        except ValueError:
            invalid += 1
    if not scores:
        raise ValueError("no stored application the model can score: nothing to compare")
    baseline = model.artifact["training_scores"]
    edges = np.asarray(baseline["edges"], dtype=float)
    expected = np.asarray(baseline["shares"], dtype=float)
    actual = shares(np.asarray(scores), edges)
    value = psi_of_shares(expected, actual)
    status = "stable" if value < PSI_WATCH else "watch" if value < PSI_SHIFTED else "shifted"
    bounds = [-np.inf, *edges, np.inf]
    return {
        "model_id": model.model_id,
        "applications": len(scores),
        "unscorable": invalid,
        "psi": round(value, 4),
        "status": status,
        "bins": [
            {"scores": f"[{lo:g}, {hi:g})", "training": round(float(e), 4), "live": round(float(a), 4)}
            for lo, hi, e, a in zip(bounds[:-1], bounds[1:], expected, actual, strict=True)
        ],
    }
