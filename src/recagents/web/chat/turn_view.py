"""One chat turn on the page: the assistant's events become Chainlit steps and a streamed,
then grounded, answer message.

Each tool call is a ``tool`` step (arguments in, result out), each ARAG agent a step nested in
its ``recommend_items`` call, the plan (or the understood intent form) an ``llm`` step, the
constraint verifier's verdict a ``tool`` step; all collapsed by default. The answer
streams sentence by sentence (``AnswerStream``) and is then replaced by the grounded final
text, with the recommended movies as a table and the turn's LLM usage under it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import chainlit as cl
from chainlit.utils import utc_now

from recagents.web.chat import render

STREAMED_NODES = ("answer",)  # nodes whose LLM text is the reply (plan mode's answer writer)
# model steps shown as running from their start (their one LLM call takes seconds on a CPU)
RUNNING_NAMES = {"understand": "understanding the request…", "plan": "planning…"}


class TurnView:
    def __init__(self, services, title_index) -> None:
        self.services = services
        self.title_index = title_index
        self.started = time.perf_counter()
        self.steps: dict[int, cl.Step] = {}
        self.running: dict[str, cl.Step] = {}  # model steps shown while their LLM call runs
        self.reasons: dict[int, str] = {}
        self.seen_ids: set[int] = set()
        self.message: cl.Message | None = None
        self.stream = render.AnswerStream(self._safe)
        self.first_token_s: float | None = None

    def _safe(self, sentence: str) -> bool:
        named = self.title_index.mentions(sentence)
        return all(ids and ids <= self.seen_ids for ids in named)

    async def handle(self, kind: str, payload: Any) -> None:
        if kind == "progress":
            await self._progress(payload)
        elif kind == "update":
            await self._update(*payload)
        elif kind == "token":
            node, text = payload
            if node in STREAMED_NODES:
                await self._token(text)

    async def _model_step(self, node: str, name: str, output: str | None) -> None:
        """Show a model node's result: in the step ``node_start`` opened for it (renamed and
        closed), else in a new step."""
        step = self.running.pop(node, None)
        if step is None:
            step = cl.Step(name=name, type="llm", default_open=False, show_input=False)
            step.output, step.language = output, "json"
            await step.send()
            return
        step.name, step.end = name, utc_now()
        if output is not None:
            step.output, step.language = output, "json"
        await step.update()

    async def _update(self, node: str, update: dict | None) -> None:
        if node == "understand" and update and update.get("form"):
            form = {
                "form": update["form"].get("parsed"),
                "chain": update.get("plan", {}).get("steps"),
                "notes": update.get("plan", {}).get("notes"),
            }
            await self._model_step(node, "understood", render.as_json(form))
        elif node == "verify" and update and update.get("verdict"):
            verdict = update["verdict"]
            name = "constraints: " + ("satisfied" if verdict.get("satisfied") else "NOT satisfied")
            step = cl.Step(name=name, type="tool", default_open=False, show_input=False)
            step.output = render.as_json(
                {
                    k: verdict.get(k)
                    for k in (
                        "satisfied",
                        "violations",
                        "unmet",
                        "enforced",
                        "relaxed",
                        "failed_steps",
                    )
                }  # fmt: skip
            )
            step.language = "json"
            await step.send()
        elif node == "plan" and update and update.get("plan"):
            await self._model_step(node, "plan", render.as_json(update["plan"]))
        elif node in self.running:  # the node ended without the output shown above
            await self._model_step(node, f"{node}: done", None)
        elif node == "agent" and update and update.get("scratch"):
            last = update["scratch"][-1]
            calls = getattr(last, "tool_calls", None)
            if calls:
                step = cl.Step(name="model: tool calls", type="llm", default_open=False)
                step.output = render.as_json(
                    [{"name": c["name"], "args": c["args"]} for c in calls]
                )
                step.language = "json"
                await step.send()

    async def _progress(self, event: dict) -> None:
        kind, number = event.get("kind"), int(event.get("step", 0))
        if kind == "node_start" and event.get("node") in RUNNING_NAMES:
            node = event["node"]
            step = cl.Step(
                name=RUNNING_NAMES[node], type="llm", default_open=False, show_input=False
            )
            step.start = utc_now()
            await step.send()  # on screen now, while the node's LLM call runs
            self.running[node] = step
        elif kind == "tool_start":
            step = cl.Step(name=event["tool"], type="tool", default_open=False, show_input="json")
            step.input = render.as_json(event.get("args", {}))
            await step.send()
            self.steps[number] = step
        elif kind == "agent":
            parent = self.steps.get(number)
            step = cl.Step(
                name=f"agent: {event['agent']}",
                type="run",
                parent_id=parent.id if parent else None,
                default_open=False,
                show_input=False,
            )
            seconds = event.get("seconds")
            step.output = render.as_json(event.get("output"))
            step.language = "json"
            if seconds is not None:
                step.metadata = {"seconds": seconds}
            await step.send()
        elif kind == "tool_end":
            data = event.get("data")
            self.seen_ids |= render.ids_in(data)
            rows = data.get("items") if isinstance(data, dict) else None
            if isinstance(rows, list):  # some tools' data has a count under "items"
                for row in rows:
                    if isinstance(row, dict) and row.get("why"):
                        self.reasons[row["item_id"]] = row["why"]
            step = self.steps.get(number)
            if step is None:
                return
            step.output = render.as_json(
                {"status": event.get("status"), "message": event.get("message"), "data": data}
            )
            step.language = "json"
            step.is_error = event.get("status") != "success"
            await step.update()

    async def _token(self, text: str) -> None:
        piece = self.stream.feed(text)
        if not piece:
            return
        if self.message is None:
            self.message = cl.Message(content="")
            self.first_token_s = time.perf_counter() - self.started
        await self.message.stream_token(piece)

    async def finish(self, result) -> str:
        """Replace the draft with the grounded answer, the items table and the usage line."""
        ids = [i.id for i in result.items]
        fields = ("title", "year", "genres")
        rows = await asyncio.to_thread(self.services.store.item_details, ids, fields) if ids else []
        body = render.final_markdown(
            result.answer,
            [i.title for i in result.items],
            render.items_table(rows, self.reasons) if rows else "",
        )
        seconds = time.perf_counter() - self.started
        content = f"{body}\n\n{render.usage_line(result.usage, seconds)}"
        await self._send(content)
        return content

    async def fail(self, text: str) -> None:
        await self._send(text)

    async def _send(self, content: str) -> None:
        message = self.message or cl.Message(content="")
        message.content = content
        await message.send()
