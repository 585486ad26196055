"""Peerlend credit model: a binned logistic-regression scorecard, trained on Lending Club data or on
an operator's own loan book.

The API the oracle service uses::

    from oracle.model import load_model, model_id, train

    path = train(".cache/models")            # -> Path to model-<sha12>.json
    model = load_model(path)                 # -> CreditModel
    model.model_id                           # "0x" + sha256 of the artifact (bytes32, on-chain id)
    model.input_fields                       # application fields the model uses
    result = model.score(application)        # -> ScoreResult(score, grade, pd, reasons, model_id)
    result = model.adjust(result, history)   # on-chain repayment policy (oracle.model.policy)

See docs/credit_model.md.
"""

from oracle.model.artifact import CreditModel, ScoreResult, load_model, model_id
from oracle.model.policy import PolicyParams, RepaymentRecord, apply_policy
from oracle.model.scorecard import GRADE_THRESHOLDS, MAX_SCORE, MIN_SCORE, grade_of
from oracle.model.train import TrainResult, train, train_with_report

__all__ = [
    "GRADE_THRESHOLDS",
    "MAX_SCORE",
    "MIN_SCORE",
    "CreditModel",
    "PolicyParams",
    "RepaymentRecord",
    "ScoreResult",
    "TrainResult",
    "apply_policy",
    "grade_of",
    "load_model",
    "model_id",
    "train",
    "train_with_report",
]
