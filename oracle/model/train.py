"""Training: lending_club scorecard -> artifact + model card; German Credit and credit_data
benchmarks through the identical pipeline.

``train(output_dir)`` returns the artifact path; :func:`train_with_report` also returns the
model card. Training is deterministic (fixed seed, deterministic solvers, an artifact of plain
values), so a finished run is cached under ``<cache>/models/<key>`` where the key hashes the
code of ``oracle/model``, the data, the seed and the library versions; a later call with the
same key copies the cached files instead of refitting (``reuse_cache=False`` refits).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from oracle.model import card as model_card
from oracle.model.artifact import (
    ARTIFACT_FORMAT,
    ARTIFACT_VERSION,
    FEATURE_TRANSFORM,
    model_id,
    write_artifact,
)
from oracle.model.data import (
    APPLICATION_SCHEMA,
    GERMAN_CREDIT_SHA256,
    cache_dir,
    load_credit_data,
    load_german_credit,
    load_lending_club,
)
from oracle.model.evaluate import SEED, run_pipeline, summary_line
from oracle.model.policy import PolicyParams
from oracle.model.scorecard import GRADE_THRESHOLDS, ScorecardConfig

CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
BENCHMARKS = {"german_credit": load_german_credit, "credit_data": load_credit_data}


def default_output_dir() -> Path:
    return cache_dir() / "models"


@dataclass(frozen=True)
class TrainResult:
    artifact: Path
    model_id: str
    card: dict[str, Any]
    cached: bool

    def summary(self) -> str:
        lines = [summary_line(self.card["metrics"])]
        lines += [summary_line(report) for report in self.card.get("benchmarks", {}).values()]
        lines.append(f"artifact {self.artifact}")
        lines.append(f"model id {self.model_id}")
        return "\n".join(lines)


def versions() -> dict[str, str]:
    import numpy
    import optbinning
    import pandas
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
        "optbinning": optbinning.__version__,
    }


def build_artifact(config: ScorecardConfig, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fits the production scorecard on lending_club; returns (artifact, evaluation report)."""
    dataset = load_lending_club()
    result = run_pipeline(dataset, config, seed)
    artifact = {
        "format": ARTIFACT_FORMAT,
        "version": ARTIFACT_VERSION,
        "feature_transform": FEATURE_TRANSFORM,
        "dataset": {
            "name": dataset.name,
            "source": dataset.source,
            "rows": int(len(dataset.y)),
            "fingerprint": dataset.fingerprint,
        },
        "seed": seed,
        "config": {k: v for k, v in asdict(config).items() if k != "scaling"},
        "scorecard": result.scorecard.to_dict(),
        "grade_thresholds": list(GRADE_THRESHOLDS),
        "policy": asdict(PolicyParams()),
        "schema": [asdict(spec) for spec in APPLICATION_SCHEMA],
    }
    report = dict(result.report)
    report["points_table"] = result.scorecard.points_table()
    report["base_points"] = round(result.scorecard.base_points, 2)
    return artifact, report


def _cache_key(seed: int, benchmarks: bool, config: ScorecardConfig) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(json.dumps(versions(), sort_keys=True).encode())
    digest.update(json.dumps([seed, benchmarks, asdict(config)], sort_keys=True).encode())
    digest.update(load_lending_club().fingerprint.encode())
    if benchmarks:
        digest.update(load_credit_data().fingerprint.encode() + GERMAN_CREDIT_SHA256.encode())
    return digest.hexdigest()[:24]


@contextmanager
def _locked(path: Path):
    """An exclusive lock file, so that parallel test workers train once."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_card(card: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    (directory / CARD_MD).write_text(model_card.render_markdown(card))


def _fit(
    output_dir: Path, seed: int, benchmarks: bool, config: ScorecardConfig
) -> tuple[Path, dict[str, Any]]:
    started = time.perf_counter()
    artifact, report = build_artifact(config, seed)
    path = write_artifact(artifact, output_dir)
    lending_seconds = round(time.perf_counter() - started, 1)
    bench = (
        {name: run_pipeline(load(), config, seed).report for name, load in BENCHMARKS.items()}
        if benchmarks
        else {}
    )
    card = model_card.build_card(
        model_id=model_id(path),
        artifact_name=path.name,
        artifact=artifact,
        report=report,
        benchmarks=bench,
        training={
            "seed": seed,
            "seconds_lending_club": lending_seconds,
            "seconds_total": round(time.perf_counter() - started, 1),
            "versions": versions(),
        },
    )
    _write_card(card, output_dir)
    return path, card


def train_with_report(
    output_dir: str | Path | None = None,
    *,
    seed: int = SEED,
    benchmarks: bool = True,
    card_dir: str | Path | None = None,
    reuse_cache: bool = True,
    config: ScorecardConfig | None = None,
) -> TrainResult:
    """Trains (or reuses an identical cached run), writes ``model-<sha12>.joblib``,
    ``model_card.json`` and ``model_card.md`` into ``output_dir`` (default ``.cache/models``),
    and the two card files also into ``card_dir`` if given."""
    config = config or ScorecardConfig()
    output_dir = Path(output_dir) if output_dir is not None else default_output_dir()
    cached = False
    if reuse_cache:
        key = _cache_key(seed, benchmarks, config)
        slot = cache_dir() / "models" / "runs" / key
        with _locked(slot.with_suffix(".lock")):
            artifacts = sorted(slot.glob("model-*.joblib"))
            if artifacts and (slot / CARD_JSON).is_file():
                cached = True
            else:
                shutil.rmtree(slot, ignore_errors=True)
                tmp = slot.with_name(f"{key}.tmp{os.getpid()}")
                shutil.rmtree(tmp, ignore_errors=True)
                _fit(tmp, seed, benchmarks, config)
                tmp.rename(slot)
                artifacts = sorted(slot.glob("model-*.joblib"))
        source = artifacts[0]
        output_dir.mkdir(parents=True, exist_ok=True)
        path = output_dir / source.name
        if path.resolve() != source.resolve():
            shutil.copyfile(source, path)
            for name in (CARD_JSON, CARD_MD):
                shutil.copyfile(slot / name, output_dir / name)
        card = json.loads((slot / CARD_JSON).read_text())
    else:
        path, card = _fit(output_dir, seed, benchmarks, config)
    if model_id(path) != card["model_id"]:
        raise RuntimeError(f"{path}: artifact does not match its model card")
    if card_dir is not None:
        _write_card(card, Path(card_dir))
    return TrainResult(artifact=path, model_id=card["model_id"], card=card, cached=cached)


def train(output_dir: str | Path | None = None, **options: Any) -> Path:
    """Trains the production scorecard and returns the artifact's path (see
    :func:`train_with_report` for the options)."""
    return train_with_report(output_dir, **options).artifact
