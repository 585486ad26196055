"""The model artifact, its on-chain id, and the loaded model the service scores with.

The artifact is canonical JSON (RFC 8785: sorted keys, no whitespace, shortest round-trip
numbers) of plain values: the application schema, the scorecard table (bins, WOE, per-bin
weights or WOE coefficients, calibration — every number rounded to six significant digits before it is
written), the score scaling and its grade PD bands, the policy parameters and the training
score distribution that ``peerlend-oracle monitor`` compares live scores with. Its sha256 is the
model id pushed on-chain with every score (``CreditOracle.push_scores(..., model, ...)``), so a
score names the exact bytes that made it. :class:`CreditModel` scores from these bytes only, so
the served model is the hashed one; anyone can rebuild the same bytes with
``peerlend-oracle train`` (training is deterministic, see ``oracle.model.evaluate``).

JSON, not a pickle: loading an artifact never runs code.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import rfc8785

from oracle.model.data import Schema
from oracle.model.policy import PolicyParams, apply_policy
from oracle.model.policy import RepaymentRecord as RepaymentRecord
from oracle.model.scorecard import GRADE_THRESHOLDS, Scaling, Scorecard, grade_of, round_score

ARTIFACT_FORMAT = "peerlend-credit-scorecard"
#: v3 added the indicator coding (``scorecard.coding``, ``scorecard.bin_weights``); v4 the line
#: codings (a feature's ``line``, ``scorecard.line_weights``); v5 lines in ``ln(1 + x)`` (a
#: feature's ``line_transform``). Code that knows only an older version refuses a newer
#: artifact instead of scoring it without its weights or with the wrong transform.
ARTIFACT_VERSION = 5
#: The committed artifact of the production model (package data, see docs/credit_model.md).
COMMITTED_ARTIFACT = "model.json"


def model_id_of(data: bytes) -> str:
    """``0x`` + sha256 of the artifact bytes: the bytes32 model id."""
    return "0x" + hashlib.sha256(data).hexdigest()


def model_id(path: str | Path) -> str:
    """The on-chain model id (bytes32 as 0x-prefixed hex) of the artifact at ``path``."""
    return model_id_of(Path(path).read_bytes())


def dumps(artifact: Mapping[str, Any]) -> bytes:
    """The artifact's canonical bytes (RFC 8785 JSON)."""
    return rfc8785.dumps(_plain(artifact))


