"""The closed sets of words the layers share, spelled once.

Each set is a ``Literal`` type (for signatures and pydantic fields) with its values as a tuple
derived from it (for flags, menus and messages). Nothing here imports the rest of the package,
so settings, stores, services and the CLI all read it.

Words with one meaning each:

- **engine**: the RecBole recommender (``RECAGENTS_RECOMMENDER``: BPR, EASE, LightGCN, …), and
  nothing else.
- **recommendation path** (``RecommendVia``): how the assistant and the chat answer "recommend
  …": ``agents`` (the ARAG agents rank and explain, using the engine for retrieval) or ``engine``
  (the engine's ranking alone, filtered). The older words ``arag`` and ``bpr`` still read as
  ``agents`` and ``engine`` (``recommend_via_of``).
"""

from __future__ import annotations

from typing import Literal, get_args

# --- the assistant ------------------------------------------------------------------------
Mode = Literal["tools", "plan"]
"""tools: the model calls the tools natively; plan: plan-then-execute (small models)."""
MODES: tuple[Mode, ...] = get_args(Mode)

RecommendVia = Literal["agents", "engine"]
RECOMMEND_PATHS: tuple[RecommendVia, ...] = get_args(RecommendVia)
DEFAULT_RECOMMEND_VIA: RecommendVia = "agents"
DEPRECATED_RECOMMEND_VIA: dict[str, RecommendVia] = {"arag": "agents", "bpr": "engine"}
"""The path's former names (``--engine arag|bpr``, ``recommend_engine``), still accepted."""


def recommend_via_of(value: str | None) -> RecommendVia | None:
    """``agents`` | ``engine`` for a path or its former name (None stays None); ValueError
    names the accepted words for anything else."""
    if value is None:
        return None
    if value in RECOMMEND_PATHS:
        return value  # type: ignore[return-value]
    if value in DEPRECATED_RECOMMEND_VIA:
        return DEPRECATED_RECOMMEND_VIA[value]
    raise ValueError(
        f"the recommendation path must be {' or '.join(RECOMMEND_PATHS)} (formerly "
        f"{' or '.join(DEPRECATED_RECOMMEND_VIA)}), got {value!r}"
    )


# --- the data -----------------------------------------------------------------------------
Holdout = Literal["none", "valid", "test"]
"""Which ratings are hidden from every service: none (the product), test (evaluation), valid
(valid + test: tuning)."""
HOLDOUTS: tuple[Holdout, ...] = get_args(Holdout)

# --- the LLM ------------------------------------------------------------------------------
LLMBackend = Literal["openai", "ollama", "openai-compatible", "local"]
LLM_BACKENDS: tuple[LLMBackend, ...] = get_args(LLMBackend)
LLMProvider = Literal["auto", "openai", "ollama", "openai-compatible", "local"]
"""A backend, or ``auto``: OpenAI when a key is set, else the embedded local model."""
LLM_PROVIDERS: tuple[LLMProvider, ...] = get_args(LLMProvider)

LocalModelName = Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]
"""The embedded models (``llm.weights`` has where each one's parts come from)."""
LOCAL_MODEL_NAMES: tuple[LocalModelName, ...] = get_args(LocalModelName)
DEFAULT_LOCAL_MODEL: LocalModelName = "qwen2.5-coder-1.5b"

# --- the catalogue ------------------------------------------------------------------------
ItemField = Literal[
    "title",
    "year",
    "genres",
    "directors",
    "writers",
    "actors",
    "release_month",
    "country",
    "duration_min",
    "age_rating",
    "imdb_rating",
    "imdb_num_reviews",
    "description",
    "storyline",
    "imdb_year",
    "ml_year",
]
"""What ``item_metadata`` (and the API's item pages) can show of an item."""
ITEM_FIELDS: tuple[ItemField, ...] = get_args(ItemField)
DEFAULT_ITEM_FIELDS: tuple[ItemField, ...] = ("title", "year", "genres", "description")
YEAR_SOURCE_FIELDS: tuple[ItemField, ...] = ("imdb_year", "ml_year")
"""Where ``year`` came from: listed on request, not on the API's item pages."""
ITEM_PAGE_FIELDS: tuple[ItemField, ...] = tuple(
    f for f in ITEM_FIELDS if f not in YEAR_SOURCE_FIELDS
)

UserField = Literal["age", "age_group", "gender", "occupation", "zip_code", "n_ratings"]
USER_FIELDS: tuple[UserField, ...] = get_args(UserField)

SearchMode = Literal["dense", "keyword", "hybrid"]
"""dense: by meaning; keyword: BM25; hybrid: both, fused by reciprocal rank."""
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
DEFAULT_SEARCH_MODE: SearchMode = "dense"
