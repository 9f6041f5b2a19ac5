"""Agent knobs from ``<config_dir>/agents.yaml`` (the package ships the defaults), overridden
key by key by ``<data_dir>/agents.yaml`` when that file exists (values tuned on the data, e.g.
``ranker.fusion_weight`` written by ``recagents eval ranking --tune``; delete it to go back)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from recagents.errors import DataError
from recagents.settings import Settings

log = logging.getLogger(__name__)
CONFIG_NAME = "agents.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrievalConfig(_Section):
    pool_size: int = Field(30, ge=2, le=200)
    bpr_share: float = Field(0.7, ge=0, le=1)
    swing_share: float = Field(0.3, ge=0, le=1)


class NLIConfig(_Section):
    # false: the ablation "without NLI" (no verdicts; every candidate goes on to the ranker)
    enabled: bool = True
    # score: graded labels 0-3 from next-token probabilities, one token per candidate;
    # generate: the earlier JSON verdicts with a written reason per candidate
    method: Literal["score", "generate"] = "score"
    threshold: float = Field(0.5, ge=0, le=1)
    min_keep: int = Field(10, ge=1)
    chunk_size: int = Field(10, ge=1)
    plot_words: int = Field(10, ge=0)
    # skip: with the fusion ranker at fusion_weight 0 the relevance cannot change the order, so
    # NLI asks no LLM and says why; score: score anyway (to look at the scores)
    when_unweighted: Literal["skip", "score"] = "skip"


class UserUnderstandingConfig(_Section):
    # false: no profile call (the ranker's fusion does not read the profile; explanations and
    # the generated ranker do)
    enabled: bool = True
    cache: bool = True  # profiles persisted per (user block, model) in the agents' store
    recent_items: int = Field(10, ge=1, le=100)
    neighbour_items: int = Field(3, ge=0, le=50)


class ContextSummaryConfig(_Section):
    # false: the ablation "without Context Summary" (no LLM call; the ranker reads the profile
    # and the NLI verdicts that the summary would have condensed)
    enabled: bool = True


class RankerConfig(_Section):
    # fusion: the engine's order fused with the NLI relevance order (no LLM call);
    # generate: the earlier generated permutation with explanations, fused the same way
    method: Literal["fusion", "generate"] = "fusion"
    fusion_weight: float = Field(0.0, ge=0, le=1)
    rrf_k: int = Field(60, ge=1)


class ExplanationsConfig(_Section):
    # false: template explanations from the store only (no LLM call)
    enabled: bool = True
    # choose: the code writes the true reasons, the model picks one per movie (a typed form);
    # write: the model writes one sentence per movie (checked; for strong models)
    method: Literal["choose", "write"] = "choose"
    max_words: int = Field(20, ge=5, le=60)


class ReflectionConfig(_Section):
    enabled: bool = False
    min_overlap: float = Field(0.4, ge=0, le=1)


def tuned_config_path(settings: Settings) -> Path:
    """Where tuned agent knobs live: ``<data_dir>/agents.yaml`` (beside the trained model)."""
    return Path(settings.data_dir) / CONFIG_NAME


def write_fusion_weight(settings, weight: float, info: dict) -> Path:
    """Set ``ranker.fusion_weight`` in ``<data_dir>/agents.yaml`` (other keys there are kept)."""
    path = tuned_config_path(settings)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    data = data if isinstance(data, dict) else {}
    data.setdefault("ranker", {})["fusion_weight"] = float(weight)
    head = (
        "# Tuned agent knobs: override <config_dir>/agents.yaml key by key (delete to go back).\n"
        f"# ranker.fusion_weight: `recagents eval ranking --tune`, {info.get('metric')}, "
        f"{len(info.get('users', []))} users, model {info.get('model')}.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception as exc:
        raise DataError(f"{path} is not a valid agents config: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path} is not a valid agents config: not a mapping")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class AgentsConfig(_Section):
    llm_concurrency: int | None = Field(None, ge=1, le=16)
    retrieval: RetrievalConfig = RetrievalConfig()
    nli: NLIConfig = NLIConfig()
    user_understanding: UserUnderstandingConfig = UserUnderstandingConfig()
    context_summary: ContextSummaryConfig = ContextSummaryConfig()
    ranker: RankerConfig = RankerConfig()
    explanations: ExplanationsConfig = ExplanationsConfig()
    reflection: ReflectionConfig = ReflectionConfig()

    @classmethod
    def sources(cls, settings: Settings) -> list[Path]:
        """The YAML files ``load`` reads, in order (later ones override earlier ones)."""
        base = Path(settings.config_dir) / CONFIG_NAME
        tuned = tuned_config_path(settings)
        found = [p for p in (base, tuned) if p.is_file()]
        return list(dict.fromkeys(p.resolve() for p in found))

    @classmethod
    def load(cls, settings: Settings) -> AgentsConfig:
        data: dict[str, Any] = {}
        sources = cls.sources(settings)
        for path in sources:
            data = _merge(data, _read(path))
        try:
            config = cls.model_validate(data)
        except Exception as exc:
            where = " + ".join(str(p) for p in sources)
            raise DataError(f"{where} is not a valid agents config: {exc}") from exc
        if len(sources) > 1:
            log.debug("agents config: %s", " <- ".join(map(str, sources)))
        return config

    def nli_skipped(self) -> str | None:
        """Why NLI asks no LLM in this config although it is switched on, or None: the fusion
        ranker at weight 0 orders by the engine alone, whatever the scores."""
        unweighted = self.ranker.method == "fusion" and self.ranker.fusion_weight == 0
        if self.nli.enabled and unweighted and self.nli.when_unweighted == "skip":
            return (
                "skipped: ranker.fusion_weight is 0, so no relevance score could change the "
                "engine's order; tune it (`recagents eval ranking --tune`) or set "
                "nli.when_unweighted: score"
            )
        return None

    def scoring_at_any_weight(self) -> AgentsConfig:
        """A copy whose NLI scores even where the fusion weight makes it moot (evaluation,
        benchmarks of the scoring path)."""
        return self.model_copy(
            update={"nli": self.nli.model_copy(update={"when_unweighted": "score"})}
        )

    def ablated(self, *, nli: bool = True, context_summary: bool = True) -> AgentsConfig:
        """A copy with the NLI and/or Context Summary agent switched off (for ablations)."""
        return self.model_copy(
            update={
                "nli": self.nli.model_copy(update={"enabled": self.nli.enabled and nli}),
                "context_summary": self.context_summary.model_copy(
                    update={"enabled": self.context_summary.enabled and context_summary}
                ),
            }
        )
