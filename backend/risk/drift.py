"""Model drift: each grade's observed outcomes against the PD band the model assigns it.

The credit model grades by probability of default: grade A covers PD up to the first band
edge, B up to the second, and so on (the model card's `scaling.grades[].max_pd`; or the
`risk_pd_bands` setting). Per grade, over all disbursed loans (any token; rates are by count):

- observed default rate = loans marked defaulted / loans disbursed;
- observed 30+ DPD rate = loans that ever reached 30 days past due (or defaulted) / disbursed.

With at least `risk_drift_min_loans` loans, the grade is `above` its band when either rate is
above `max_pd + margin` (the model is too optimistic about the grade), `below` when both rates
are under `min_pd − margin` (too pessimistic), else `ok`; with fewer loans, `insufficient`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from backend.core.views import GRADE_LETTERS
from backend.risk.cohorts import DPD30
from backend.risk.delinquency import Book


@lru_cache
def bands_from_card(path: Path) -> dict[str, tuple[float, float]]:
    """PD bands from a model card's scaling table: band of grade i = (max_pd of i−1, max_pd of i]."""
    grades = json.loads(Path(path).read_text())["scaling"]["grades"]
    bands, low = {}, 0.0
    for row in sorted(grades, key=lambda g: g["max_pd"]):
        bands[row["grade"]] = (low, float(row["max_pd"]))
        low = float(row["max_pd"])
    return bands


def pd_bands(settings) -> dict[str, tuple[float, float]]:
    if settings.risk_pd_bands:
        return {grade: (float(lo), float(hi)) for grade, (lo, hi) in settings.risk_pd_bands.items()}
    return bands_from_card(settings.risk_model_card)


def drift(book: Book, bands: dict[str, tuple[float, float]], margin: float, min_loans: int) -> list[dict]:
    out = []
    for grade in sorted({h.loan.grade for h in book.disbursed()}):
        histories = [h for h in book.disbursed() if h.loan.grade == grade]
        letter = GRADE_LETTERS.get(grade)
        n = len(histories)
        defaults = sum(1 for h in histories if h.loan.status == "DEFAULTED")
        late = sum(1 for h in histories if h.first_time_dpd(DPD30, book.now) is not None)
        default_rate, dpd30_rate = defaults / n, late / n
        band = bands.get(letter)
        if band is None:
            status = "no_band"
        elif n < min_loans:
            status = "insufficient"
        elif default_rate > band[1] + margin or dpd30_rate > band[1] + margin:
            status = "above"
        elif default_rate < band[0] - margin and dpd30_rate < band[0] - margin:
            status = "below"
        else:
            status = "ok"
        out.append(
            {
                "grade": grade,
                "grade_letter": letter,
                "loans": n,
                "defaults": defaults,
                "dpd30": late,
                "default_rate": round(default_rate, 6),
                "dpd30_rate": round(dpd30_rate, 6),
                "pd_band": list(band) if band else None,
                "margin": margin,
                "min_loans": min_loans,
                "status": status,
                "warning": status in ("above", "below"),
            }
        )
    return out
