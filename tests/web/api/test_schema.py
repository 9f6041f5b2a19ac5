"""Schemathesis against the API's own OpenAPI schema: every non-LLM operation (the recommend
routes with ``llm=false``) with generated requests — no 5xx, status codes, content types and
bodies as documented. ``/chat`` (LLM only) is left out. The generated cases are counted and
reported in the terminal summary (tests/web/api/conftest.py); ``MAX_EXAMPLES`` per operation (plus
schemathesis's coverage phase) keeps the run to seconds."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from recagents.settings import Settings
from recagents.web.host import create_app

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CASES: Counter[str] = Counter()

# The schema is read from an app built at import, without serving it (``app.openapi()``: no
# lifespan runs, so nothing opens — a clone without built stores collects this module too); the
# cases are sent to ``api``'s app (SQLite test store, no tokens, loopback, a failing test if
# anything asks for the LLM) through one ASGI session.
# (``schemathesis.pytest.from_fixture`` fails on pytest 9.)
schema = schemathesis.openapi.from_dict(
    create_app(Settings(_env_file=None), chat=False).openapi()
).exclude(path="/chat")


@pytest.fixture
def session(api, request):
    request.config.recagents_schemathesis = (CASES, MAX_EXAMPLES)  # for the terminal summary
    with asgi.get_client(api.app) as client:
        yield client


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, session):
    if any(p.name == "llm" for p in case.operation.query):
        case.query = {**(case.query or {}), "llm": "false"}
    operation = case.operation
    probe = case.method.upper() != operation.method.upper()  # an unsupported-method probe
    CASES["(other methods)" if probe else f"{operation.method.upper()} {operation.path}"] += 1
    case.call_and_validate(session=session, checks=CHECKS)
