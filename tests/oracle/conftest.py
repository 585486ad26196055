"""Fixtures of the credit-model tests.

The model is trained once per data+code version: `train_with_report` caches a finished run
under .cache/models/runs/<key> (key = hash of oracle/model/*.py, the data, the seed and library
versions) behind a file lock, so parallel workers and repeated runs reuse it.
"""

from __future__ import annotations

import pytest

from oracle.model import load_model, train_with_report


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """TrainResult of the production model with benchmarks (artifact, model id, model card)."""
    return train_with_report(tmp_path_factory.mktemp("credit-model"))


@pytest.fixture(scope="session")
def credit_model(trained_model):
    """The loaded CreditModel."""
    return load_model(trained_model.artifact)
