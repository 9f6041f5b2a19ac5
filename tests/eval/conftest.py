"""Eval test helpers: where the peer project's 50-query tool-use suite is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recagents.settings import PROJECT_ROOT

SHARED_SUITE = PROJECT_ROOT.parent / "shared" / "data" / "recsys-agent-eval"


@pytest.fixture(scope="session")
def suite_dir() -> Path:
    path = Path(os.environ.get("RECAGENTS_TEST_PEER_SUITE", SHARED_SUITE))
    if not (path / "evaluation_easy.json").is_file():
        pytest.skip(
            f"needs the peer project's 50-query suite (not at {path}): set "
            "RECAGENTS_TEST_PEER_SUITE=/path/to/recsys-agent-eval"
        )
    return path
