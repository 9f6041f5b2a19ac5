"""What the chat shows, as pure functions: the streamed answer, the items table, the usage."""

from __future__ import annotations

import json

from recagents.llm.accounting import Usage
from recagents.web.chat.render import (
    AnswerStream,
    final_markdown,
    ids_in,
    items_table,
    usage_line,
)


def pieces(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def stream_all(raw: str, is_safe=lambda s: True) -> tuple[list[str], AnswerStream]:
    stream = AnswerStream(is_safe)
    return [out for p in pieces(raw) if (out := stream.feed(p))], stream


def test_whole_sentences_stream_out_of_the_json_text():
    text = 'Two picks. Both are "light" comedies!\nEnjoy é 日本.'
    raw = json.dumps({"text": text, "item_ids": [1, 2]}, ensure_ascii=False)
    released, _ = stream_all(raw)
    assert "".join(released) == text
    assert len(released) >= 2  # released sentence by sentence, not at the end only
    assert released[0] == "Two picks. "


def test_escapes_split_across_pieces():
    raw = json.dumps({"text": 'Tab\there, quote " and \\u00e9 é.'})
    released, _ = stream_all(
        raw,
    )
    assert "".join(released) == json.loads(raw)["text"]


def test_an_unsafe_sentence_stops_the_stream():
    text = "Here is one. You will love Inception (2010). And more."
    raw = json.dumps({"text": text})
    released, stream = stream_all(raw, is_safe=lambda s: "Inception" not in s)
    assert "".join(released) == "Here is one. "
    assert stream.blocked
    assert stream.feed(" more") == ""


def test_nothing_before_the_text_key():
    stream = AnswerStream(lambda s: True)
    assert stream.feed('{"item_ids": [3], ') == ""
    assert stream.feed('"text": "Done.') == ""  # the sentence may still grow
    assert stream.feed('"}') == "Done."


def test_items_table_and_final_markdown():
    rows = [
        {"item_id": 1, "title": "Toy Story (1995)", "year": 1995, "genres": ["Animation"]},
        {"item_id": 2, "title": "A | B (1990)", "year": 1990, "genres": []},
    ]
    table = items_table(rows, {1: "You rated Aladdin 5/5.", 2: "x" * 500})
    lines = table.splitlines()
    assert lines[0].startswith("| # | Title") and len(lines) == 4
    assert "A \\| B (1990)" in lines[3]  # a pipe in a title does not break the table
    assert len(lines[3]) < 300  # long reasons are cut
    answer = "Two for you.\n\n1. Toy Story (1995) — why\n2. A | B (1990) — why\n\nMore?"
    out = final_markdown(answer, ["Toy Story (1995)", "A | B (1990)"], table)
    assert out == f"Two for you.\n\n{table}\n\nMore?"
    assert final_markdown("No list here.", ["Toy Story (1995)"], table).endswith(table)
    assert final_markdown("Nothing.", [], "") == "Nothing."


def test_usage_line_and_ids():
    usage = Usage(llm_calls=3, tokens_in=2900, tokens_out=180)
    assert usage_line(usage, 28.04) == "_3 LLM calls · 2,900 → 180 tokens · 28.0 s_"
    assert usage_line(Usage(), 0.2) == "_no LLM calls · 0.2 s_"
    data = {"handle": "C1", "items": [{"item_id": 5, "why": "x"}, {"id": 7}], "n": 3}
    assert ids_in(data) == {5, 7}


def test_a_title_with_vs_is_one_sentence():
    raw = json.dumps({"text": "I pick People vs. Larry Flynt. Enjoy."})
    released, _ = stream_all(raw)
    assert released[0] == "I pick People vs. Larry Flynt. "
