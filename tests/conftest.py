"""Session fixtures that build small REAL stores once and share them.

- ``enrichment_file``: the IMDb enrichment (``final_ml-100k.csv``) when one is available, else a
  small SYNTHETIC file in the same schema that the tests generate (see below). Tests that need
  the real file's values use ``real_enrichment_file`` or the marker ``real_enrichment``: they
  skip, with one line saying how to get it, when no real file is available.
- ``catalog``: the 1,682-item catalog built from ``enrichment_file``.
- ``tool_settings`` / ``tool_recommender`` (BPR, 2 epochs, with its saved split) /
  ``tool_vectors`` (Qdrant local mode, items 1..160) / ``swing_index``: the real parts the tools,
  services and agents tests share; ``tool_ctx`` a ``ServiceContext`` over them and the
  parametrized store, ``call`` runs a tool the way a graph would.
- ``local_handle``: the real local 0.5B behind ONE managed server for the whole session.
- ``metadata_url`` / ``metadata_store``: parametrized over SQLite (always) and MariaDB/MySQL
  (marker ``mysql``; URL from ``RECAGENTS_TEST_MYSQL_URL``, default root@127.0.0.1:3306). An
  unreachable server skips the mysql tests with one line, unless ``RECAGENTS_TEST_MYSQL_REQUIRED=1``
  (``.ci/run`` sets it; also implied by ``CI=true`` with ``RECAGENTS_TEST_MYSQL_URL`` set): then
  they fail.

Where the real enrichment comes from, first found wins:
1. ``RECAGENTS_TEST_ENRICHMENT`` (a path; a value that is not a file, e.g. ``none``, means "no
   real file": the way to run the suite as a clone without the data would);
2. ``../shared/data/ml-100k/final_ml-100k.csv`` beside the repository (this workspace, CI);
3. the product's own source: ``RECAGENTS_ENRICHMENT_PATH``, the cached
   ``<data_dir>/final_ml-100k.csv`` or the pinned, sha256-checked download
   (``recagents.data.enrichment.resolve_enrichment`` with the default settings; offline it fails
   within seconds and the synthetic file is used).
"""

from __future__ import annotations

import functools
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment, resolve_enrichment
from recagents.data.movielens import load_items, load_ratings, load_users
from recagents.errors import NotBuiltError, RecagentsError
from recagents.llm.capabilities import Capabilities
from recagents.llm.factory import LLMHandle
from recagents.llm.weights import ensure_local_weights
from recagents.recommender.inference import Recommender
from recagents.recommender.swing import SwingIndex
from recagents.recommender.train import train_bpr
from recagents.services import ServiceContext
from recagents.settings import DEFAULT_CONFIG_DIR, PROJECT_ROOT, Settings
from recagents.stores.metadata import MetadataStore, check_connection, load_metadata, make_engine
from recagents.stores.vectors import VectorStore
from recagents.tools import TOOLS_BY_NAME, run_tool_call

DEFAULT_MYSQL_URL = "mysql+pymysql://root:@127.0.0.1:3306/recagents_test"
SHARED_ENRICHMENT = PROJECT_ROOT.parent / "shared" / "data" / "ml-100k" / "final_ml-100k.csv"
HOW_TO_GET_ENRICHMENT = (
    "set RECAGENTS_TEST_ENRICHMENT=/path/to/final_ml-100k.csv (recsys-agent's IMDb enrichment, "
    "see the README's 'Tests' section)"
)
TEST_DOWNLOAD_TIMEOUT_S = 10.0


