"""All settings of recagents in one pydantic-settings class.

Every field can be set with an environment variable ``RECAGENTS_<FIELD>`` (upper case) or in a
``.env`` file in the working directory. Defaults are embedded: a SQLite file and a Qdrant
local-mode folder under ``data/``, and the embedded local LLM.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from recagents.vocabulary import DEFAULT_LOCAL_MODEL, Holdout, LLMProvider, LocalModelName

PACKAGE_DIR = Path(__file__).resolve().parent
MAX_K = 100
"""The largest k any top-k, search or popularity request may ask for (one bound, everywhere)."""
DEFAULT_CONFIG_DIR = PACKAGE_DIR / "configs"
"""The YAML defaults: the repository's top-level ``configs/``, the one copy. In a checkout
``src/recagents/configs`` is a symlink to it; a built wheel holds the files themselves under
``recagents/configs/`` (setuptools follows the link), so this one path serves both."""


def _project_root() -> Path:
    """The repository root for a source checkout (src layout), else the working directory."""
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and PACKAGE_DIR.parent.name == "src":
        return candidate
    return Path.cwd()


PROJECT_ROOT = _project_root()

ENRICHMENT_URL = (
    "https://raw.githubusercontent.com/tommasocarraro-sony/recsys-agent/"
    "57372c1da75314f45ebb1691e525d54927bab21a/data/ml-100k/final_ml-100k.csv"
)
ENRICHMENT_SHA256 = "5ab20ce67c6806741e3c1c21c9470d0d5933a3094cb6187b5de010257e315070"


# RecBole general recommenders with a shipped YAML (configs/engines/), and our own two-tower
# engine (recommender.two_tower); any other RecBole general recommender can be named by its class
# name.
TWO_TOWER = "TwoTower"
ENGINES = ("BPR", "LightGCN", "EASE", "ItemKNN", "MultiVAE", TWO_TOWER)


def engine_name(name: str) -> str:
    """The class name of an engine: case-insensitive for the shipped ones, ``_``/``-`` ignored
    (``two_tower`` → ``TwoTower``)."""
    name = str(name).strip()
    key = name.lower().replace("_", "").replace("-", "")
    return {e.lower(): e for e in ENGINES}.get(key, name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RECAGENTS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- where things live -------------------------------------------------------------
    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="Folder for everything built: SQLite file, Qdrant folder, checkpoints, models.",
    )
    config_dir: Path = Field(
        default=DEFAULT_CONFIG_DIR,
        description="Folder with the YAML defaults (default: the package's own configs/).",
    )

    # --- metadata store ----------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. mysql+pymysql://user:pw@127.0.0.1:3306/recagents. "
        "Default: sqlite file <data_dir>/recagents.sqlite.",
    )
    database_readonly_url: str | None = Field(
        default=None,
        description="Optional URL of a SELECT-only database user for the agent side (least "
        "privilege on MySQL), e.g. mysql+pymysql://recagents_ro:pw@127.0.0.1:3306/recagents. "
        "Default: database_url (the agent side is still read-only per connection).",
    )

    # --- vector store ------------------------------------------------------------------
    qdrant_url: str | None = Field(
        default=None,
        description="Qdrant server URL, e.g. http://localhost:6333. Default: embedded local "
        "mode in <data_dir>/qdrant.",
    )
    qdrant_api_key: SecretStr | None = Field(default=None, description="Qdrant server API key.")
    qdrant_collection: str = Field(default="ml100k_items", description="Qdrant collection name.")
    embedding_batch_size: int = Field(default=64, ge=1, description="Texts per embedding batch.")
    torch_threads: int = Field(
        default=1, ge=1, description="torch CPU threads for embeddings (set when the model loads)."
    )

    # --- data --------------------------------------------------------------------------
    enrichment_path: Path | None = Field(
        default=None,
        description="Local copy of the IMDb enrichment file (final_ml-100k.csv). If unset, setup "
        "downloads it from enrichment_url into <data_dir>/; if that fails it continues without.",
    )
    enrichment_url: str = Field(default=ENRICHMENT_URL, description="Pinned enrichment source.")
    enrichment_sha256: str = Field(default=ENRICHMENT_SHA256, description="Expected sha256.")
    download_timeout_s: float = Field(
        default=30.0, gt=0, description="Enrichment download timeout."
    )

    # --- recommender -------------------------------------------------------------------
    recommender: str = Field(
        default="BPR",
        description="The active recommender engine: any RecBole general recommender "
        f"({', '.join(ENGINES)} have a YAML in <config_dir>/engines/). Trained by "
        "`recagents train --model NAME`; the services, tools, agents, assistant, chat and API "
        "all rank with it.",
    )
    recbole_config: Path | None = Field(
        default=None,
        description="RecBole YAML every engine shares (dataset, split, seed, training loop). "
        "Default: <config_dir>/recbole.yaml.",
    )
    engine_config_dir: Path | None = Field(
        default=None,
        description="Folder of the engines' own YAMLs (<name lowercased>.yaml, layered over "
        "recbole_config). Default: <config_dir>/engines.",
    )
    serving: Literal["dense", "vectors"] = Field(
        default="dense",
        description="How the services rank a user's top-k: dense (the engine's users x items "
        "score matrix, every engine) or vectors (a Qdrant search over the engine's item "
        "vectors with the hard filters as payload filters; factorised engines only: BPR, "
        "LightGCN, TwoTower).",
    )
    holdout: Holdout = Field(
        default="none",
        description="History view: none (the product: every rating is history); test (the "
        "RecBole test split is hidden from everything: evaluation); valid (valid + test hidden: "
        "tuning).",
    )

    # --- LLM (see recagents.llm) -------------------------------------------------------
    llm_provider: LLMProvider = Field(
        default="auto",
        description="auto: an explicit choice wins, then OpenAI if a key is present, else local.",
    )
    llm_model: str | None = Field(
        default=None,
        description="Model name for openai / openai-compatible (Ollama uses ollama_model).",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RECAGENTS_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="OpenAI API key (RECAGENTS_OPENAI_API_KEY, or the usual OPENAI_API_KEY).",
    )
    llm_base_url: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible server (…/v1)."
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key for the OpenAI-compatible server."
    )
    ollama_base_url: str = Field(
        default="http://localhost:11434", description="Ollama server URL (--self_host)."
    )
    ollama_model: str = Field(default="qwen2.5:7b", description="Ollama model name.")
    local_model: LocalModelName = Field(
        default=DEFAULT_LOCAL_MODEL, description="Embedded local model (tests use the 0.5B)."
    )
    local_model_path: Path | None = Field(
        default=None,
        description="A GGUF file to serve instead of the bundled local model (any llama.cpp "
        "chat model).",
    )
    local_threads: int = Field(default=2, ge=1, description="CPU threads of the local server.")
    local_ctx_size: int = Field(default=8192, ge=512, description="Context of the local server.")
    local_parallel: int = Field(
        default=2, ge=1, description="Requests the local server decodes at once (slots)."
    )
    local_start_timeout_s: float = Field(
        default=180.0, gt=0, description="Longest wait for the local server to load its model."
    )
    ollama_num_ctx: int = Field(
        default=8192, ge=512, description="Context Ollama allocates (its default truncates)."
    )
    llm_context_tokens: int | None = Field(
        default=None,
        description="Context size of a remote model, if it differs from the backend's profile.",
    )
    llm_tool_calling: bool | None = Field(
        default=None,
        description="Override: does the model do native tool calling? Default: backend profile "
        "(OpenAI/Ollama yes, OpenAI-compatible and local no → plan-then-execute).",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Timeout of one LLM request.")
    llm_max_retries: int = Field(default=2, ge=0, description="Retries after a failed request.")
    llm_max_tokens: int = Field(
        default=1024, ge=16, description="Most tokens one LLM answer may generate."
    )
    llm_structured_attempts: int = Field(
        default=3, ge=1, description="Tries of one structured request (repairs included)."
    )
    llm_temperature: float = Field(default=0.0, ge=0, description="Sampling temperature.")

    # --- chat UI (Chainlit) ------------------------------------------------------------
    chat_user: str = Field(
        default="admin", description="Login name of the chat UI (when a password is set)."
    )
    chat_password: SecretStr | None = Field(
        default=None,
        description="Password of the chat UI. With it AND CHAINLIT_AUTH_SECRET (from "
        "`chainlit create-secret`) set, the chat asks for a login and lists past conversations "
        "(stored in the database); without them it is one anonymous chat.",
    )

    # --- REST API ------------------------------------------------------------------------
    api_tokens: SecretStr | None = Field(
        default=None,
        description="Comma-separated bearer tokens of the REST API (RECAGENTS_API_TOKENS). Set: "
        "every API request needs `Authorization: Bearer <one of them>`. Unset: the API is open "
        "on a loopback address only; listening elsewhere without tokens, it refuses requests. "
        "These tokens have the `read` scope: no personal fields of users.",
    )
    api_personal_tokens: SecretStr | None = Field(
        default=None,
        description="Comma-separated bearer tokens with the `read` AND `personal` scopes "
        "(demographics, zip codes and rating dates of users, each where asked).",
    )
    api_max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body the API reads (bytes); larger ones get 413 unread.",
    )
    api_rate_limit: str = Field(
        default="50/second;1000/minute",
        description="Requests per token (limits' notation: '50/second;1000/minute'); over it, "
        "429 with Retry-After. Without tokens (loopback only) there is no limit.",
    )
    api_personal_rate_limit: str = Field(
        default="30/minute",
        description="User profiles (GET /users/{id}) per token; no bulk export of user data.",
    )
    api_cache_size: int = Field(
        default=4096,
        ge=0,
        description="Retrieval-only answers (?llm=false) kept in memory (LRU); a repeated request "
        "is answered from it (usage.cached: true). 0: off.",
    )
    api_deadline_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest non-LLM work of one API request (then 504); LLM work has its own "
        "deadline (?timeout_s).",
    )

    @field_validator("api_rate_limit", "api_personal_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a rate limit: write e.g. '50/second;1000/minute'"
            ) from exc
        return value

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        self.data_dir = Path(self.data_dir).expanduser().resolve()
        if self.recbole_config is None:
            self.recbole_config = Path(self.config_dir) / "recbole.yaml"
        if self.engine_config_dir is None:
            self.engine_config_dir = Path(self.config_dir) / "engines"
        self.recommender = engine_name(self.recommender)
        return self

    # --- derived paths -----------------------------------------------------------------
    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'recagents.sqlite'}"

    @property
    def agent_database_url(self) -> str:
        """The URL the agent side (read-only metadata access) connects with: the SELECT-only
        ``database_readonly_url`` when set, else the normal one."""
        return self.database_readonly_url or self.sqlalchemy_url

    @property
    def display_database_url(self) -> str:
        """The database URL with any password masked (for logs and status)."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.sqlalchemy_url).render_as_string(hide_password=True)
        except Exception:  # a malformed URL is reported when used, not here
            return "<invalid RECAGENTS_DATABASE_URL>"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def checkpoint_dir(self) -> Path:
        """Where the active engine's checkpoint, metrics and split live."""
        return self.engine_dir(self.recommender)

    def engine_dir(self, engine: str) -> Path:
        """``<data_dir>/<engine lowercased>`` (``data/bpr`` for BPR)."""
        return self.data_dir / engine_name(engine).lower()

    def engine_config(self, engine: str) -> Path:
        """The engine's own YAML (may not exist: RecBole's defaults then apply)."""
        return Path(self.engine_config_dir) / f"{engine_name(engine).lower()}.yaml"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def default_enrichment_file(self) -> Path:
        return self.data_dir / "final_ml-100k.csv"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from env / .env)."""
    return Settings()
