"""The comparison's standard error of the scorecard - LR difference."""

from __future__ import annotations

import numpy as np
import pytest

from oracle.model.compare import corrected_se


def test_the_standard_error_is_corrected_for_overlapping_training_parts():
    differences = np.array([0.01, -0.02, 0.03, 0.00, -0.01] * 6)  # 30 folds of 10-fold CV
    sd = differences.std(ddof=1)
    assert corrected_se(differences, folds=10) == pytest.approx(sd * np.sqrt(1 / 30 + 1 / 9))
    naive = sd / np.sqrt(30)
    assert corrected_se(differences, folds=10) == pytest.approx(naive * np.sqrt(1 + 30 / 9))  # ~2.08x
    # more folds share more of their training rows with each other: the correction shrinks
    assert corrected_se(differences, folds=20) < corrected_se(differences, folds=10)
