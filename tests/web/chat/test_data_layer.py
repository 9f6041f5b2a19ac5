"""ChatDataLayer on real databases: SQLite (a temp file) and MariaDB/MySQL (marker ``mysql``).

The MariaDB tables are shared between runs: every test uses fresh user and thread ids.
"""

from __future__ import annotations

import asyncio
import random
import uuid

import chainlit as cl
import pytest
import sqlalchemy as sa
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import User

from recagents.web.chat.data_layer import ChatDataLayer
from recagents.web.chat.tables import elements, feedbacks, steps, threads
from tests.conftest import reachable_mysql_url

run = asyncio.run


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def layer(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'chat.sqlite'}"
        if request.param == "sqlite"
        else reachable_mysql_url()
    )
    data_layer = ChatDataLayer(url)
    yield data_layer
    run(data_layer.close())


def _id(what: str) -> str:
    return f"{what}-{uuid.uuid4()}"


def _at(second: int) -> str:
    return f"2025-05-01T10:00:{second:02d}.000000Z"


def step(step_id, thread_id, kind, second, parent=None, output="", name="Assistant") -> dict:
    """A StepDict as ``Step.to_dict()`` / ``Message.to_dict()`` build it."""
    return {
        "name": name, "type": kind, "id": step_id, "threadId": thread_id, "parentId": parent,
        "streaming": False, "metadata": {}, "tags": None, "input": "", "isError": False,
        "output": output, "createdAt": _at(second), "start": _at(second), "end": None,
        "language": None, "defaultOpen": False, "autoCollapse": False, "showInput": "json",
        "generation": None,
    }  # fmt: skip


async def _user(layer: ChatDataLayer) -> str:
    return (await layer.create_user(User(identifier=_id("user")))).id


async def _conversation(layer, user_id, name, second=0) -> tuple[str, str]:
    """A thread of ``user_id`` with a user and an assistant message; (thread id, answer id)."""
    thread_id, answer = _id("thread"), _id("answer")
    await layer.update_thread(thread_id, name=name, user_id=user_id)
    await layer.create_step(step(_id("ask"), thread_id, "user_message", second, name="u"))
    await layer.create_step(step(answer, thread_id, "assistant_message", second + 1))
    return thread_id, answer


def test_users_are_created_updated_and_found(layer):
    async def scenario():
        ident = _id("alice")
        made = await layer.create_user(
            User(identifier=ident, display_name="Alicé", metadata={"a": 1})
        )
        assert made.identifier == ident and made.display_name == "Alicé"
        assert made.metadata == {"a": 1} and made.id and made.createdAt
        again = await layer.create_user(User(identifier=ident, metadata={"b": 2}))
        assert again.id == made.id and again.metadata == {"b": 2}
        found = await layer.get_user(ident)
        assert (found.id, found.createdAt) == (made.id, made.createdAt)
        assert await layer.get_user(_id("nobody")) is None

    run(scenario())


