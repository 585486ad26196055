"""The model card: what the model is, what it was trained on, how well it does, and where it
fails. Built from the evaluation reports as JSON (``model_card.json``) and rendered as Markdown
(``model_card.md``)."""

from __future__ import annotations

import math
from typing import Any

from oracle.model.grading import BAD_RATE_CONFIDENCE
from oracle.model.scorecard import LOG_LINE_SKEWNESS

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
    "Club borrowers without re-validation; operators with their own loan book retrain on it "
    "(`peerlend-oracle train --data`)."
)

LIMITATIONS = [
    "Weak discrimination on lending_club (AUC about 0.66-0.68): the data set holds loans Lending "
    "Club had already approved, with its own grade and rate removed, so what remains separates "
    "good from bad only modestly. Grades are broad risk bands, not precise ranks.",
    "Sample bias: trained on funded loans only (no rejected applicants, no reject inference); "
    "risk of applicants Lending Club would have declined is extrapolated.",
    "Label: 'bad' is lending_club's Class as shipped by modeldata (a snapshot of loan status), "
    "not a fixed-horizon default flag; loans_full_schema's bad (late or charged off three months "
    "after issue) is an early-delinquency flag.",
    "Fairness cannot be measured on lending_club: it has no age, sex or other protected attribute. "
    "The German Credit and credit_data benchmarks show the pipeline's behaviour by age band (and "
    "by sex on German Credit, whose sex coding is itself known to be unreliable, Grömping 2019). "
    "Features can still proxy protected attributes (e.g. emp_length correlates with age).",
    "verification_status is not scored: on Peerlend it is self-reported and not attested, and on "
    "Lending Club it encoded Lending Club's own choice of whom to verify ('Verified' carried the "
    "highest bad rate), so an applicant could pick the value that scores best. The card shows the "
    "AUC it would add under cross-validation.",
    "Points are fitted per bin given the other features (indicator coding), so a feature's points "
    "need not follow its own bad rate: on lending_club more installment accounts ever (num_il_tl) "
    "earn points although on its own that feature is flat, because at the same number of recent "
    "installment accounts they mark a seasoned borrower. The points table shows each bin's bad "
    "rate, WOE and points side by side.",
    "Self-reported inputs: Peerlend cannot verify the bureau-style fields an applicant submits. "
    "Scores are only as honest as the application, which is why the on-chain repayment policy can "
    "override them.",
    "The policy adjustment (late payments, defaults, on-time bonus) is a rule, not a fitted model: "
    "the PD reported stays the scorecard's.",
    "Grades are relative to the training book: the PD bands are fitted so that about 20 % of the "
    "training applicants are A and about 2.5 % ineligible (never above PD 50 %); the same letter "
    "means a different PD range for a model trained on another book — the bands are in the "
    "artifact and on this card.",
    "Drift: data from 2016; `peerlend-oracle monitor` compares the scores of the service's stored "
    "applications with the training scores (PSI) and warns above 0.10.",
]


def build_card(
    *,
    model_id: str,
    artifact_name: str,
    artifact: dict[str, Any],
    report: dict[str, Any],
    benchmarks: dict[str, dict[str, Any]],
    training: dict[str, Any],
) -> dict[str, Any]:
    return {
        "name": "Peerlend credit scorecard",
        "model_id": model_id,
        "artifact": artifact_name,
        "intended_use": INTENDED_USE,
        "training": training,
        "method": _method(artifact),
        "input_fields": [f["name"] for f in artifact["scorecard"]["features"]],
        "scaling": {
            **artifact["scaling"],
            # per grade: its minimum score and the largest PD it admits (read by backend.risk.drift)
            "grades": [
                {"grade": b["grade"], "min_score": b["min_score"], "max_pd": b["pd_max"]}
                for b in artifact["grade_bands"]
                if b["number"] != 0
            ],
        },
        "grade_bands": artifact["grade_bands"],
        "policy": artifact["policy"],
        "metrics": report,
        "benchmarks": benchmarks,
        "literature": LITERATURE,
        "limitations": LIMITATIONS,
    }


