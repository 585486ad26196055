"""How the demo gets real credit scores on-chain.

`in_process()` loads (or trains, once) the credit model, scores each borrower's application
and pushes the scores with the oracle service's key, exactly as the service would.
"""

from __future__ import annotations

import os
from pathlib import Path

from peerlend.deployments import ROOT

MODEL_CACHE = Path(os.environ.get("PEERLEND_MODEL_DIR", ROOT / ".cache" / "models"))
SCORE_TTL = 180 * 86_400


def load_or_train_model(directory: Path = MODEL_CACHE):
    """The newest artifact in `directory`, training one from the packaged data if none exists."""
    from oracle.model import load_model, train

    artifacts = sorted(directory.glob("model-*.joblib"), key=lambda path: path.stat().st_mtime)
    if not artifacts:
        directory.mkdir(parents=True, exist_ok=True)
        train(directory)
        artifacts = sorted(directory.glob("model-*.joblib"), key=lambda path: path.stat().st_mtime)
    return load_model(artifacts[-1])


def in_process(model=None):
    def score_applicants(story, names):
        from peerlend.demo import APPLICATIONS

        credit_model = model or load_or_train_model()
        oracle = story.contracts["CreditOracle"]
        results = {name: credit_model.score(APPLICATIONS[name]) for name in names}
        accounts = [story.cast.borrowers[name].address for name in names]
        model_id = bytes.fromhex(credit_model.model_id.removeprefix("0x"))
        oracle.push_scores(accounts, [results[name].score for name in names], model_id, SCORE_TTL,
                           sender=story.cast.oracle_key)  # fmt: skip
        onchain = {name: oracle.score_of(story.cast.borrowers[name].address) for name in names}
        return {
            name: (record.score, record.grade, "0x" + record.model.hex()) for name, record in onchain.items()
        }

    return score_applicants
