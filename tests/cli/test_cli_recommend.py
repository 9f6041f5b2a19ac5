"""``recagents recommend --alpha`` (retrieval only, real test stores)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from recagents.cli.main import app
from recagents.errors import InvalidArgumentError
from recagents.services.graph_text import build_graph_text

HISTORY = '[{"item_id": 1, "event_value": 5}, {"item_id": 50, "event_value": 4}]'


def test_alpha_outside_0_1_is_a_clear_error():
    result = CliRunner().invoke(
        app, ["recommend", "--text", "space", "--alpha", "1.5", "--no-llm", "--json"]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidArgumentError)
    assert "alpha" in str(result.exception)


def test_alpha_flag_puts_the_blend_in_the_pool(
    monkeypatch, tool_settings, sqlite_url, agent_services
):
    build_graph_text(agent_services)
    settings = tool_settings.model_copy(update={"database_url": sqlite_url})
    monkeypatch.setattr("recagents.settings.get_settings", lambda: settings)
    args = ["recommend", "--text", "space", "--history", HISTORY, "--no-llm", "--json", "--k", "5"]
    blended = CliRunner().invoke(app, [*args, "--alpha", "0.4"])
    assert blended.exit_code == 0, blended.output
    out = json.loads(blended.stdout.strip().splitlines()[-1])
    assert out["retrieval"]["graph_text"]["alpha"] == 0.4
    assert out["retrieval"]["sources"]["graph_text"] > 0
    plain = CliRunner().invoke(app, args)
    assert "graph_text" not in json.loads(plain.stdout.strip().splitlines()[-1])["retrieval"]
