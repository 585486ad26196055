"""Scoring one account: the stored application through the credit model, adjusted by the
on-chain repayment record (`oracle.model.policy`) and the account's standing now (an active
delinquency withholds a usable score: `oracle.service.standing`), ready to push.

This module is the only place that knows the model package's API; the rest of the service sees
`Scorer.validate` (application fields in → the model inputs to store, or ValueError naming the
bad field) and `Scorer.score` (stored inputs + history → `Scored`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oracle.service.history import BorrowerHistory
from oracle.service.standing import apply_standing

MIN_SCORE, MAX_SCORE = 300, 850


@dataclass(frozen=True)
class Scored:
    account: str
    score: int
    grade: int  # the model's grade; the contract grades again with its own thresholds
    pd: float
    reasons: list[str] = field(default_factory=list)
    model_id: str = ""
    history: dict[str, int] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "score": self.score,
            "grade": self.grade,
            "pd": self.pd,
            "reasons": self.reasons,
            "history": self.history,
        }


class Scorer:
    def __init__(self, model: Any):
        self.model = model
        self.model_id = _model_id_hex(model.model_id)

    @property
    def model_id_bytes(self) -> bytes:
        return bytes.fromhex(self.model_id.removeprefix("0x"))

    @property
    def input_fields(self) -> list[str]:
        return list(self.model.input_fields)

    def validate(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The model's inputs from `fields`, or ValueError naming the bad field (unknown, missing
        or invalid; the model decides). Only what this returns is stored: fields the model
        accepts but does not use are dropped here."""
        inputs = self.model.validate(dict(fields))
        return {name: inputs[name] for name in self.input_fields if name in inputs}

    def score(self, account: str, fields: dict[str, Any], history: BorrowerHistory) -> Scored:
        result = self.model.score(fields)
        result = self.model.adjust(result, history)
        score = int(result.score)
        if not MIN_SCORE <= score <= MAX_SCORE:
            raise ValueError(f"model returned score {score} outside [{MIN_SCORE}, {MAX_SCORE}]")
        scored = Scored(
            account=account,
            score=score,
            grade=int(result.grade),
            pd=float(result.pd),
            reasons=list(result.reasons),
            model_id=self.model_id,
            history=history.as_dict(),
        )
        return apply_standing(scored, history)


def _model_id_hex(model_id: str | bytes) -> str:
    raw = model_id if isinstance(model_id, bytes) else bytes.fromhex(str(model_id).removeprefix("0x"))
    if len(raw) != 32 or raw == bytes(32):
        raise ValueError("the model id must be a nonzero 32-byte hash")
    return "0x" + raw.hex()
