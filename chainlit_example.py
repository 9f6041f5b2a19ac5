"""A minimal Chainlit example over the base layer (no LLM): top-k recommendations for a user.

    recagents setup                      # once
    chainlit run chainlit_example.py     # then type e.g. "user 17" or "user 17 k 5"

The full assistant (LLM, tools, ARAG graph) lands in its own issue; this file shows how a Chainlit
handler reaches the recommender and the metadata store, and is kept as the smallest working demo.
"""

from __future__ import annotations

import re
from functools import lru_cache

import chainlit as cl

from recagents.errors import RecagentsError
from recagents.recommender.service import Recommender
from recagents.settings import get_settings
from recagents.stores.metadata import MetadataStore

REQUEST = re.compile(r"user\s*(?P<user>\d+)(?:.*?\bk\s*=?\s*(?P<k>\d+))?", re.IGNORECASE)


@lru_cache(maxsize=1)
def _backends() -> tuple[Recommender, MetadataStore]:
    settings = get_settings()
    return Recommender.load(settings), MetadataStore.open(settings)


def answer(text: str) -> str:
    """The reply to one message (pure function of the stores; used by the handler)."""
    match = REQUEST.search(text)
    if not match:
        return 'Tell me a user id, e.g. "user 17" or "user 17 k 5".'
    recommender, store = _backends()
    user, k = int(match["user"]), int(match["k"] or 10)
    try:
        top = recommender.top_k(user, k)
        items = store.item_details([s.item_id for s in top.items], ("title", "genres"))
    except RecagentsError as exc:
        return f"Sorry, I can't do that: {exc}"
    lines = [
        f"**Top {len(items)} for user {user}**"
        + (" (popular items: unknown user)" if top.fallback else "")
    ]
    for rank, (scored, item) in enumerate(zip(top.items, items, strict=True), 1):
        genres = ", ".join(item["genres"])
        lines.append(f"{rank}. {item['title']} — {genres} (score {scored.score:.2f})")
    return "\n".join(lines)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    async with cl.Step(name="bpr_top_k", type="tool") as step:
        step.input = message.content
        reply = await cl.make_async(answer)(message.content)
        step.output = reply
    await cl.Message(content=reply).send()
