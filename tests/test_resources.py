"""The composition root (``recagents.resources``) and the shared vocabulary: one place opens the
parts, lazily; the closed sets are spelled once; the former names of the recommendation path
still read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from recagents import vocabulary
from recagents.agents.state import context_of
from recagents.assistant.config import AssistantConfig
from recagents.errors import InvalidArgumentError
from recagents.llm.weights import LOCAL_MODELS
from recagents.resources import AppResources, _with_context
from recagents.services.requests import ItemMetadataRequest
from recagents.settings import Settings


def test_the_closed_sets_are_spelled_once():
    assert set(LOCAL_MODELS) == set(vocabulary.LOCAL_MODEL_NAMES)
    assert Settings.model_fields["llm_provider"].annotation == vocabulary.LLMProvider
    assert Settings.model_fields["local_model"].default == vocabulary.DEFAULT_LOCAL_MODEL
    fields = ItemMetadataRequest.model_json_schema()["properties"]["fields"]["anyOf"][0]
    assert tuple(fields["items"]["enum"]) == vocabulary.ITEM_FIELDS
    assert set(vocabulary.ITEM_PAGE_FIELDS) < set(vocabulary.ITEM_FIELDS)
    assert vocabulary.MODES == get_args(vocabulary.Mode) == ("tools", "plan")


@pytest.mark.parametrize(
    ("given", "read"),
    [
        ("agents", "agents"),
        ("engine", "engine"),
        ("arag", "agents"),
        ("bpr", "engine"),
        (None, None),
    ],
)
def test_the_recommendation_path_reads_its_former_names(given, read):
    assert vocabulary.recommend_via_of(given) == read


def test_an_unknown_recommendation_path_is_refused():
    with pytest.raises(ValueError, match="agents or engine"):
        vocabulary.recommend_via_of("ease")


def test_the_assistant_config_reads_the_former_key_and_values():
    assert AssistantConfig().recommend_via == "agents"
    assert AssistantConfig.model_validate({"recommend_engine": "bpr"}).recommend_via == "engine"
    assert AssistantConfig(recommend_via="arag").recommend_via == "agents"
    # an override (a flag) wins over the file's former key
    both = {"recommend_engine": "arag", "recommend_via": "engine"}
    assert AssistantConfig.model_validate(both).recommend_via == "engine"


def test_the_root_opens_the_stores_and_starts_no_llm(tool_settings, sqlite_url):
    settings = tool_settings.model_copy(update={"database_url": sqlite_url})
    with AppResources.open(settings, recommend_via="bpr") as resources:
        assert resources.recommend_via == "engine"
        assert resources.llm is None and resources.llm_status()["status"].startswith("not started")
        assert resources.services.holdout == settings.holdout
        assert resources.services.store.item_ids
        context = resources.arag_context(llm=False)
        assert context.llm is None and context.services is resources.services
    with AppResources.open(settings, holdout="test") as resources:
        assert resources.services.holdout == "test"


def test_warming_opens_what_a_first_request_reads_and_no_llm_when_told(
    tool_settings, sqlite_url, tool_recommender, tool_vectors
):
    settings = tool_settings.model_copy(update={"database_url": sqlite_url})
    with AppResources.open(settings) as resources:
        seconds = resources.warm(llm=False)
        services = resources.services
        assert "llm" not in seconds and resources.llm is None
        assert {"engine", "plot vectors", "swing", "demonstrations"} <= set(seconds)
        assert all(s >= 0 for s in seconds.values())
        assert services.recommender is not None and services.swing is not None
        assert services.vectors is not None and services.agent_store is not None
        assert resources.demos is not None and resources.checkpointer is not None
        # both banks' question vectors are computed (cached properties), not left to the first turn
        assert "_vectors" in vars(resources.demos) and "_vectors" in vars(resources.demos.forms)


def test_the_arag_graph_needs_its_context():
    with pytest.raises(InvalidArgumentError, match="ARAGContext"):
        context_of(Runtime(context=None))


def test_a_studio_graph_brings_its_context():
    @dataclass
    class Context:
        value: int

    class State(TypedDict):
        seen: int

    def node(state: State, runtime: Runtime[Context]) -> dict:
        return {"seen": runtime.context.value}

    builder = StateGraph(State, context_schema=Context)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = _with_context(builder.compile(), Context(7))
    assert graph.invoke({"seen": 0}) == {"seen": 7}
    assert graph.invoke({"seen": 0}, context=Context(3)) == {"seen": 3}  # a run's own wins