def mysql_url() -> str:
    return os.environ.get("RECAGENTS_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def mysql_required() -> bool:
    """Unreachable MySQL fails instead of skipping: RECAGENTS_TEST_MYSQL_REQUIRED=1 (.ci/run sets
    it), or a CI run (CI=true) that names its server in RECAGENTS_TEST_MYSQL_URL."""
    if _flag("RECAGENTS_TEST_MYSQL_REQUIRED"):
        return True
    return _flag("CI") and bool(os.environ.get("RECAGENTS_TEST_MYSQL_URL"))


# --- the enrichment: real when available, synthetic otherwise -------------------------------
@dataclass(frozen=True)
class RealEnrichment:
    path: Path | None
    origin: str  # where it came from, or why there is none


@functools.cache
def find_real_enrichment() -> RealEnrichment:
    """The real enrichment file for this run (see the module doc), looked up once."""
    value = os.environ.get("RECAGENTS_TEST_ENRICHMENT")
    if value is not None:
        path = Path(value).expanduser()
        if path.is_file():
            return RealEnrichment(path, f"RECAGENTS_TEST_ENRICHMENT={path}")
        return RealEnrichment(None, f"RECAGENTS_TEST_ENRICHMENT={value!r} is not a file")
    if SHARED_ENRICHMENT.is_file():
        return RealEnrichment(SHARED_ENRICHMENT, str(SHARED_ENRICHMENT))
    try:
        settings = Settings()
        settings = settings.model_copy(
            update={"download_timeout_s": min(settings.download_timeout_s, TEST_DOWNLOAD_TIMEOUT_S)}
        )
        source = resolve_enrichment(settings)
    except (RecagentsError, ValueError) as exc:  # e.g. a RECAGENTS_ENRICHMENT_PATH that is gone
        return RealEnrichment(None, f"the product's enrichment source failed: {exc}")
    if source.path is None:
        return RealEnrichment(None, "not in ../shared, no cached copy, download failed")
    return RealEnrichment(source.path, f"{source.origin}: {source.path}")


def _needs_real_enrichment() -> str:
    found = find_real_enrichment()
    return (
        f"needs the real IMDb enrichment ({found.origin}): {HOW_TO_GET_ENRICHMENT}"
        if found.path is None
        else ""
    )


def pytest_report_header(config: pytest.Config) -> str:
    found = find_real_enrichment()
    if found.path is not None:
        return f"recagents enrichment: real ({found.origin})"
    return f"recagents enrichment: SYNTHETIC ({found.origin}); real-data tests skip"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("real_enrichment") is not None and (why := _needs_real_enrichment()):
        pytest.skip(why)


_FIRST = (  # noqa: SIM905 - word lists read better as text
    "Ada Ash Bea Cal Dov Eli Fay Gus Hal Ida Jo Kit Lev Mae Ned Ona Pia Quin Rex Sol Tey "
    "Uma Val Wes Xan Yul Zed Arlo Bryn Cato Dana Emil Faro Gwen Hugo Iris Juno Kai Lior "
    "Mira"
).split()
_LAST = (  # noqa: SIM905 - word lists read better as text
    "Abbot Brandt Carver Dahl Ekdal Falk Garrow Hale Ives Jessup Kestrel Lund Marsh "
    "Nyberg Ostrow Pell Quarry Rook Sallow Thorne Umber Vance Wald Yarrow Zeller Alder "
    "Birch Cedar"
).split()
# The few real names that tests look up (roles, accents, fuzzy matching, empty combinations) are
# credited in the synthetic data too, in one role each and on items chosen so that what those
# tests assume of the real data holds: (name, role column, how many items, which items qualify).
_KNOWN_CREDITS = (
    ("Tom Cruise", "actors", 6, lambda r: "Horror" not in r["_genres"] and 0 < r["_year"] < 1996),
    ("Tchéky Karyo", "actors", 3, lambda r: True),
    ("Meg Ryan", "actors", 4, lambda r: "Romance" in r["_genres"]),
    ("Quentin Tarantino", "directors", 3, lambda r: "Drama" in r["_genres"]),
    ("Steven Spielberg", "directors", 4, lambda r: True),
    ("Orson Welles", "directors", 2, lambda r: True),
    ("Joel Coen", "writers", 3, lambda r: True),
)
_WHO = "farmer, detective, violinist, smuggler, nurse, astronomer, chef, pilot, thief, teacher"
_WHERE = "Lisbon, a lighthouse, Mars, a circus, Yukon, a submarine, Kyoto, a casino, Cairo, Iowa"
_WHAT = (
    "a stolen map, a missing twin, a cursed violin, a robot dog, a forged will, a comet, "
    "a haunted hotel, a rigged election, a dragon egg, a lost recipe"
)
_TWIST = (
    "befriends a ghost, loses a bet, starts a band, fakes a death, finds a tunnel, "
    "trains a parrot, builds a raft, wins a duel, breaks a code, opens a bakery"
)
_COUNTRIES = ["United States"] * 4 + ["United Kingdom", "France", "Italy", "Japan", "unknown"]
_AGE = ["G", "PG", "PG-13", "R", "Not Rated", "unknown"]
_GROUPS = ["kid", "teenager", "young_adult", "adult", "senior", "male", "female"]
SYNTHETIC_COLUMNS = (  # noqa: SIM905 - word lists read better as text
    "item_id title genres director producer actors release_date release_month country "
    "duration age_rating imdb_rating imdb_num_reviews n_ratings description n_ratings_kid "
    "n_ratings_teenager n_ratings_young_adult n_ratings_adult n_ratings_senior "
    "n_ratings_male n_ratings_female storyline genres_list directors_list producers_list "
    "actors_list"
).split()
SYNTHETIC_ITEMS = range(1, 451)  # every 9th of these stays without enrichment, like real gaps


def _people(rng: random.Random, n: int) -> list[str]:
    return list(dict.fromkeys(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(n)))


def _credit_known_people(rows: list[dict]) -> None:
    """Credit each ``_KNOWN_CREDITS`` name on a few qualifying items (first in its role)."""
    for name, role, count, qualifies in _KNOWN_CREDITS:
        eligible = [r for r in rows if r[f"_{role}"] and qualifies(r)]
        for row in random.Random(name).sample(eligible, count):
            people = row[f"_{role}"]
            people[:] = [name, *(p for p in people if p != name)][: max(1, len(people))]
            if name == "Tom Cruise":  # the tool tests filter his films by rating > 6
                row["imdb_rating"] = "7.1"


def _spoken(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + ", and " + names[-1]


def synthetic_enrichment_rows() -> list[dict]:
    """Rows in ``final_ml-100k.csv``'s schema (27 columns, "unknown" for missing values) for
    ~400 ML-100k items: ML's own titles, years and genres; invented people, numbers and plots."""
    counts = load_ratings().item_id.value_counts()
    split = lambda text: [part.strip() for part in text.split(",")]  # noqa: E731
    who, where, what, twist = split(_WHO), split(_WHERE), split(_WHAT), split(_TWIST)
    rows = []
    for item in load_items().itertuples(index=False):
        genres = [g for g in item.genres if g != "unknown"]
        if item.item_id not in SYNTHETIC_ITEMS or item.item_id % 9 == 0 or not genres:
            continue
        rng = random.Random(item.item_id)
        year = None if pd.isna(item.year) else int(item.year)
        minutes = rng.randint(75, 170)
        n = int(counts.get(item.item_id, 0))
        plot = (
            rng.choice(who), rng.choice(_FIRST), rng.choice(where), rng.choice(what),
            rng.sample(twist, 2), rng.choice(what), rng.choice(where),
        )  # fmt: skip
        duration = "unknown" if item.item_id % 41 == 0 else f"{minutes // 60}h {minutes % 60}min"
        rating = "unknown" if item.item_id % 31 == 0 else f"{rng.uniform(3.0, 9.0):.1f}"
        reviews = rng.choice([f"{rng.randint(100, 999)}", f"{rng.randint(1, 300)}K", "1.2M"])
        rows.append(
            {
                "_genres": genres,
                "_year": year if year is not None else 0,
                "_directors": [] if item.item_id % 23 == 0 else _people(rng, 1),
                "_writers": _people(rng, rng.randint(1, 2)),
                "_actors": _people(rng, rng.randint(3, 6)),
                "_plot": plot,
                "item_id": item.item_id,
                "title": f"{item.title} ({year})" if year is not None else item.title,
                "genres": _spoken(genres),
                "release_date": "unknown" if year is None or item.item_id % 37 == 0 else year,
                "release_month": rng.randint(1, 12),
                "country": rng.choice(_COUNTRIES),
                "duration": duration,
                "age_rating": rng.choice(_AGE),
                "imdb_rating": rating,
                "imdb_num_reviews": reviews,
                "n_ratings": n,
                **{f"n_ratings_{group}": n // 7 for group in _GROUPS},
            }
        )
    _credit_known_people(rows)
    for row in rows:
        directors, writers, actors = row.pop("_directors"), row.pop("_writers"), row.pop("_actors")
        hero, name, where_, what_, (first, then), rival_what, rival_where = row.pop("_plot")
        description = f"In {where_}, a {hero} named {name} chases {what_}."
        row.update(
            director=_spoken(directors) if directors else "unknown",
            producer=_spoken(writers),
            actors=_spoken(actors),
            description=description,
            storyline=(
                f"{description} Along the way {name} {first} and {then}, while {actors[0]} plays "
                f"a rival obsessed with {rival_what} in {rival_where}. —synthetic #{row['item_id']}"
            ),
            genres_list=repr(row.pop("_genres")),
            directors_list=repr(directors or ["unknown"]),
            producers_list=repr(writers),
            actors_list=repr(actors),
        )
        del row["_year"]
    return rows


def write_synthetic_enrichment(path: Path) -> Path:
    frame = pd.DataFrame(synthetic_enrichment_rows(), columns=SYNTHETIC_COLUMNS)
    frame.to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture(scope="session")
def synthetic_enrichment_file(tmp_path_factory) -> Path:
    """A small synthetic enrichment (same TAB-separated schema as final_ml-100k.csv)."""
    return write_synthetic_enrichment(tmp_path_factory.mktemp("enrichment") / "synthetic.csv")


@pytest.fixture(scope="session")
def real_enrichment_file() -> Path:
    """The real enrichment file; skips (with how to get it) when none is available."""
    if why := _needs_real_enrichment():
        pytest.skip(why)
    return find_real_enrichment().path


@pytest.fixture(scope="session")
def enrichment_is_real() -> bool:
    return find_real_enrichment().path is not None


@pytest.fixture(scope="session")
def enrichment_file(request) -> Path:
    """The real enrichment when available, else the synthetic one."""
    real = find_real_enrichment().path
    return real if real is not None else request.getfixturevalue("synthetic_enrichment_file")


@pytest.fixture(scope="session")
def catalog(enrichment_file: Path) -> list[dict]:
    return build_catalog(parse_enrichment(enrichment_file))


# --- metadata stores -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory, catalog) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "meta.sqlite"
    url = f"sqlite:///{path}"
    load_metadata(make_engine(url), catalog, load_users(), load_ratings(), show_progress=False)
    return url


def reachable_mysql_url() -> str:
    """The test server's URL; skips (or fails, when required) if it cannot be reached."""
    url = mysql_url()
    engine = make_engine(url)
    try:
        check_connection(engine, create_database=True)
    except RecagentsError as exc:
        where = engine.url.render_as_string(hide_password=True)
        message = f"MariaDB/MySQL not reachable at {where} ({type(exc).__name__})"
        if mysql_required():
            pytest.fail(f"{message}, and this run requires it (CI)\n{exc}", pytrace=False)
        pytest.skip(f"{message}: start one or set RECAGENTS_TEST_MYSQL_URL (README 'Tests')")
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def mariadb_url(catalog) -> str:
    url = reachable_mysql_url()
    engine = make_engine(url)
    load_metadata(engine, catalog, load_users(), load_ratings(), show_progress=False)
    engine.dispose()
    return url


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)],
)
def metadata_url(request) -> str:
    """A loaded metadata database URL, once per backend."""
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'mariadb'}_url")


