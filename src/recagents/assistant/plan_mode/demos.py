"""Dynamic demonstrations: worked examples (question → plan) chosen per question.

The bank (``demonstrations.yaml`` beside this module) is written by hand. It must not contain the
evaluation suite's queries or paraphrases of them (tests/assistant/test_demonstrations.py checks). For a question, the
``k`` examples whose questions are closest by MiniLM embedding go into the plan prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from recagents.assistant.plan_mode.plan import Plan
from recagents.errors import DataError

BANK_PATH = Path(__file__).with_name("demonstrations.yaml")
FORM_BANK_PATH = Path(__file__).with_name("form_demonstrations.yaml")


@dataclass(frozen=True)
class Demonstration:
    question: str
    plan: Plan

    def render(self) -> str:
        """Compact JSON, exactly what the model should emit for this question."""
        plan = {"action": self.plan.action, "steps": self.plan.calls()}
        return f"Q: {self.question}\nPLAN: {json.dumps(plan, separators=(',', ':'))}"


@dataclass(frozen=True)
class FormDemonstration:
    """A question and the intent form (``intent.Understanding``) it should be read as."""

    question: str
    form: dict

    def render(self) -> str:
        form = json.dumps(_whole(self.form), separators=(",", ":"))
        return f"Q: {self.question}\nFORM: {form}"


def _whole(value):
    """Integral floats written as integers (1980, not 1980.0: fewer tokens to copy)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    return value


def load_form_bank(path: Path = FORM_BANK_PATH) -> list[FormDemonstration]:
    from recagents.assistant.plan_mode.intent import Understanding

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        return [
            FormDemonstration(e["question"], Understanding.model_validate(e["form"]).compact())
            for e in raw
        ]
    except Exception as exc:
        raise DataError(f"{path} is not a valid form demonstrations bank: {exc}") from exc


def load_bank(path: Path = BANK_PATH) -> list[Demonstration]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        return [Demonstration(e["question"], Plan.model_validate(e["plan"])) for e in raw]
    except Exception as exc:
        raise DataError(f"{path} is not a valid demonstrations bank: {exc}") from exc


class DemoBank:
    """A bank (plans, or intent forms as ``.forms``) plus its question embeddings (computed on
    first use)."""

    def __init__(self, demos: list, embedder) -> None:
        self.demos = demos
        self.embedder = embedder

    @classmethod
    def load(cls, embedder, path: Path = BANK_PATH) -> DemoBank:
        return cls(load_bank(path), embedder)

    @cached_property
    def forms(self) -> DemoBank:
        """The intent-form bank, with the same embedder (loaded on first use)."""
        return DemoBank(load_form_bank(), self.embedder)

    @cached_property
    def _vectors(self) -> np.ndarray:
        return self.embedder.embed([d.question for d in self.demos])

    def warm(self) -> None:
        """Embed this bank's questions and the form bank's now (otherwise on first use)."""
        for bank in (self, self.forms):
            bank._vectors  # noqa: B018 - a cached property: computing it is the point

    def select(self, question: str, k: int) -> list[Demonstration]:
        """The ``k`` demonstrations most similar to ``question``, least similar first (so the
        closest example sits next to the question in the prompt)."""
        if k <= 0 or not self.demos or not question.strip():
            return []
        scores = self._vectors @ self.embedder.embed_query(question[:1000])
        best = np.argsort(-scores, kind="stable")[:k]
        return [self.demos[i] for i in reversed(best)]
