"""chainlit_example.answer over the real (test) stores: titles from the repository, no crash."""

from __future__ import annotations

import importlib.util

from recagents.settings import PROJECT_ROOT


def load_example():
    spec = importlib.util.spec_from_file_location(
        "chainlit_example", PROJECT_ROOT / "chainlit_example.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answer_lists_titles_from_the_store(monkeypatch, tool_recommender, metadata_store):
    example = load_example()
    monkeypatch.setattr(example, "_backends", lambda: (tool_recommender, metadata_store))
    reply = example.answer("recommend for user 17 k 3")
    lines = reply.splitlines()
    assert lines[0] == "**Top 3 for user 17**" and len(lines) == 4
    titles = set(metadata_store.titles.values())
    assert all(line.split(". ", 1)[1].split(" — ")[0] in titles for line in lines[1:])
    assert "Tell me a user id" in example.answer("hello")
