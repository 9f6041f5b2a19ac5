"""One JSON-line emitter and one logging setup for every command; RecBole's lines stay in its log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recagents.cli.output import CHATTY_LOGGERS, emit_json, setup_logging
from recagents.recommender.compat import capture_recbole_logs


@pytest.fixture
def clean_root():
    """The root logger as it was before the test (handlers and level restored)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in chatty.items():
        logging.getLogger(name).setLevel(was)


def test_emit_json_is_one_line(capsys):
    emit_json({"a": 1, "path": Path("/x")})
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and json.loads(out) == {"a": 1, "path": "/x"}


def test_setup_logging_is_one_handler_and_keeps_an_earlier_choice(clean_root):
    setup_logging(verbose=True)
    setup_logging()  # a sub-command's call keeps the --verbose choice
    ours = [h for h in clean_root.handlers if h.get_name() == "recagents-cli"]
    assert len(ours) == 1 and clean_root.level == logging.DEBUG
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
    setup_logging(verbose=False)
    assert len([h for h in clean_root.handlers if h.get_name() == "recagents-cli"]) == 1
    assert clean_root.level == logging.INFO
    # one line per HTTP request (every LLM call) is noise at INFO; warnings still show
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)


def test_every_command_group_uses_the_shared_emitter():
    import recagents.cli.eval as cli_eval
    import recagents.cli.llm as llm_cli
    import recagents.cli.main as cli

    for module in (cli, cli_eval, llm_cli):
        assert module.emit_json is emit_json and module.setup_logging is setup_logging


def test_recbole_lines_reach_the_file_not_the_terminal(clean_root, tmp_path):
    records: list[str] = []

    class Terminal(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    terminal = Terminal()
    clean_root.addHandler(terminal)
    clean_root.setLevel(logging.INFO)
    log_file = tmp_path / "bpr.log"
    with capture_recbole_logs(log_file) as logger:
        logger.info("epoch 1 training [time: 0.2s, train loss: 12.3]")  # RecBole: root logger
        logging.getLogger("recagents.build").warning("ours still shows")
    logging.getLogger().info("after the run")
    assert records == ["ours still shows", "after the run"]
    text = log_file.read_text()
    assert "train loss" in text and "ours still shows" in text
    assert not terminal.filters  # the filter is gone afterwards


def test_llm_check_prints_one_json_line_on_failure(monkeypatch):
    from recagents.cli import main as cli
    from recagents.settings import Settings

    settings = Settings(
        _env_file=None,
        llm_provider="openai-compatible",
        llm_base_url="http://127.0.0.1:9/v1",
        llm_model="m",
        llm_max_retries=0,
    )
    monkeypatch.setattr("recagents.cli.llm.get_settings", lambda: settings)
    result = CliRunner().invoke(cli.app, ["llm", "check", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout.strip().splitlines()[-1])["structured_ok"] is False
