"""Assistant knobs from ``<config_dir>/assistant.yaml`` (the package ships the defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from recagents.agents.config import AgentsConfig
from recagents.errors import DataError
from recagents.settings import Settings

Mode = Literal["tools", "plan"]
Engine = Literal["arag", "bpr"]


class AssistantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode | None = None
    recommend_engine: Engine = "arag"
    arag_pool_size: int | None = Field(12, ge=2, le=200)
    demonstrations: int = Field(4, ge=0, le=10)
    # plan mode: understand (intent form → compiled chain → verifier) or the free-form planner
    planner: Literal["compiled", "free"] = "compiled"
    form_demonstrations: int = Field(3, ge=0, le=10)
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
