"""ARAG: LangGraph agents over candidates that real retrieval produced (see ``graph``)."""

from recagents.agents.config import AgentsConfig
from recagents.agents.run import ARAGResult, recommend_with_agents, stream_agents
from recagents.agents.state import HistoryEvent, RecRequest

__all__ = [
    "AgentsConfig",
    "ARAGResult",
    "HistoryEvent",
    "RecRequest",
    "recommend_with_agents",
    "stream_agents",
]