def _method(artifact: dict[str, Any]) -> str:
    config = artifact["config"]
    regression = {
        "woe": "on the WOE of the features kept if selected (IV >= "
        f"{config['min_iv']}, coefficient with its WOE) in at least 3 of 5 folds",
        "line": "on every number as a line (clipped to its 1st-99th percentiles, in ln(1 + x) where "
        f"the clipped values are non-negative with skewness above {LOG_LINE_SKEWNESS:g}, Missing "
        "its own weight) and every category group",
        "indicator": "on one indicator per bin of every feature with two or more populated bins "
        "(one weight per bin, each fitted given the other features)",
        "indicator+line": "on the bins' indicators plus a line per number",
    }
    codings = config.get("codings", ["woe"])
    fit = "L2 logistic regression " + "; or ".join(regression[c] for c in codings)
    chosen = (
        "the coding and C chosen on the same folds by the one-standard-error rule on out-of-fold "
        "deviance (the simplest within one standard error of the best), a coding richer than the "
        f"simplest a candidate only where it beat it in {config['min_coding_wins']} of "
        f"{config['folds']} folds"
        if len(codings) > 1
        else "C chosen by out-of-fold deviance on the same folds"
    )
    return (
        "optbinning optimal binning (per numerical feature monotonic, or a single peak/valley where "
        f"that beat monotonic in the regression out of fold in {config['min_trend_wins']} of "
        f"{config['folds']} folds); "
        f"{fit}; {chosen}; Platt calibration on "
        "out-of-fold logits; score scaling fitted to the out-of-fold PDs (grade PD bands); every "
        "number rounded to 6 significant digits, scores computed from the rounded artifact"
    )


# ---------------------------------------------------------------------------------- markdown


GRADE_COLUMNS = ["grade", "pd_band", "share", "n", "n_bad", "mean_pd", "bad_rate", "in_band",
                 "bad_rate_interval", "consistent"]  # fmt: skip
TREND_COLUMNS = ["feature", "trend", "auc_monotonic", "auc_peak", "auc_valley", "folds_peak_wins",
                 "folds_valley_wins"]  # fmt: skip
RELIABILITY_COLUMNS = ["bin", "n", "n_bad", "pd_min", "pd_max", "mean_pd", "observed"]
GROUP_COLUMNS = ["group", "n", "n_bad", "bad_rate", "auc", "approval_rate"]


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


def _protocol(card: dict[str, Any]) -> str:
    """The headline's protocol, as the recorded cross-validations ran it."""
    reports = [card["metrics"], *card.get("benchmarks", {}).values()]
    cv = next((r["cv"] for r in reports if r.get("cv")), None)
    if cv is None:
        return "Same outer folds of each training part for all three models."
    seeds = cv.get("seeds", [cv.get("seed")])
    n = len(seeds) * cv["folds"]
    named = ", ".join(str(s) for s in seeds[:-1]) + (" and " if len(seeds) > 1 else "") + str(seeds[-1])
    return (
        f"Same outer folds of each training part for all three models: stratified {cv['folds']}-fold "
        f"cross-validation repeated with seeds {named} ({n} folds: on a book with a few hundred bad "
        "loans, one 5-fold run's scorecard − LR difference moves by hundredths from seed to seed). The scorecard's choices are made "
        "inside each outer fold. Aim: scorecard AUC ≥ LR and within 0.01 of GB; the difference to "
        f"LR is given with the standard error of its {n} paired fold differences, corrected for the "
        "folds' overlapping training parts (Nadeau and Bengio)."
    )


