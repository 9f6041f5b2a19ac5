"""Assistant knobs from ``<config_dir>/assistant.yaml`` (the package ships the defaults).

``recommend_via`` (agents | engine) was ``recommend_engine`` (arag | bpr): the old key and values
still load, read as the new ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recagents.agents.config import AgentsConfig
from recagents.errors import DataError
from recagents.settings import Settings
from recagents.vocabulary import (
    DEFAULT_RECOMMEND_VIA,
    Mode,
    RecommendVia,
    recommend_via_of,
)

__all__ = ["AssistantConfig", "Mode", "RecommendVia"]


class AssistantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode | None = None
    # how "recommend …" is answered: agents (the ARAG agents rank and explain) | engine (the
    # RecBole engine's ranking alone); formerly recommend_engine: arag | bpr
    recommend_via: RecommendVia = DEFAULT_RECOMMEND_VIA
    arag_pool_size: int | None = Field(12, ge=2, le=200)
    demonstrations: int = Field(4, ge=0, le=10)
    # plan mode: understand (intent form → compiled chain → verifier) or the free-form planner
    planner: Literal["compiled", "free"] = "compiled"
    form_demonstrations: int = Field(3, ge=0, le=10)
    # nearest: the form_demonstrations closest examples per message (fresh prompt tokens every
    # time) | all: the whole form bank in the system text too (read once, then served from the
    # prompt cache), the closest ones shown again next to the message
    form_examples: Literal["nearest", "all"] = "nearest"
    list_answers: Literal["template", "model"] = "template"
    max_replans: int = Field(1, ge=0, le=3)
    max_tool_rounds: int = Field(6, ge=1, le=20)
    history_turns: int = Field(3, ge=0, le=20)
    max_users_per_turn: int = Field(3, ge=1, le=20)
    answer_max_tokens: int = Field(400, ge=64, le=4096)
    result_chars: int = Field(2500, ge=200, le=50_000)
    # how many items a recommendation lists when the message names no count (None: the plan's)
    default_k: int | None = Field(None, ge=1, le=50)
    # the ARAG recommendations' graph-enhanced text blend (0: history, 1: text; None: not used)
    recommend_alpha: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _former_key(cls, data):
        """``recommend_engine`` (the former key) reads as ``recommend_via``."""
        if isinstance(data, dict) and "recommend_engine" in data:
            data = dict(data)
            former = data.pop("recommend_engine")
            data.setdefault("recommend_via", former)
        return data

    @field_validator("recommend_via", mode="before")
    @classmethod
    def _former_values(cls, value):
        """arag → agents, bpr → engine (the former names)."""
        return recommend_via_of(value) if isinstance(value, str) else value

    def agents_config(self, base: AgentsConfig) -> AgentsConfig:
        """agents.yaml with the chat's pool size (one NLI chunk for the whole pool)."""
        if self.arag_pool_size is None:
            return base
        n = self.arag_pool_size
        return base.model_copy(
            update={
                "retrieval": base.retrieval.model_copy(update={"pool_size": n}),
                "nli": base.nli.model_copy(
                    update={"chunk_size": n, "min_keep": min(base.nli.min_keep, n)}
                ),
            }
        )

    @classmethod
    def load(cls, settings: Settings, **overrides) -> AssistantConfig:
        path = Path(settings.config_dir) / "assistant.yaml"
        data: dict = {}
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                cls.model_validate(data)
            except Exception as exc:
                raise DataError(f"{path} is not a valid assistant config: {exc}") from exc
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(data)
