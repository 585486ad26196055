"""How the demo gets real credit scores on-chain.

`in_process()` loads (or trains, once) the credit model, scores each borrower's application
and pushes the scores with the oracle service's key, exactly as the service would.
"""

from __future__ import annotations

import os
from pathlib import Path

from peerlend.vocabulary import DAY

SCORE_TTL = 180 * DAY


def model_cache() -> Path:
    """`$PEERLEND_MODEL_DIR`, else the oracle's model cache (`.cache/models` in a checkout)."""
    from oracle.model.train import default_output_dir

    return Path(os.environ.get("PEERLEND_MODEL_DIR") or default_output_dir())


def model_artifact(directory: Path | None = None) -> Path:
    """The newest model artifact in `directory`, training one from the packaged data if none exists."""
    from oracle.model import train

    directory = directory or model_cache()
    artifacts = sorted(directory.glob("model-*.json"), key=lambda path: path.stat().st_mtime)
    if not artifacts:
        directory.mkdir(parents=True, exist_ok=True)
        train(directory)
        artifacts = sorted(directory.glob("model-*.json"), key=lambda path: path.stat().st_mtime)
    return artifacts[-1]


def load_or_train_model(directory: Path | None = None):
    from oracle.model import load_model

    return load_model(model_artifact(directory))


if __name__ == "__main__":  # `python -m scripts._demo.scoring`: print the artifact path (make demo uses it)
    print(model_artifact())


def in_process(model=None):
    def score_applicants(story, names):
        from scripts._demo.story import APPLICATIONS

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


def via_service(url: str, timeout: float = 120.0):
    """Scores through the running oracle service, the way a borrower's wallet does it:
    a signed application over HTTP, then `request_score()` on-chain, then wait for the push."""

    def score_applicants(story, names):
        import time

        import httpx
        from eth_account import Account

        from oracle.service.signing import sign
        from scripts._demo.story import APPLICATIONS

        oracle = story.contracts["CreditOracle"]
        chain_id = story.record["chain_id"]
        before = {name: oracle.score_of(story.cast.borrowers[name].address).updated_at for name in names}
        for nonce, name in enumerate(names, start=1):
            borrower = story.cast.borrowers[name]
            wallet = Account.from_key(borrower.private_key)
            issued_at = int(time.time())
            fields = APPLICATIONS[name]
            body = {
                "address": borrower.address,
                "fields": fields,
                "nonce": nonce,
                "issued_at": issued_at,
                "scheme": "eip712",
                "signature": sign(wallet, "eip712", chain_id, fields, nonce, issued_at),
            }
            response = httpx.post(f"{url}/applications", json=body, timeout=30)
            if response.status_code >= 400:
                raise RuntimeError(f"oracle service refused {name}'s application: {response.text}")
            oracle.request_score(sender=borrower)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            records = {name: oracle.score_of(story.cast.borrowers[name].address) for name in names}
            if all(records[name].updated_at > before[name] for name in names):
                return {name: (r.score, r.grade, "0x" + r.model.hex()) for name, r in records.items()}
            time.sleep(0.5)
        raise RuntimeError(f"the oracle service at {url} pushed no scores within {timeout:.0f} s")

    return score_applicants
