"""Training: a data set -> artifact + model card; the production model is lending_club's.

``train(output_dir)`` fits the production scorecard and returns the artifact path;
:func:`train_with_report` also returns the model card. ``dataset=`` trains on any
:class:`~oracle.model.data.Dataset` (``peerlend-oracle train --data`` builds one with
:func:`oracle.model.data.load_table`). ``compare=True`` adds the cross-validated comparison
with plain logistic regression and gradient boosting (:mod:`oracle.model.compare`) to the card;
``benchmarks=True`` runs German Credit, credit_data and the out-of-time loans_full_schema
through the same pipeline for the card.

Training is deterministic (see ``oracle.model.evaluate``), so a finished run is cached under
``<cache>/models/runs/<key>``, the key hashing the code of ``oracle/model``, the data, the seed
and the options; a later call with the same key copies the cached files instead of refitting
(``reuse_cache=False`` refits).
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
from oracle.model.artifact import build, model_id, write_artifact
from oracle.model.data import (
    Dataset,
    load_credit_data,
    load_german_credit,
    load_lending_club,
    load_loans_full_schema,
)
from oracle.model.evaluate import SEED, run_pipeline, summary_line
from oracle.model.scorecard import ScorecardConfig

CARD_JSON = "model_card.json"
CARD_MD = "model_card.md"
BENCHMARKS = {
    "german_credit": load_german_credit,
    "credit_data": load_credit_data,
    "loans_full_schema": load_loans_full_schema,
}


def cache_dir() -> Path:
    """``$PEERLEND_CACHE_DIR``, else ``<repo>/.cache`` in a checkout, else ``~/.cache/peerlend``."""
    if os.environ.get("PEERLEND_CACHE_DIR"):
        return Path(os.environ["PEERLEND_CACHE_DIR"])
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return repo / ".cache"
    return Path.home() / ".cache" / "peerlend"


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


def build_artifact(
    dataset: Dataset, config: ScorecardConfig, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fits the scorecard on ``dataset``; returns (artifact, evaluation report)."""
    result = run_pipeline(dataset, config, seed)
    used = set(result.scorecard.feature_names)
    artifact = build(
        dataset={
            "name": dataset.name,
            "source": dataset.source,
            "rows": int(len(dataset.y)),
            "fingerprint": dataset.fingerprint,
        },
        schema=dataset.schema,
        scorecard=result.scorecard,
        bands=result.report["scaling"]["bands"],
        train_scores=result.train_scores,
        seed=seed,
        config=asdict(config),
    )
    report = dict(result.report)
    report["points_table"] = result.scorecard.points_table()
    report["base_points"] = round(result.scorecard.base_points, 2)
    report["schema"] = [f for f in dataset.schema.to_list() if f["name"] in used]
    return artifact, report


def _variants(dataset: Dataset) -> dict[str, Dataset]:
    """Feature sets the card compares against (the AUC cost of what we leave out)."""
    if dataset.name == "lending_club":
        return {"+ verification_status": load_lending_club(exclude={})}
    return {}


