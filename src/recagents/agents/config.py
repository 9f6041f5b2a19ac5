"""Agent knobs from ``<config_dir>/agents.yaml`` (the package ships the defaults)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from recagents.errors import DataError
from recagents.settings import Settings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrievalConfig(_Section):
    pool_size: int = Field(30, ge=2, le=200)
    bpr_share: float = Field(0.7, ge=0, le=1)
    swing_share: float = Field(0.3, ge=0, le=1)


class NLIConfig(_Section):
    threshold: float = Field(0.5, ge=0, le=1)
    min_keep: int = Field(10, ge=1)
    chunk_size: int = Field(10, ge=1)
    plot_words: int = Field(40, ge=5)


class UserUnderstandingConfig(_Section):
    recent_items: int = Field(15, ge=1, le=100)
    neighbour_items: int = Field(5, ge=0, le=50)


class RankerConfig(_Section):
    fusion_weight: float = Field(0.5, ge=0, le=1)
    rrf_k: int = Field(60, ge=1)


class ReflectionConfig(_Section):
    enabled: bool = False
    min_overlap: float = Field(0.4, ge=0, le=1)


class AgentsConfig(_Section):
    llm_concurrency: int | None = Field(None, ge=1, le=16)
    retrieval: RetrievalConfig = RetrievalConfig()
    nli: NLIConfig = NLIConfig()
    user_understanding: UserUnderstandingConfig = UserUnderstandingConfig()
    ranker: RankerConfig = RankerConfig()
    reflection: ReflectionConfig = ReflectionConfig()

    @classmethod
    def load(cls, settings: Settings) -> AgentsConfig:
        path = Path(settings.config_dir) / "agents.yaml"
        if not path.is_file():
            return cls()
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except Exception as exc:
            raise DataError(f"{path} is not a valid agents config: {exc}") from exc
