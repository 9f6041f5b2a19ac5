"""Real parts for the tool tests, built once per session.

- ``tool_recommender``: BPR trained for 2 epochs (quality is irrelevant here, the masking and
  candidate rules are what the tools must keep).
- ``tool_vectors``: a Qdrant local-mode store indexing a small slice of the catalog.
- ``tool_ctx``: a ``ToolContext`` over the parametrized ``metadata_store`` (SQLite and MariaDB).
"""

from __future__ import annotations

import pytest

from recagents.data.movielens import load_ratings, load_users
from recagents.recommender.service import Recommender
from recagents.recommender.swing import SwingIndex
from recagents.recommender.train import train_bpr
from recagents.settings import PROJECT_ROOT, Settings
from recagents.stores.vectors import VectorStore
from recagents.tools import CandidateBus, ToolContext, build_tools
from recagents.tools.results import as_dict

BPR_EPOCHS = 2
VECTOR_ITEMS = 160  # items 1..160 are embedded (a few seconds on 2 cores)


@pytest.fixture(scope="session")
def tool_settings(tmp_path_factory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("tools-data"),
        config_dir=PROJECT_ROOT / "configs",
        max_k=100,
        _env_file=None,
    )


@pytest.fixture(scope="session")
def tool_recommender(tool_settings) -> Recommender:
    # train_bpr hides sys.argv from RecBole and writes nothing to the working directory itself.
    train_bpr(tool_settings, overrides={"epochs": BPR_EPOCHS}, show_progress=False)
    return Recommender.load(tool_settings)


@pytest.fixture(scope="session")
def vector_items() -> frozenset[int]:
    return frozenset(range(1, VECTOR_ITEMS + 1))


@pytest.fixture(scope="session")
def tool_vectors(tool_settings, catalog, vector_items) -> VectorStore:
    store = VectorStore.open(tool_settings, read_only=False)
    store.index_catalog([c for c in catalog if c["item_id"] in vector_items], show_progress=False)
    yield store
    store.close()


@pytest.fixture(scope="session")
def swing_index() -> SwingIndex:
    ratings = load_ratings()
    return SwingIndex(ratings.user_id.values, ratings.item_id.values, ratings.rating.values)


@pytest.fixture
def tool_ctx(tool_settings, metadata_store, tool_recommender, tool_vectors, swing_index):
    """A fresh context (fresh candidate bus) over the parametrized metadata store."""
    return ToolContext(
        settings=tool_settings,
        store=metadata_store,
        recommender=tool_recommender,
        vectors=tool_vectors,
        swing=swing_index,
        bus=CandidateBus(),
    )


@pytest.fixture
def call(tool_ctx):
    """call(name, thread="t1", **arguments) -> the result dict, through the LangChain tool."""
    cache: dict[str, dict] = {}

    def _call(name: str, thread: str = "t1", **arguments) -> dict:
        if thread not in cache:
            cache[thread] = {t.name: t for t in build_tools(tool_ctx, thread)}
        return as_dict(cache[thread][name].invoke(arguments))

    return _call


@pytest.fixture(scope="session")
def ratings_df():
    return load_ratings()


@pytest.fixture(scope="session")
def users_df():
    return load_users()