@pytest.fixture(scope="session")
def metadata_store(metadata_url) -> MetadataStore:
    """The agent-side (read-only) store over a loaded database."""
    store = MetadataStore(make_engine(metadata_url, read_only=True))
    yield store
    store.close()


@pytest.fixture
def tmp_settings(tmp_path) -> Settings:
    """Settings whose data_dir is a fresh temp folder (nothing touches the repo's data/)."""
    return Settings(data_dir=tmp_path / "data", _env_file=None)


# --- the real recommender, vectors and services, shared by the tools, services and agents tests --
# BPR is trained for 2 epochs (quality is irrelevant: masking and candidate rules are what the
# layers above must keep); Qdrant local mode indexes a small slice of the catalog.
BPR_EPOCHS = 2
VECTOR_ITEMS = 160  # items 1..160 are embedded (a few seconds on 2 cores)


@pytest.fixture(scope="session")
def tool_settings(tmp_path_factory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("tools-data"),
        config_dir=DEFAULT_CONFIG_DIR,
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
    """A fresh context over the parametrized metadata store."""
    return ServiceContext(
        settings=tool_settings,
        store=metadata_store,
        recommender=tool_recommender,
        vectors=tool_vectors,
        swing=swing_index,
    )


@pytest.fixture
def threads() -> dict[str, dict]:
    """thread id -> that conversation's candidate sets (what the graph state would hold)."""
    return {}


@pytest.fixture
def call(tool_ctx, threads):
    """call(name, thread="t1", **arguments) -> the result dict, through the LangChain tool."""

    def _call(name: str, thread: str = "t1", **arguments) -> dict:
        out = run_tool_call(TOOLS_BY_NAME[name], arguments, tool_ctx, threads.get(thread))
        threads[thread] = out.candidate_sets
        return out.result

    return _call


@pytest.fixture
def handle_ids(threads):
    """handle_ids(handle, thread="t1") -> the ids a conversation's handle holds."""
    return lambda handle, thread="t1": threads[thread][handle]["ids"]


@pytest.fixture(scope="session")
def ratings_df():
    return load_ratings()


@pytest.fixture(scope="session")
def users_df():
    return load_users()


# --- the real local LLM (Qwen2.5-Coder-0.5B), ONE server per test session --------------------
TEST_MODEL = "qwen2.5-coder-0.5b"


def offline_settings(**overrides) -> Settings:
    """Settings that ignore the developer's env/.env LLM choices (explicit test values).

    ``local_threads`` is left to RECAGENTS_LOCAL_THREADS (default 2): on a CPU shared with
    other busy processes, 1 thread is several times faster than 2 (see bench/bench_llm.py).
    """
    values = {
        "llm_provider": "auto",
        "llm_model": None,
        "openai_api_key": None,
        "llm_base_url": None,
        "llm_api_key": None,
        "local_model": TEST_MODEL,
        "local_model_path": None,
        "local_ctx_size": 4096,
        "local_parallel": 2,
        "llm_max_tokens": 200,
        "llm_timeout_s": 300.0,
        "llm_max_retries": 1,
        "llm_tool_calling": None,
        "llm_context_tokens": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def llm_data_dir(tmp_path_factory) -> Path:
    """A data dir whose models/ holds the verified 0.5B weights (fails clearly if not installed)."""
    data_dir = tmp_path_factory.mktemp("llm-data")
    cache = os.environ.get("RECAGENTS_TEST_MODELS_DIR")
    models_dir = data_dir / "models"
    if cache:
        Path(cache).mkdir(parents=True, exist_ok=True)
        models_dir.symlink_to(Path(cache).resolve(), target_is_directory=True)
    try:
        ensure_local_weights(TEST_MODEL, models_dir)
        problem = None
    except NotBuiltError as exc:
        problem = str(exc)
    if problem:  # fail (never skip) the llm tests: CI must not pass them silently
        pytest.fail(
            f"llm tests need the local model weights: {problem} (or deselect: -m 'not llm')",
            pytrace=False,
        )
    return data_dir


@pytest.fixture(scope="session")
def llm_settings(llm_data_dir) -> Settings:
    return offline_settings(data_dir=llm_data_dir)


@pytest.fixture(scope="session")
def local_handle(llm_settings):
    """The real local 0.5B behind the managed server, started once for the session."""
    from recagents.llm.factory import make_chat_model

    handle = make_chat_model(llm_settings)
    yield handle
    if handle.server is not None:
        handle.server.stop()


@pytest.fixture
def make_settings(tmp_path):
    """``make_settings(**overrides)`` → offline Settings in this test's tmp dir."""

    def make(**overrides) -> Settings:
        overrides.setdefault("data_dir", tmp_path)
        return offline_settings(**overrides)

    return make


# --- scripted chat models (wiring tests only: never the evidence that an agent works) -------
class ScriptedChat(BaseChatModel):
    """Replies with ``reply(messages)``: a string (text) or an ``AIMessage`` (e.g. tool calls)."""

    reply: Callable[[list[BaseMessage]], Any]
    calls: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):  # tools mode: the script decides the calls
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls.append(messages[-1].content)
        out = self.reply(messages)
        message = out if isinstance(out, AIMessage) else AIMessage(out)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        """The scripted reply in pieces of 7 characters, as a server streams tokens."""
        message = self._generate(messages, stop, run_manager, **kwargs).generations[0].message
        if message.tool_calls:
            chunks = [
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": n}
                for n, c in enumerate(message.tool_calls)
            ]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
            return
        text = message.text
        for start in range(0, max(len(text), 1), 7):
            piece = ChatGenerationChunk(message=AIMessageChunk(content=text[start : start + 7]))
            if run_manager:
                run_manager.on_llm_new_token(piece.text, chunk=piece)
            yield piece


def scripted_handle(reply, native_tools: bool = False) -> LLMHandle:
    return LLMHandle(
        chat_model=ScriptedChat(reply=reply, calls=[]),
        backend="openai" if native_tools else "openai-compatible",
        model="scripted",
        capabilities=Capabilities(native_tools=native_tools, json_schema=True, context_tokens=8192),
        structured_attempts=3,
    )


@pytest.fixture
def scripted_llm():
    """scripted_llm(reply, native_tools=False) -> an LLMHandle over a ScriptedChat."""
    return scripted_handle


@pytest.fixture(scope="session")
def agent_services(tool_settings, sqlite_url, tool_recommender, tool_vectors, swing_index):
    """Services over the SQLite store (session): what the agents and the assistant use."""
    from recagents.services import ServiceContext
    from recagents.stores.metadata import MetadataStore, make_engine

    store = MetadataStore(make_engine(sqlite_url, read_only=True))
    yield ServiceContext(tool_settings, store, tool_recommender, tool_vectors, swing_index)
    store.close()


@pytest.fixture
def small_config():
    """A small ARAG pool, so the real model's calls stay short on 2 cores; NLI scores even at
    the shipped fusion weight 0 (the default skips it there), so the real model is scored."""
    from recagents.agents.config import AgentsConfig

    return AgentsConfig.model_validate(
        {
            "retrieval": {"pool_size": 8},
            "nli": {"chunk_size": 8, "min_keep": 6, "when_unweighted": "score"},
        }
    )