def _plain(value: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python numbers, whole floats stay floats' values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"artifact values must be finite, got {value}")
    return value


def write_artifact(artifact: Mapping[str, Any], directory: str | Path) -> Path:
    """Writes ``model-<first 12 hex of sha256>.json`` into ``directory`` (atomically)."""
    data = dumps(artifact)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"model-{model_id_of(data)[2:14]}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def committed_artifact() -> bytes:
    """The bytes of the committed production artifact (``oracle/model/model.json``)."""
    return resources.files("oracle.model").joinpath(COMMITTED_ARTIFACT).read_bytes()


@dataclass(frozen=True)
class ScoreResult:
    score: int  # 300..850
    grade: int  # 1 = A .. 5 = E, 0 = ineligible
    pd: float  # calibrated probability of default of the scorecard
    reasons: list[str] = field(default_factory=list)  # features pulling the score down, worst first
    model_id: str = ""  # 0x + sha256 of the artifact


class CreditModel:
    """A loaded scorecard. ``score`` takes an application (the artifact's schema field names);
    ``adjust`` applies the on-chain policy."""

    def __init__(self, artifact: Mapping[str, Any], model_id: str):
        if artifact.get("format") != ARTIFACT_FORMAT or artifact.get("version") != ARTIFACT_VERSION:
            raise ValueError(f"not a {ARTIFACT_FORMAT} v{ARTIFACT_VERSION} artifact: retrain")
        self.artifact = artifact
        self.model_id = model_id
        self.schema = Schema.from_list(artifact["schema"])
        scaling = Scaling(**artifact["scaling"])
        self.scorecard = Scorecard.from_dict(artifact["scorecard"], scaling)
        self.thresholds: tuple[int, ...] = tuple(artifact["grade_thresholds"])
        self.policy = PolicyParams(**artifact["policy"])
        names = set(self.scorecard.feature_names)
        missing = names - set(self.schema.names)
        if missing:
            raise ValueError(f"artifact scores fields its schema lacks: {', '.join(sorted(missing))}")
        #: The application fields the model uses, in schema order; only these are required.
        self.input_fields: tuple[str, ...] = tuple(n for n in self.schema.names if n in names)

    def validate(self, application: Any) -> dict[str, Any]:
        """The model's inputs from ``application``: every field must be a schema field with an
        allowed value and every input field must be present, else ``ValueError`` naming the field.
        Schema fields the model does not use are checked, then left out."""
        fields = self.schema.validate(application, required=self.input_fields)
        return {name: fields[name] for name in self.input_fields}

    def score(self, application: Any) -> ScoreResult:
        fields = self.validate(application)
        X = self.schema.features(fields)
        raw = float(self.scorecard.raw_score(X)[0])
        score = int(round_score(np.array([raw]))[0])
        pd = float(self.scorecard.scaling.pd_at(raw))
        return ScoreResult(
            score=score,
            grade=grade_of(score, self.thresholds),
            pd=round(pd, 6) if math.isfinite(pd) else pd,
            reasons=self.scorecard.reasons(X)[0],
            model_id=self.model_id,
        )

    def score_many(self, applications: list[Mapping[str, Any]]) -> np.ndarray:
        """Model scores (before the policy) of validated applications."""
        return np.array([self.score(a).score for a in applications], dtype=int)

    def adjust(self, result: ScoreResult, history: Any) -> ScoreResult:
        """``result`` adjusted by the borrower's Peerlend record (``oracle.model.policy``);
        ``history`` is a RepaymentRecord, a mapping, or the service's BorrowerHistory. The PD
        stays the scorecard's: the policy moves the score, it is not a calibrated model."""
        outcome = apply_policy(result.score, RepaymentRecord.of(history), self.policy, self.thresholds)
        return replace(
            result, score=outcome.score, grade=outcome.grade, reasons=[*outcome.reasons, *result.reasons]
        )

    @property
    def grade_bands(self) -> list[dict[str, Any]]:
        return list(self.artifact["grade_bands"])

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "input_fields": list(self.input_fields),
            "dataset": self.artifact.get("dataset"),
            "scaling": asdict(self.scorecard.scaling),
            "grade_thresholds": list(self.thresholds),
            "grade_bands": self.grade_bands,
            "policy": asdict(self.policy),
        }


def load_model(path: str | Path, expected_id: str | None = None) -> CreditModel:
    """Loads the artifact at ``path``; its model id is the sha256 of the bytes read. With
    ``expected_id`` (0x-hex), refuses a file with any other hash."""
    data = Path(path).read_bytes()
    return load_model_bytes(data, expected_id, where=str(path))


def load_model_bytes(data: bytes, expected_id: str | None = None, where: str = "artifact") -> CreditModel:
    found = model_id_of(data)
    if expected_id is not None and found != "0x" + expected_id.lower().removeprefix("0x"):
        raise ValueError(f"{where}: model id {found} is not the expected {expected_id}")
    try:
        artifact = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{where}: not a model artifact (expected canonical JSON)") from None
    if not isinstance(artifact, dict):
        raise ValueError(f"{where}: not a model artifact")
    return CreditModel(artifact, found)


def build(
    *,
    dataset: Mapping[str, Any],
    schema: Schema,
    scorecard: Scorecard,
    bands: list[dict[str, Any]],
    train_scores: Mapping[str, Any],
    seed: int,
    config: Mapping[str, Any],
    policy: PolicyParams | None = None,
) -> dict[str, Any]:
    """The artifact's plain values."""
    return {
        "format": ARTIFACT_FORMAT,
        "version": ARTIFACT_VERSION,
        "dataset": dict(dataset),
        "seed": seed,
        "config": dict(config),
        "schema": schema.to_list(),
        "scorecard": scorecard.to_dict(),
        "scaling": asdict(scorecard.scaling),
        "grade_thresholds": list(GRADE_THRESHOLDS),
        "grade_bands": bands,
        "policy": asdict(policy or PolicyParams()),
        "training_scores": dict(train_scores),
    }