def headline_rows(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Per data set and model: CV AUC mean ± sd, KS, Brier (the card's headline table)."""
    rows = []
    reports = {card["metrics"]["dataset"]["name"]: card["metrics"], **card.get("benchmarks", {})}
    for name, report in reports.items():
        cv = report.get("cv")
        if not cv:
            continue
        order = ["scorecard", *sorted(k for k in cv["models"] if k.startswith("scorecard ")), "logistic",
                 "gradient_boosting"]  # fmt: skip
        seeds = cv.get("seeds", [cv.get("seed")])
        column = f"CV AUC ({len(seeds)} × {cv['folds']}-fold)"
        by_seed = "by seed " + ", ".join(str(s) for s in seeds)
        for model in order:
            m = cv["models"][model]
            rows.append(
                {
                    "data set": name,
                    "model": model,
                    column: f"{m['auc_mean']:.3f} ± {m['auc_sd']:.3f}",
                    # by the seeds' order, not the dict's: the card's JSON sorts keys ("11" < "7")
                    by_seed: " / ".join(
                        f"{m['auc_by_seed'][str(s)]:.3f}" for s in seeds if "auc_by_seed" in m
                    ),
                    "KS": f"{m['ks_mean']:.3f}",
                    "Brier": f"{m['brier_mean']:.4f}",
                }
            )
        aim = cv["aim"]
        rows.append(
            {
                "data set": name,
                "model": "aim met" if aim["met"] else "**aim missed**",
                column: (
                    f"scorecard − LR {aim['scorecard_minus_logistic']:+.3f}"
                    f" (± {aim.get('scorecard_minus_logistic_se', float('nan')):.3f} s.e.), "
                    f"− GB {aim['scorecard_minus_boosting']:+.3f}"
                ),
                by_seed: "",
                "KS": "",
                "Brier": "",
            }
        )
    return rows


def _holdout_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    h, cal, d = report["holdout"], report["calibration"], report["dataset"]
    return {
        "data set": name,
        "rows (bad)": f"{d['rows']:,} ({d['bad']:,})",
        "holdout": f"{report['split']['kind']} ({report['split']['holdout']:,}, {report['split']['holdout_bad']} bad)",
        "features used": len(report["features"]),
        "holdout AUC": h["auc"],
        "KS": h["ks"],
        "Gini": h["gini"],
        "Brier": cal["brier_holdout"],
        "PSI train→holdout": report["psi_train_holdout"],
    }


def _fairness(report: dict[str, Any]) -> str:
    fairness = report["fairness"]
    parts = []
    for key in ("age", "sex"):
        if key in fairness:
            parts.append(
                f"By {key} (holdout; approval = grade A-D under this data set's own grade bands; AUC "
                "only for groups with 10+ bads):\n\n" + _table(fairness[key], GROUP_COLUMNS)
            )
    if "not_available" in fairness:
        parts.append(f"_{fairness['not_available']}._\n")
    return "\n".join(parts)


def _grades(report: dict[str, Any]) -> list[str]:
    s = report["scaling"]
    return [
        f"Scaling fitted to the out-of-fold PDs: {s['anchor_score']:g} points at odds "
        f"{s['anchor_odds']:g}:1, PDO {s['pdo']:g}.",
        "",
        "Grade mix out of fold (training part; each row scored by a model that never saw it). "
        "`in_band`: the observed bad rate lies inside the grade's PD band; `bad_rate_interval`: "
        f"its Jeffreys {BAD_RATE_CONFIDENCE:.0%} interval (the PD back-test supervisors use); "
        "`consistent`: that interval reaches the band, so the grade's loans do not contradict it:",
        "",
        _table(report["grades_oof"], GRADE_COLUMNS),
        "Grade mix on the holdout:",
        "",
        _table(report["grades_holdout"], GRADE_COLUMNS),
    ]


def _wins(choices: dict[str, Any]) -> str:
    """'indicator 3, indicator+line 2 folds won': the richer codings' wins over the simplest."""
    richer = choices["coding_wins"][1:]
    return ", ".join(f"{w['coding']} {w['folds_won']}" for w in richer) + " folds won"


def _choices(report: dict[str, Any]) -> list[str]:
    ch = report["choices"]
    shaped = [r for r in ch["trends"] if r["trend"] != "monotonic"]
    return [
        f"Made on {ch['folds']} stratified folds of the training part. Coding and regularisation: "
        "out-of-fold deviance per row, and how many standard errors (of the rows' paired "
        "differences) it lies above the lowest candidate's; a coding richer than line is a "
        f"candidate only if, each at its best C, it beat line in {ch['min_coding_wins']} of "
        f"{ch['folds']} folds ({_wins(ch)}); the simplest candidate (line, then indicator, then "
        "indicator+line; then the smaller C) within one standard error is chosen. AUC for reference:",
        "",
        _table(
            ch["C_grid"], ["coding", "C", "cv_log_loss", "candidate", "se_above_best", "cv_auc", "chosen"]
        ),
        "Trends (univariate out-of-fold AUC of each binning, for reference; the wins count the folds "
        "in which the peak/valley binning raised the regression's out-of-fold AUC over monotonic, "
        f"and a peak/valley is kept if it wins in {ch['min_trend_wins']} of {ch['folds']} folds):",
        "",
        _table(ch["trends"], TREND_COLUMNS),
        "Non-monotonic trends kept: "
        + (", ".join(f"`{r['feature']}` ({r['trend']})" for r in shaped) if shaped else "none")
        + ".",
        "",
    ]


UNIVARIATE_COLUMNS = ["feature", "auc_binned", "auc_linear", "auc_spline", "binning_shortfall"]


def _univariate(name: str, report: dict[str, Any], level: str = "###") -> list[str]:
    rows = (report.get("cv") or {}).get("univariate")
    if not rows:
        return []
    return [
        f"{level} Where binning costs signal ({name})",
        "",
        "Per numerical feature on its own, mean held-out AUC on the comparison's folds: its monotonic "
        "binning (WOE), a logistic regression on the raw value (a line, as plain LR sees it) and on a "
        "cubic spline; the shortfall is the better of line and spline minus the binning.",
        "",
        _table(rows, UNIVARIATE_COLUMNS),
    ]


def render_markdown(card: dict[str, Any]) -> str:
    m = card["metrics"]
    d = m["dataset"]
    cal = m["calibration"]
    name = d["name"]
    t = card["training"]
    lines = [
        f"# {card['name']}",
        "",
        "_Generated by `peerlend-oracle train` (`oracle/model/train.py`); numbers are measured, not edited._",
        "",
        f"- **Model id** (sha256 of `{card['artifact']}`, pushed on-chain): `{card['model_id']}`",
        f"- **Trained** on {name} with seed {t['seed']} in {t['seconds_model']} s "
        f"({t['seconds_total']} s with the comparison and benchmarks) on "
        + ", ".join(f"{k} {v}" for k, v in t["versions"].items()),
        f"- **Method**: {card['method']}.",
        "",
        "## Headline: cross-validated, beside plain logistic regression (LR) and gradient boosting (GB)",
        "",
        _protocol(card),
        "",
        _table(headline_rows(card)) if headline_rows(card) else "_not run (train --compare)_\n",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        "## Data",
        "",
        f"- Source: {d['source']}; {d['rows']:,} loans, {d['bad']:,} bad ({d['bad_rate']:.2%}).",
        f"- Split: {m['split']['kind']}, {m['split']['train']:,} train / {m['split']['holdout']:,} holdout "
        f"({m['split']['holdout_bad']} bad); every choice, the calibration and the scaling are made inside "
        "the training part; the holdout is read once, for the numbers below.",
        f"- Data fingerprint (sha256): `{d['fingerprint']}`",
        "- Columns not used: " + "; ".join(f"`{k}` ({v})" for k, v in d["excluded_columns"].items()) + ".",
        "",
        "## Features: trend, stability, information value",
        "",
        "Model inputs: " + ", ".join(f"`{f}`" for f in card["input_fields"]) + ".",
        "",
        _table(
            m["iv_table"],
            [
                "feature",
                "type",
                "trend",
                "mean_iv",
                "folds_selected",
                "in_model",
                "n_bins",
                *(["coefficient"] if m["choices"].get("coding", "woe") == "woe" else []),
                "points_range",
                "note",
            ],
        ),  # fmt: skip
        "## Choices made on cross-validation",
        "",
        *_choices(m),
        "## Grades: PD bands and scaling",
        "",
        "Each grade is a PD range; the on-chain thresholds (A ≥ 740 … E ≥ 500) are fixed, the scaling is "
        "fitted so that the bands suit the training book (`oracle/model/grading.py`).",
        "",
        _table(card["grade_bands"], ["grade", "number", "min_score", "pd_min", "pd_max"]),
        *_grades(m),
        f"Holdout score percentiles: {', '.join(f'{k} {v}' for k, v in m['score_quantiles_holdout'].items())}.",
        "",
        f"## Holdout ({name}, read once)",
        "",
        _table([_holdout_row(name, m)]),
        f"Out-of-fold (training part) AUC {m['oof']['auc']}, KS {m['oof']['ks']}, Brier {m['oof']['brier']}.",
        "",
    ]
    cv = m.get("cv")
    if cv and any(k.startswith("scorecard +") for k in cv["models"]):
        lines += ["### What leaving out an unattested input costs", ""]
        base = cv["models"]["scorecard"]
        for key, other in cv["models"].items():
            if key.startswith("scorecard +"):
                lines.append(
                    f"- {key[len('scorecard ') :]}: CV AUC {other['auc_mean']:.3f} ± {other['auc_sd']:.3f} "
                    f"vs {base['auc_mean']:.3f} ± {base['auc_sd']:.3f} without it "
                    f"(cost {other['auc_mean'] - base['auc_mean']:+.3f})."
                )
        lines.append("")
    lines += _univariate(name, m)
    lines += [
        "## Calibration",
        "",
        f"{cal['method']}: `logit PD = {cal['intercept']} + {cal['slope']} × raw logit`. Holdout Brier "
        f"{cal['brier_holdout']} (predicting the base rate {cal['brier_base_rate']}); mean PD "
        f"{cal['mean_pd_holdout']} vs observed bad rate {cal['bad_rate_holdout']}.",
        "",
        "Reliability (holdout, 10 equal-count bins of predicted PD):",
        "",
        _table(cal["reliability"], RELIABILITY_COLUMNS),
        "## Stability",
        "",
        f"PSI between training-part and holdout scores: {m['psi_train_holdout']} ({m['split']['kind']} "
        "split; < 0.10 stable). Out-of-time numbers are in the loans_full_schema benchmark below. In "
        "production, `peerlend-oracle monitor` computes the PSI of the service's stored applications "
        "against the training score distribution stored in the artifact.",
        "",
        "## Fairness",
        "",
        _fairness(m),
        "## Benchmarks (identical pipeline, each with its own grade bands)",
        "",
        _table([_holdout_row(name, m)] + [_holdout_row(k, r) for k, r in card["benchmarks"].items()]),
        card["literature"]["note"],
        "",
    ]
    for bench, report in card["benchmarks"].items():
        lines += [
            f"### {bench}",
            "",
            f"Source: {report['dataset']['source']}. Split: {report['split']['kind']}"
            + (
                f", holdout from {report['split']['holdout_from']}"
                if "holdout_from" in report["split"]
                else ""
            )
            + f". Features: {', '.join(f'`{f}`' for f in report['features'])}.",
            "",
            *_grades(report),
            _fairness(report),
            *_univariate(bench, report, level="####"),
        ]
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
        f"Base points {m['base_points']}; a score is the base plus, per feature, the points of the "
        "bin its value falls in and, where the feature has a line, the line's points at its value.",
        "",
        _table(m["points_table"], ["feature", "bin", "count", "bad_rate", "woe", "points"]),
        "## Limitations",
        "",
        *[f"- {item}" for item in card["limitations"]],
        "",
    ]
    return "\n".join(lines)
