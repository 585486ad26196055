"""schemathesis against the API's own OpenAPI document: no input may cause a server error.

Runs on the indexed lifecycle chain, so generated ids and addresses hit real rows as well as
missing ones; every answer must be a 2xx or a 4xx with a message, never a 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from backend.api.app import create_app


@pytest.fixture(scope="module")
def api_schema(indexed, chain):
    settings_, engine, _ = indexed
    app = create_app(settings_, engine=engine)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# The event stream never ends by design (tests/backend/test_stream.py drives it over HTTP);
# fuzzing it only waits out each generated request.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/events/stream")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call_and_validate(checks=[not_a_server_error])
    if response.status_code >= 400:
        assert response.json().get("detail"), f"{case.method} {case.path}: a 4xx must carry a message"