def test_steps_written_in_any_order_come_back_in_creation_order(layer):
    async def scenario():
        user = await layer.create_user(User(identifier=_id("bob")))
        thread_id = _id("thread")
        ask, tool, nested, answer = (_id(n) for n in ("ask", "tool", "nested", "answer"))
        written = [
            step(ask, thread_id, "user_message", 0, name="bob", output="a film like Amélie?"),
            step(tool, thread_id, "tool", 1, parent=ask, name="search", output="[1, 2]"),
            step(nested, thread_id, "tool", 2, parent=tool, name="details", output="{}"),
            step(answer, thread_id, "assistant_message", 3, output="Try Delicatessen."),
        ]
        random.Random(7).shuffle(written)
        # steps before the thread row exists, concurrently, as Chainlit's unawaited tasks do
        await asyncio.gather(*(layer.create_step(s) for s in written[:2]))
        await layer.update_thread(thread_id, name="films", user_id=user.id)
        await asyncio.gather(*(layer.create_step(s) for s in written[2:]))

        thread = await layer.get_thread(thread_id)
        assert [s["id"] for s in thread["steps"]] == [ask, tool, nested, answer]
        assert [s["parentId"] for s in thread["steps"]] == [None, ask, tool, None]
        assert {s["threadId"] for s in thread["steps"]} == {thread_id}
        assert thread["steps"][0]["output"] == "a film like Amélie?"
        assert thread["steps"][1]["showInput"] == "json" and thread["steps"][1]["isError"] is False
        assert (thread["name"], thread["userId"]) == ("films", user.id)
        assert thread["userIdentifier"] == user.identifier and thread["createdAt"].endswith("Z")
        assert await layer.get_thread_author(thread_id) == user.identifier
        assert await layer.get_thread_author(_id("unknown")) == ""

        final = step(
            answer, thread_id, "assistant_message", 3, output="Try The City of Lost Children."
        )
        await layer.update_step(final)
        # a late create (overtaken by its update) never overwrites the newer content
        await layer.create_step(step(answer, thread_id, "assistant_message", 3, output="stale"))
        thread = await layer.get_thread(thread_id)
        assert thread["steps"][-1]["output"] == "Try The City of Lost Children."
        # update_step upserts a step it never saw; equal timestamps keep the write order
        late, later = _id("late"), _id("later")
        await layer.update_step(step(late, thread_id, "run", 9, output="x"))
        await layer.create_step(step(later, thread_id, "run", 9))
        assert [s["id"] for s in (await layer.get_thread(thread_id))["steps"]][-2:] == [late, later]

    run(scenario())


def test_update_thread_overwrites_only_what_it_is_given(layer):
    async def scenario():
        user_id = await _user(layer)
        thread_id = _id("thread")
        await layer.update_thread(thread_id, metadata={"chat_profile": "movies", "keep": 1})
        await layer.update_thread(thread_id, name="first", user_id=user_id, tags=["x"])
        await layer.update_thread(thread_id, metadata={"chat_profile": "books", "keep": None})
        await layer.update_thread(thread_id, name="renamed")
        thread = await layer.get_thread(thread_id)
        assert thread["name"] == "renamed" and thread["tags"] == ["x"]
        assert thread["userId"] == user_id and thread["metadata"] == {"chat_profile": "books"}
        assert thread["steps"] == [] and thread["elements"] == []

    run(scenario())


def test_list_threads_is_per_user_newest_first_searchable_and_paged(layer):
    async def scenario():
        alice, bob = await _user(layer), await _user(layer)
        names = ["Alpha movie", "beta SHOW", "Gamma show", "Café 日本"]
        ids = [(await _conversation(layer, alice, name))[0] for name in names]
        bobs, _ = await _conversation(layer, bob, "Gamma show")
        await layer.update_thread(_id("empty"), name="no message yet", user_id=alice)

        async def page(first, cursor=None, **filters):
            filters.setdefault("userId", alice)
            return await layer.list_threads(
                Pagination(first=first, cursor=cursor), ThreadFilter(**filters)
            )

        one = await page(3)
        assert [t["id"] for t in one.data] == ids[::-1][:3]
        assert one.pageInfo.hasNextPage and one.pageInfo.startCursor == ids[3]
        assert one.pageInfo.endCursor == ids[1] and one.data[0]["userIdentifier"]
        two = await page(3, cursor=one.pageInfo.endCursor)
        assert [t["id"] for t in two.data] == [ids[0]] and not two.pageInfo.hasNextPage
        assert [t["id"] for t in (await page(10, search="show")).data] == [ids[2], ids[1]]
        assert [t["id"] for t in (await page(10, search="CAFÉ")).data] == [ids[3]]
        assert [t["id"] for t in (await page(10, search="日本")).data] == [ids[3]]
        assert (await page(10, search="50%_off")).data == []
        assert [t["id"] for t in (await page(10, userId=bob)).data] == [bobs]
        assert (await page(10, userId=_id("stranger"))).data == []
        assert (await page(10, userId=None)).data == []

    run(scenario())


