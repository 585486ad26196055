"""`peerlend-oracle`: the oracle's command line (a click group; service commands register on it).

peerlend-oracle train [--data FILE.csv|parquet --target COLUMN [--bad VALUE] [--features a,b] [--time COLUMN]]
                      [--out DIR] [--card-dir DIR] [--seed N] [--no-compare] [--no-benchmarks] [--no-cache]
peerlend-oracle monitor [--model PATH] [--db-url URL] [--threshold PSI]
peerlend-oracle score-application --model PATH --json FILE [--on-time N --late N --defaults N]
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click


@click.group()
def main() -> None:
    """Peerlend credit oracle: train the credit model, score applications."""


@main.command("train")
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Your loan book (.csv or .parquet), one row per loan [default: the packaged lending_club].",
)
@click.option("--target", default=None, help="Outcome column of --data (required with --data).")
@click.option("--bad", "bad_value", default=None, help="Value of --target meaning default [default: 1/True].")
@click.option(
    "--features", default=None, help="Comma-separated candidate feature columns [default: all others]."
)
@click.option("--time", "time_column", default=None, help="Issue-time column: holdout out of time.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the artifact and model card [default: .cache/models].",
)
@click.option(
    "--card-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write model_card.json/.md here (e.g. oracle/model to update the committed card).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Split and CV seed.")
@click.option(
    "--compare/--no-compare",
    default=True,
    show_default=True,
    help="Cross-validate beside plain logistic regression and gradient boosting for the card (slow).",
)
@click.option(
    "--benchmarks/--no-benchmarks",
    default=None,
    help="Also run German Credit, credit_data and loans_full_schema [default: on without --data].",
)
@click.option("--cache/--no-cache", default=True, show_default=True, help="Reuse an identical cached run.")
def train_command(
    data: Path | None,
    target: str | None,
    bad_value: str | None,
    features: str | None,
    time_column: str | None,
    out: Path | None,
    card_dir: Path | None,
    seed: int,
    compare: bool,
    benchmarks: bool | None,
    cache: bool,
) -> None:
    """Train the scorecard (lending_club, or --data); print the metrics and the model id."""
    from oracle.model.data import load_table
    from oracle.model.train import train_with_report

    try:
        dataset = None
        if data is not None:
            if target is None:
                raise click.ClickException("--data needs --target COLUMN")
            names = [f.strip() for f in features.split(",") if f.strip()] if features else None
            dataset = load_table(data, target, bad=bad_value, features=names, time=time_column)
        elif target or features or time_column or bad_value:
            raise click.ClickException("--target/--bad/--features/--time need --data")
        result = train_with_report(
            out,
            dataset=dataset,
            seed=seed,
            benchmarks=(data is None) if benchmarks is None else benchmarks,
            compare=compare,
            card_dir=card_dir,
            reuse_cache=cache,
        )
    except (RuntimeError, ValueError, OSError) as error:
        raise click.ClickException(str(error).splitlines()[0]) from None
    click.echo(result.summary())


@main.command("monitor")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Model artifact [default: PEERLEND_ORACLE_MODEL_PATH].",
)
@click.option("--db-url", default=None, help="Oracle service database [default: PEERLEND_ORACLE_DB_URL].")
@click.option(
    "--threshold", type=click.FloatRange(min=0), default=0.10, show_default=True, help="Warn at this PSI."
)
def monitor_command(model_path: Path | None, db_url: str | None, threshold: float) -> None:
    """PSI of the stored applications' scores against the training scores; exit 1 above --threshold."""
    from oracle.model import load_model
    from oracle.model.monitor import stability
    from oracle.service.settings import OracleSettings

    try:
        settings = OracleSettings()
        model_path = model_path or settings.model_path
        if model_path is None:
            raise ValueError("no model: pass --model or set PEERLEND_ORACLE_MODEL_PATH")
        result = stability(load_model(model_path), stored_applications(db_url or settings.db_url))
    except ValueError as error:
        raise click.ClickException(str(error).splitlines()[0]) from None
    click.echo(json.dumps(result, indent=2))
    if result["psi"] >= threshold:
        click.echo(
            f"warning: PSI {result['psi']:.3f} >= {threshold:g} over {result['applications']} applications: "
            "the applicants no longer look like the training book; re-validate or retrain",
            err=True,
        )
        raise SystemExit(1)


def stored_applications(db_url: str) -> list[dict]:
    """The model inputs of every application the oracle service has stored."""
    from sqlmodel import select

    from oracle.service import store

    engine = store.make_engine(db_url)
    try:
        with store.session(engine) as db:
            return [row.fields for row in db.exec(select(store.Application)).all()]
    finally:
        engine.dispose()


@main.command("score-application")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Model artifact (model-<sha12>.json).",
)
@click.option(
    "--json", "json_file", required=True, type=click.File("r"), help="Application JSON file ('-' = stdin)."
)
@click.option("--on-time", type=click.IntRange(min=0), default=None, help="Peerlend repayments made on time.")
@click.option("--late", type=click.IntRange(min=0), default=None, help="Peerlend repayments made late.")
@click.option("--defaults", type=click.IntRange(min=0), default=None, help="Peerlend loans defaulted.")
def score_application(
    model_path: Path, json_file, on_time: int | None, late: int | None, defaults: int | None
) -> None:
    """Score one application; print score, grade, pd, reasons and the model id as JSON.

    With any of --on-time/--late/--defaults the on-chain policy is applied too."""
    from oracle.model import RepaymentRecord, load_model

    try:
        application = json.load(json_file)
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{json_file.name}: not valid JSON ({error.msg} at line {error.lineno})"
        ) from None
    try:
        model = load_model(model_path)
        result = model.score(application)
        if any(v is not None for v in (on_time, late, defaults)):
            record = RepaymentRecord(on_time=on_time or 0, late=late or 0, defaults=defaults or 0)
            result = model.adjust(result, record)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(asdict(result), indent=2))


# The oracle service's commands (oracle/service/commands.py): `serve`, `score`.
from oracle.service.commands import score, serve  # noqa: E402

main.add_command(serve)
main.add_command(score)


if __name__ == "__main__":
    main()
