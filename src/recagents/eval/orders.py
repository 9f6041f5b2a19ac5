"""The orders an ARAG run yields, for scoring (``eval ranking`` and the sampled protocol)."""

from __future__ import annotations

from recagents.agents.config import AgentsConfig
from recagents.agents.fusion import fuse
from recagents.agents.run import ARAGResult


def arag_parts(result: ARAGResult) -> tuple[list[int], list[int], list[int]]:
    """(the LLM's order: NLI relevance or the generated ranking; accepted candidates in base
    order; the rest in base order)."""
    accepted = set(result.blackboard.get("accepted") or result.candidates)
    base = [i for i in result.candidates if i in accepted]
    rest = [i for i in result.candidates if i not in accepted]
    ranking = result.blackboard.get("ranking") or {}
    if ranking.get("method") == "fusion":
        return list(ranking["llm_order"]), base, rest
    return [i["item_id"] for i in ranking.get("items", [])], base, rest


def ranking_config(config: AgentsConfig) -> AgentsConfig:
    """``config`` without what cannot change the order (scored design: the profile and the
    explanations are read by no ranking step), and NLI scoring at any weight: the evaluation
    rows and the tuning read the relevance order itself."""
    if config.ranker.method != "fusion":
        return config
    return config.scoring_at_any_weight().model_copy(
        update={
            "user_understanding": config.user_understanding.model_copy(update={"enabled": False}),
            "explanations": config.explanations.model_copy(update={"enabled": False}),
        }
    )


def generated_config(config: AgentsConfig) -> AgentsConfig:
    """The earlier design (generated verdicts and permutation) with ``config``'s other knobs."""
    data = config.model_dump()
    data["nli"]["method"] = "generate"
    data["ranker"]["method"] = "generate"
    return AgentsConfig.model_validate(data)


def fused_order(
    parts: tuple[list[int], list[int], list[int]], weight: float, rrf_k: int
) -> list[int]:
    """What ``finalize`` ranks (the whole accepted list, not only k), then the rejected ones."""
    llm, base, rest = parts
    return [i for i, _ in fuse(llm, base, weight, rrf_k)] + rest
