"""Hypothesis profiles of the test suites.

`PEERLEND_HYPOTHESIS_PROFILE=mutation` (set by `make mutate` for every mutant it tests) loads
the mutation profile: few examples (`PEERLEND_MUTATION_EXAMPLES`, default 10), derandomized
(the same examples for every mutant and every run, so an outcome can be cached and compared),
no deadline, no example database (a failure saved under one mutant must not decide the next)
and no shrinking (a mutant needs one failing example, not a minimal one). Without it, hypothesis
runs with its defaults and each test's own settings, as in `make test`.

A test that sets its own `max_examples` passes it through `examples(n)`: n as written, capped
at the profile's count while the mutation profile is active.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

PROFILE_ENV = "PEERLEND_HYPOTHESIS_PROFILE"
EXAMPLES_ENV = "PEERLEND_MUTATION_EXAMPLES"
MUTATION = "mutation"

settings.register_profile(
    MUTATION,
    max_examples=int(os.environ.get(EXAMPLES_ENV, "10")),
    derandomize=True,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


def mutation_profile_active() -> bool:
    return os.environ.get(PROFILE_ENV) == MUTATION


def load_profile() -> None:
    """Loads the profile the environment names (called by tests/conftest.py, before any test
    module applies its settings)."""
    if mutation_profile_active():
        settings.load_profile(MUTATION)


def examples(n: int) -> int:
    """A test's own example count, or fewer under the mutation profile."""
    if mutation_profile_active():
        return min(n, settings.get_profile(MUTATION).max_examples)
    return n
