"""The conversational assistant: plan-then-execute for small models, native tool calling for
strong ones, recommendations through the ARAG agents, memory in the configured database."""

from recagents.assistant.config import AssistantConfig
from recagents.assistant.run import AskResult, Assistant

__all__ = ["Assistant", "AskResult", "AssistantConfig"]