def _cache_key(dataset: Dataset, seed: int, options: dict[str, Any], config: ScorecardConfig) -> str:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(json.dumps(versions(), sort_keys=True).encode())
    digest.update(json.dumps([seed, options, asdict(config)], sort_keys=True).encode())
    digest.update(dataset.fingerprint.encode() + dataset.name.encode())
    digest.update(json.dumps(dataset.schema.to_list(), sort_keys=True).encode())
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
    (directory / CARD_JSON).write_text(json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    (directory / CARD_MD).write_text(model_card.render_markdown(card))


def _fit(
    output_dir: Path, dataset: Dataset, seed: int, benchmarks: bool, compare: bool, config: ScorecardConfig
) -> tuple[Path, dict[str, Any]]:
    from oracle.model.compare import cross_validate

    started = time.perf_counter()
    artifact, report = build_artifact(dataset, config, seed)
    path = write_artifact(artifact, output_dir)
    model_seconds = round(time.perf_counter() - started, 1)
    if compare:
        report["cv"] = cross_validate(dataset, config, seed, variants=_variants(dataset))
    bench = {}
    if benchmarks:
        for name, load in BENCHMARKS.items():
            bench_data = load()
            bench[name] = run_pipeline(bench_data, config, seed).report
            if compare:
                bench[name]["cv"] = cross_validate(bench_data, config, seed)
    card = model_card.build_card(
        model_id=model_id(path),
        artifact_name=path.name,
        artifact=artifact,
        report=report,
        benchmarks=bench,
        training={
            "seed": seed,
            "seconds_model": model_seconds,
            "seconds_total": round(time.perf_counter() - started, 1),
            "versions": versions(),
        },
    )
    _write_card(card, output_dir)
    return path, card


def rebuild_card(directory: str | Path) -> dict[str, Any]:
    """Rebuilds ``model_card.json``/``.md`` in ``directory`` from its artifact and the measured
    reports already there (after a change to the card's wording, without refitting)."""
    directory = Path(directory)
    (artifact_path,) = directory.glob("model-*.json")
    old = json.loads((directory / CARD_JSON).read_text())
    card = model_card.build_card(
        model_id=model_id(artifact_path),
        artifact_name=artifact_path.name,
        artifact=json.loads(artifact_path.read_bytes()),
        report=old["metrics"],
        benchmarks=old["benchmarks"],
        training=old["training"],
    )
    _write_card(card, directory)
    return card


def train_with_report(
    output_dir: str | Path | None = None,
    *,
    dataset: Dataset | None = None,
    seed: int = SEED,
    benchmarks: bool = False,
    compare: bool = False,
    card_dir: str | Path | None = None,
    reuse_cache: bool = True,
    config: ScorecardConfig | None = None,
) -> TrainResult:
    """Trains (or reuses an identical cached run), writes ``model-<sha12>.json``,
    ``model_card.json`` and ``model_card.md`` into ``output_dir`` (default ``.cache/models``),
    and the two card files also into ``card_dir`` if given."""
    config = config or ScorecardConfig()
    dataset = dataset if dataset is not None else load_lending_club()
    output_dir = Path(output_dir) if output_dir is not None else default_output_dir()
    cached = False
    if reuse_cache:
        key = _cache_key(dataset, seed, {"benchmarks": benchmarks, "compare": compare}, config)
        slot = cache_dir() / "models" / "runs" / key
        with _locked(slot.with_suffix(".lock")):
            artifacts = sorted(slot.glob("model-*.json"))
            if artifacts and (slot / CARD_JSON).is_file():
                cached = True
            else:
                shutil.rmtree(slot, ignore_errors=True)
                tmp = slot.with_name(f"{key}.tmp{os.getpid()}")
                shutil.rmtree(tmp, ignore_errors=True)
                _fit(tmp, dataset, seed, benchmarks, compare, config)
                tmp.rename(slot)
                artifacts = sorted(slot.glob("model-*.json"))
        source = artifacts[0]
        output_dir.mkdir(parents=True, exist_ok=True)
        path = output_dir / source.name
        if path.resolve() != source.resolve():
            shutil.copyfile(source, path)
            for name in (CARD_JSON, CARD_MD):
                shutil.copyfile(slot / name, output_dir / name)
        card = json.loads((slot / CARD_JSON).read_text())
    else:
        path, card = _fit(output_dir, dataset, seed, benchmarks, compare, config)
    if model_id(path) != card["model_id"]:
        raise RuntimeError(f"{path}: artifact does not match its model card")
    if card_dir is not None:
        _write_card(card, Path(card_dir))
    return TrainResult(artifact=path, model_id=card["model_id"], card=card, cached=cached)


def train(output_dir: str | Path | None = None, **options: Any) -> Path:
    """Trains the production scorecard and returns the artifact's path (see
    :func:`train_with_report` for the options)."""
    return train_with_report(output_dir, **options).artifact
