"""Can the embedded llama.cpp server do native tool calls for the local Qwen models (issue 22)?

One request per (model, tool set) to the embedded server's ``/v1/chat/completions`` with the
tools' OpenAI schemas, the question "Recommend 3 horror movies to user 3.", greedy decoding:
prints prompt/generated tokens, seconds, and whether the reply came back as parsed
``tool_calls`` or as text. Saves ``bench/out/native_tools.json``. Run it alone (LLM bench).

    .venv/bin/python bench/probe_native_tools.py [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx
from langchain_core.utils.function_calling import convert_to_openai_tool

from recagents.llm.factory import make_chat_model
from recagents.settings import Settings
from recagents.tools.registry import TOOLS

OUT = Path(__file__).parent / "out"
QUESTION = "Recommend 3 horror movies to user 3."


def probe(model: str) -> list[dict]:
    handle = make_chat_model(Settings(), provider="local", model=model)
    schemas = [convert_to_openai_tool(t) for t in TOOLS]
    two = [s for s in schemas if s["function"]["name"] in ("filter_items", "recommend_items")]
    rows = []
    try:
        for label, tools in (("every tool", schemas), ("two tools", two)):
            body = {
                "model": handle.model,
                "messages": [
                    {"role": "system", "content": "You recommend movies. Use the tools."},
                    {"role": "user", "content": QUESTION},
                ],
                "tools": tools,
                "max_tokens": 120,
                "temperature": 0,
            }
            headers = {"Authorization": f"Bearer {handle.api_key}"} if handle.api_key else {}
            started = time.perf_counter()
            reply = httpx.post(
                f"{handle.base_url}/chat/completions", json=body, headers=headers, timeout=900
            ).json()
            message = reply["choices"][0]["message"]
            usage = reply.get("usage") or {}
            rows.append(
                {
                    "model": model,
                    "tools": label,
                    "seconds": round(time.perf_counter() - started, 1),
                    "prompt_tokens": usage.get("prompt_tokens"),
                    "cached_tokens": (usage.get("prompt_tokens_details") or {}).get(
                        "cached_tokens"
                    ),
                    "generated_tokens": usage.get("completion_tokens"),
                    "parsed_tool_calls": len(message.get("tool_calls") or []),
                    "text": (message.get("content") or "")[:300],
                }
            )
    finally:
        handle.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b")
    args = parser.parse_args()
    rows = [row for model in args.models.split(",") for row in probe(model.strip())]
    for r in rows:
        print(
            f"{r['model']:<20} {r['tools']:<10} {r['seconds']:>6.1f} s  prompt {r['prompt_tokens']}"
            f" (cached {r['cached_tokens']})  generated {r['generated_tokens']}  "
            f"parsed tool calls {r['parsed_tool_calls']}  text {r['text'][:80]!r}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "native_tools.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
