"""`peerlend-oracle`: the oracle's command line (a click group; service commands register on it).

peerlend-oracle train [--out DIR] [--card-dir DIR] [--seed N] [--no-benchmarks] [--no-cache]
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
    "--benchmarks/--no-benchmarks", default=True, show_default=True, help="Run German Credit and credit_data."
)
@click.option("--cache/--no-cache", default=True, show_default=True, help="Reuse an identical cached run.")
def train_command(out: Path | None, card_dir: Path | None, seed: int, benchmarks: bool, cache: bool) -> None:
    """Train the scorecard on lending_club; print the metrics and the model id."""
    from oracle.model.train import train_with_report

    try:
        result = train_with_report(
            out, seed=seed, benchmarks=benchmarks, card_dir=card_dir, reuse_cache=cache
        )
    except (RuntimeError, ValueError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(result.summary())


@main.command("score-application")
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Model artifact (model-<sha12>.joblib).",
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
