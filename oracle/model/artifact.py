"""The model artifact, its on-chain id, and the loaded model the service scores with.

The artifact is a joblib file holding only plain Python values (dicts, lists, tuples, numbers,
strings): the scorecard table, the scaling, the calibration, the grade thresholds, the policy
parameters and the application schema. Its sha256 is the model id pushed on-chain with every
score (``CreditOracle.push_scores(..., model, ...)``), so a score names the exact bytes that made
it — policy included.

joblib files are pickles: load only artifacts you trust. :func:`load_model` hashes the bytes
before unpickling them and, given ``expected_id``, refuses anything else.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from oracle.model.data import (
    APPLICATION_SCHEMA,
    EMP_LENGTH_YEARS,
    LENDING_CLUB_CATEGORICAL,
    validate_application,
)
from oracle.model.policy import PolicyParams, RepaymentRecord, apply_policy
from oracle.model.scorecard import Scorecard, grade_of, round_score

ARTIFACT_FORMAT = "peerlend-credit-scorecard"
ARTIFACT_VERSION = 1
#: Bumped whenever :func:`application_features` changes meaning.
FEATURE_TRANSFORM = "lending_club/emp_length-years/v1"


def model_id_of(data: bytes) -> str:
    """``0x`` + sha256 of the artifact bytes: the bytes32 model id."""
    return "0x" + hashlib.sha256(data).hexdigest()


def model_id(path: str | Path) -> str:
    """The on-chain model id (bytes32 as 0x-prefixed hex) of the artifact at ``path``."""
    return model_id_of(Path(path).read_bytes())


def dumps(artifact: Mapping[str, Any]) -> bytes:
    """The artifact's bytes (deterministic for plain Python values)."""
    buffer = io.BytesIO()
    joblib.dump(dict(artifact), buffer)
    return buffer.getvalue()


def write_artifact(artifact: Mapping[str, Any], directory: str | Path) -> Path:
    """Writes ``model-<first 12 hex of sha256>.joblib`` into ``directory`` (atomically)."""
    data = dumps(artifact)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"model-{model_id_of(data)[2:14]}.joblib"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def application_features(fields: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Validated application fields -> one-row feature arrays (as ``data.lending_club_features``
    does for the training frame: ``emp_length`` becomes years)."""
    out: dict[str, np.ndarray] = {}
    for name, value in fields.items():
        if name == "emp_length":
            out[name] = np.array([EMP_LENGTH_YEARS[value]], dtype=float)
        elif name in LENDING_CLUB_CATEGORICAL:
            out[name] = np.array([value], dtype=object)
        else:
            out[name] = np.array([float(value)], dtype=float)
    return out


@dataclass(frozen=True)
class ScoreResult:
    score: int  # 300..850
    grade: int  # 1 = A .. 5 = E, 0 = ineligible
    pd: float  # calibrated probability of default of the scorecard
    reasons: list[str] = field(default_factory=list)  # features pulling the score down, worst first
    model_id: str = ""  # 0x + sha256 of the artifact


class CreditModel:
    """A loaded scorecard. ``score`` takes an application (lending_club field names, see
    ``oracle.model.data.APPLICATION_SCHEMA``); ``adjust`` applies the on-chain policy."""

    def __init__(self, artifact: Mapping[str, Any], model_id: str):
        if artifact.get("format") != ARTIFACT_FORMAT or artifact.get("version") != ARTIFACT_VERSION:
            raise ValueError(f"not a {ARTIFACT_FORMAT} v{ARTIFACT_VERSION} artifact")
        if artifact.get("feature_transform") != FEATURE_TRANSFORM:
            raise ValueError(
                f"artifact uses feature transform {artifact.get('feature_transform')!r}, "
                f"this code implements {FEATURE_TRANSFORM!r}: retrain"
            )
        self.artifact = artifact
        self.model_id = model_id
        self.scorecard = Scorecard.from_dict(artifact["scorecard"])
        self.thresholds: tuple[int, ...] = tuple(artifact["grade_thresholds"])
        self.policy = PolicyParams(**artifact["policy"])
        names = set(self.scorecard.feature_names)
        #: The application fields the model uses, in schema order; only these are required.
        self.input_fields: tuple[str, ...] = tuple(s.name for s in APPLICATION_SCHEMA if s.name in names)

    def validate(self, application: Any) -> dict[str, Any]:
        """The model's inputs from ``application``: every field must be a schema field with an
        allowed value and every input field must be present, else ``ValueError`` naming the field.
        Schema fields the model does not use are checked, then left out."""
        fields = validate_application(application, required=self.input_fields)
        return {name: fields[name] for name in self.input_fields}

    def score(self, application: Any) -> ScoreResult:
        fields = self.validate(application)
        X = application_features(fields)
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

    def adjust(self, result: ScoreResult, history: Any) -> ScoreResult:
        """``result`` adjusted by the borrower's Peerlend record (``oracle.model.policy``);
        ``history`` is a RepaymentRecord, a mapping, or the service's BorrowerHistory. The PD
        stays the scorecard's: the policy moves the score, it is not a calibrated model."""
        outcome = apply_policy(result.score, RepaymentRecord.of(history), self.policy, self.thresholds)
        return replace(
            result, score=outcome.score, grade=outcome.grade, reasons=[*outcome.reasons, *result.reasons]
        )

    def describe(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "input_fields": list(self.input_fields),
            "dataset": self.artifact.get("dataset"),
            "scaling": asdict(self.scorecard.scaling),
            "grade_thresholds": list(self.thresholds),
            "policy": asdict(self.policy),
        }


def load_model(path: str | Path, expected_id: str | None = None) -> CreditModel:
    """Loads the artifact at ``path``; its model id is the sha256 of the bytes read. With
    ``expected_id`` (0x-hex), refuses a file with any other hash before unpickling it."""
    data = Path(path).read_bytes()
    found = model_id_of(data)
    if expected_id is not None and found != "0x" + expected_id.lower().removeprefix("0x"):
        raise ValueError(f"{path}: model id {found} is not the expected {expected_id}")
    artifact = joblib.load(io.BytesIO(data))
    if not isinstance(artifact, dict):
        raise ValueError(f"{path}: not a model artifact")
    return CreditModel(artifact, found)
