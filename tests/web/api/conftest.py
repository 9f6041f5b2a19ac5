"""REST API test helpers: the host app over the REAL test stores, driven with TestClient.

``api_client(services, ...)`` builds ``create_app(resources=AppResources(...), chat=False)`` and
enters it (so the lifespan runs); ``NoLLM`` resources fail the test if anything asks for the LLM
(every non-LLM route and ``?llm=false`` must answer without it). Scripted LLMs only drive wiring
(deadlines, 503s); the real 0.5B is the evidence (``test_api_llm.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from recagents.errors import BackendUnavailableError
from recagents.resources import AppResources
from recagents.web.host import create_app


@dataclass
class NoLLM(AppResources):
    """Resources whose LLM must not be used: asking for it fails the test."""

    def get_llm(self, model=None):
        pytest.fail("a route asked for the LLM where it must answer without it")


@dataclass
class DeadLLM(AppResources):
    """Resources whose LLM backend cannot start."""

    def get_llm(self, model=None):
        raise BackendUnavailableError("the test LLM backend is unreachable (on purpose)")


@contextmanager
def open_client(
    services,
    *,
    llm=None,
    tokens: str | None = None,
    bind_host: str = "127.0.0.1",
    agents_config=None,
    backend_down: bool = False,
    settings_update: dict | None = None,
    raise_server_exceptions: bool = True,
    **resource_fields,
) -> Iterator[TestClient]:
    """``llm``: a handle; None: asking for the LLM fails the test, or (``backend_down``) the
    backend cannot start. ``settings_update``: more settings (e.g. personal tokens, limits)."""
    settings = services.settings.model_copy(
        update={
            "api_tokens": SecretStr(tokens) if tokens is not None else None,
            **(settings_update or {}),
        }
    )
    resources_cls = AppResources if llm is not None else DeadLLM if backend_down else NoLLM
    resources = resources_cls(settings, services, llm=llm, **resource_fields)
    app = create_app(resources=resources, chat=False, bind_host=bind_host)
    if agents_config is not None:
        app.state.agents_config = agents_config
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        yield client


@pytest.fixture
def api_client() -> Callable[..., contextmanager]:
    """api_client(services, llm=None, tokens=None, bind_host=..., agents_config=None,
    backend_down=False, settings_update=None, raise_server_exceptions=True,
    **AppResources fields) -> a context manager giving a TestClient."""
    return open_client


@pytest.fixture
def api(agent_services) -> Iterator[TestClient]:
    """The API over the SQLite test store, no tokens, on loopback, no LLM allowed."""
    with open_client(agent_services) as client:
        yield client


@pytest.fixture
def read_api(tool_ctx) -> Iterator[TestClient]:
    """The API over the parametrized store (SQLite, and MariaDB under the mysql marker)."""
    with open_client(tool_ctx) as client:
        yield client


@pytest.fixture(scope="session")
def seen_by(ratings_df) -> Callable[[int], set[int]]:
    return lambda uid: set(ratings_df.loc[ratings_df.user_id == uid, "item_id"])


def pytest_terminal_summary(terminalreporter, config) -> None:
    """How many cases schemathesis generated (test_schema.py counts them)."""
    cases, max_examples = getattr(config, "recagents_schemathesis", (None, None))
    if cases:
        terminalreporter.write_line(
            f"schemathesis: {sum(cases.values())} generated cases (fuzzing: at most "
            f"{max_examples} per operation, plus the coverage phase's): "
            + ", ".join(f"{k} {v}" for k, v in sorted(cases.items()))
        )