def test_feedback_shows_on_its_step_and_filters_threads(layer):
    async def scenario():
        user_id = await _user(layer)
        thread_id, answer = await _conversation(layer, user_id, "feedback")
        vote = await layer.upsert_feedback(Feedback(forId=answer, value=1, comment="good"))
        thread = await layer.get_thread(thread_id)
        assert thread["steps"][1]["feedback"] == {
            "id": vote, "forId": answer, "value": 1, "comment": "good"
        }  # fmt: skip
        assert "feedback" not in thread["steps"][0]
        same = await layer.upsert_feedback(
            Feedback(id=vote, forId=answer, value=0, threadId=thread_id)
        )
        assert same == vote
        assert (await layer.get_thread(thread_id))["steps"][1]["feedback"]["value"] == 0

        async def voted(value):
            filters = ThreadFilter(userId=user_id, feedback=value)
            return [t["id"] for t in (await layer.list_threads(Pagination(first=5), filters)).data]

        assert await voted(0) == [thread_id] and await voted(1) == []
        assert await layer.delete_feedback(vote)
        assert "feedback" not in (await layer.get_thread(thread_id))["steps"][1]

    run(scenario())


def test_elements_and_favorites(layer):
    async def scenario():
        user_id = await _user(layer)
        thread_id, answer = await _conversation(layer, user_id, "elements")
        text = cl.Text(
            name="plot", content="Un film très drôle", thread_id=thread_id, for_id=answer
        )
        await layer.create_element(text)
        got = await layer.get_element(thread_id, text.id)
        assert (got["id"], got["forId"], got["content"]) == (text.id, answer, "Un film très drôle")
        assert got["type"] == "text" and got["display"] == "inline"
        assert [e["id"] for e in (await layer.get_thread(thread_id))["elements"]] == [text.id]
        assert await layer.get_element(_id("other"), text.id) is None
        await layer.delete_element(text.id, thread_id)
        assert await layer.get_element(thread_id, text.id) is None

        answer_step = (await layer.get_thread(thread_id))["steps"][1]
        await layer.set_step_favorite(answer_step, True)
        assert [s["id"] for s in await layer.get_favorite_steps(user_id)] == [answer]
        await layer.set_step_favorite(answer_step, False)
        assert await layer.get_favorite_steps(user_id) == []
        assert await layer.build_debug_url() == ""

    run(scenario())


def test_delete_thread_removes_steps_elements_and_feedback(layer):
    async def scenario():
        user_id = await _user(layer)
        thread_id, answer = await _conversation(layer, user_id, "doomed")
        await layer.create_element(
            cl.Text(name="n", content="c", thread_id=thread_id, for_id=answer)
        )
        await layer.upsert_feedback(Feedback(forId=answer, value=1))
        await layer.delete_thread(thread_id)
        assert await layer.get_thread(thread_id) is None

        with layer.engine.connect() as conn:
            for table, column in (
                (threads, threads.c.id), (steps, steps.c.thread_id),
                (elements, elements.c.thread_id), (feedbacks, feedbacks.c.for_id),
            ):  # fmt: skip
                value = answer if table is feedbacks else thread_id
                count = sa.select(sa.func.count()).select_from(table).where(column == value)
                assert conn.execute(count).scalar() == 0, table.name

    run(scenario())


def test_large_and_unicode_content_round_trips(layer):
    async def scenario():
        user_id = await _user(layer)
        thread_id, answer = await _conversation(layer, user_id, "Amélie — 日本の映画 🎬")
        big = ("Amélie 日本 🎬 " * 6000)[:60_000]
        assert len(big.encode()) > 60_000
        await layer.update_step(step(answer, thread_id, "assistant_message", 1, output=big))
        thread = await layer.get_thread(thread_id)
        assert thread["name"] == "Amélie — 日本の映画 🎬"
        assert thread["steps"][1]["output"] == big

    run(scenario())


def test_unknown_thread_is_none_and_close_allows_reuse(layer):
    async def scenario():
        assert await layer.get_thread(_id("missing")) is None
        await layer.close()
        assert await layer.get_user(_id("nobody")) is None  # reconnects after close

    run(scenario())
