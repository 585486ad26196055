"""Fixtures of the credit-model tests.

The production model is trained once per data+code version: `train_with_report` caches a
finished run under .cache/models/runs/<key> (key = hash of oracle/model/*.py, the data, the seed,
the options and library versions) behind a file lock, so parallel workers and repeated runs
reuse it. The benchmarks run through the same pipeline without the (slow) model comparison.
"""

from __future__ import annotations

import pytest

from oracle.model import load_model, train_with_report


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """TrainResult of the production model (artifact, model id, model card without benchmarks)."""
    return train_with_report(tmp_path_factory.mktemp("credit-model"))


@pytest.fixture(scope="session")
def credit_model(trained_model):
    """The loaded CreditModel."""
    return load_model(trained_model.artifact)


@pytest.fixture(scope="session")
def benchmark_reports():
    """Pipeline reports of German Credit and credit_data (no comparison models)."""
    from oracle.model.data import load_credit_data, load_german_credit
    from oracle.model.evaluate import run_pipeline

    return {
        "german_credit": run_pipeline(load_german_credit()).report,
        "credit_data": run_pipeline(load_credit_data()).report,
    }
