"""What every `recagents …` command prints: one JSON-line emitter and one logging setup.

Contract: with ``--json`` the last stdout line is one JSON object (``emit_json``); logs, progress
bars and summaries go to stderr (``setup_logging``, ``echo_err``). Every command group (the main
app, ``llm``, ``eval``, and later ones) uses these two functions and nothing else.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_HANDLER_NAME = "recagents-cli"


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON line on stdout (the command's machine-readable result)."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def echo_err(message: str) -> None:
    """One human-readable line on stderr (summaries, hints)."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


CHATTY_LOGGERS = ("httpx", "httpcore")


def _installed() -> logging.Handler | None:
    return next((h for h in logging.getLogger().handlers if h.get_name() == _HANDLER_NAME), None)


def setup_logging(verbose: bool | None = None) -> None:
    """Log to stderr (rich formatting), INFO by default, DEBUG with ``verbose=True``.

    Idempotent: ``verbose=None`` (what a sub-command calls) keeps a setup made earlier, e.g. by
    the main app's ``--verbose`` callback. Only our own handler is replaced, so handlers that a
    host or a test runner attached to the root logger stay.
    """
    root = logging.getLogger()
    existing = _installed()
    if existing is not None and verbose is None:
        return
    from rich.console import Console
    from rich.logging import RichHandler

    if existing is not None:
        root.removeHandler(existing)
    handler = RichHandler(console=Console(stderr=True), show_path=False)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # httpx logs every request at INFO: one line per LLM call would bury the progress bars
    for chatty in CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.DEBUG if verbose else logging.WARNING)
