"""The chat settings' graph-text blend: off (the default) keeps today's retrieval."""

from __future__ import annotations

from recagents.assistant.config import AssistantConfig
from recagents.web.chat.handlers import chosen_alpha


def test_switch_off_means_no_alpha():
    assert chosen_alpha({}) is None
    assert chosen_alpha({"blend": False, "alpha": 0.7}) is None


def test_switch_on_passes_the_slider_clamped():
    assert chosen_alpha({"blend": True, "alpha": 0.7}) == 0.7
    assert chosen_alpha({"blend": True, "alpha": 3}) == 1.0


def test_the_assistant_carries_it_to_its_recommendations(tool_settings):
    assert AssistantConfig.load(tool_settings).recommend_alpha is None
    assert AssistantConfig.load(tool_settings, recommend_alpha=0.4).recommend_alpha == 0.4
