"""The chat in a real browser (headless Chromium) against the real host process, the real
stores (copies of the session's) and the real local 0.5B.

Properties only: steps appear (a tool call and the ARAG agents nested in it), the answer names
catalogue movies that a tool returned, nothing leaves 127.0.0.1, a conversation survives a
server restart and the follow-up uses its context. Never the model's wording.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from recagents.settings import PROJECT_ROOT
from tests.web.chat.conftest import CHAT_PASSWORD, CHAT_SECRET, HostProcess

pytestmark = [pytest.mark.browser, pytest.mark.llm]
TURN_TIMEOUT_MS = 600_000  # one ARAG turn of the 0.5B on 2 busy cores
SCREENSHOTS = PROJECT_ROOT / "bench" / "out"  # gitignored
USAGE = re.compile(r"(\d+) LLM calls? · ([\d,]+) → ([\d,]+) tokens · ([\d.]+) s")


@pytest.fixture
def host(host_env, tmp_path):
    server = HostProcess(host_env, tmp_path / "host.log").start()
    yield server
    server.stop()


@pytest.fixture
def login_host(host_env, tmp_path):
    env = {
        **host_env,
        "CHAINLIT_AUTH_SECRET": CHAT_SECRET,
        "RECAGENTS_CHAT_PASSWORD": CHAT_PASSWORD,
    }
    server = HostProcess(env, tmp_path / "host.log").start()
    yield server
    server.stop()


def ask(page, text: str, turns_before: int = 0) -> str:
    page.fill("#chat-input", text)
    page.click("#chat-submit")
    page.wait_for_function(
        "n => document.body.innerText.split('LLM call').length > n + 1",
        arg=turns_before,
        timeout=TURN_TIMEOUT_MS,
    )
    return page.inner_text("body")


def login(page, url: str) -> None:
    page.goto(f"{url}/chat")
    page.locator("input[type=password]").wait_for()
    page.locator("input").first.fill("admin")
    page.locator("input[type=password]").fill(CHAT_PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_selector("#chat-input")


def test_recommendation_turn_shows_steps_and_catalogue_movies(
    host, page, catalog, ratings_df, tmp_path
):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{host.url}/chat")
    page.wait_for_selector("#chat-input")
    # a failing turn first: a polite line, and the next turn works
    page.fill("#chat-input", "x" * 5000)  # over the assistant's question limit
    page.click("#chat-submit")
    page.get_by_text("the limit is 4000").wait_for(timeout=60_000)
    body = ask(page, "Recommend 2 movies to user 17")

    # `recagents status` beside the running app (it holds the Qdrant folder) does not break it
    status = subprocess.run(
        [sys.executable, "-m", "recagents", "status", "--json"],
        env=host.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in status.stderr, status.stderr

    tools = page.locator('[data-step-type="tool"]')
    assert tools.count() >= 1
    # the form step was on screen while its LLM call ran, and was closed with the form
    model_steps = " ".join(page.locator('[data-step-type="llm"]').all_inner_texts())
    assert "understood" in model_steps and "understanding the request" not in model_steps
    page.get_by_role("button", name="Used recommend_items").click()
    agents = page.locator('[data-step-type="run"]')
    agents.first.wait_for()
    names = " ".join(agents.all_inner_texts())
    assert "agent: nli" in names and "agent: ranker" in names

    titles = {c["title"] for c in catalog}
    named = [t for t in titles if t in body]
    assert named, "the answer names no catalogue movie"
    seen = set(ratings_df.loc[ratings_df.user_id == 17, "item_id"])
    by_title = {c["title"]: c["item_id"] for c in catalog}
    table = [line for line in body.splitlines() if re.match(r"^\d+\t", line)]
    assert table, "no items table"
    listed = [line.split("\t")[1] for line in table]
    assert all(t in titles for t in listed)  # nothing invented
    assert not {by_title[t] for t in listed} & seen  # nothing the user has seen
    match = USAGE.search(body)
    assert match and int(match[1]) >= 2  # the plan, the agents, the answer

    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the README's picture comes from here
    shutil.copyfile(tmp_path / "chat.png", SCREENSHOTS / "chat-browser-test.png")
    outside = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert not outside, f"the page made requests outside 127.0.0.1: {outside[:5]}"


def test_a_conversation_resumes_after_a_restart(login_host, page, browser):
    login(page, login_host.url)
    ask(page, "What do we know about user 17?")
    first_tools = page.locator('[data-step-type="tool"]').all_inner_texts()
    assert any("user_metadata" in t or "user" in t for t in first_tools)

    login_host.restart()
    page.context.clear_cookies()
    login(page, login_host.url)
    page.get_by_text("What do we know about user 17?").first.click()
    page.wait_for_url("**/thread/**")
    page.get_by_text("LLM call").first.wait_for()  # the earlier answer is back on the page

    body = ask(page, "Recommend 2 movies to this user", turns_before=1)
    assert body.count("What do we know about user 17?") >= 1
    page.get_by_role("button", name="Used recommend_items").last.click()
    # the recommend_items step (the verifier's verdict is a tool step after it)
    tool_steps = page.locator('[data-step-type="tool"]').filter(has_text="recommend_items")
    step_text = tool_steps.last.inner_text()
    assert re.search(r'"user_id":\s*17\b', step_text), step_text  # the earlier context
