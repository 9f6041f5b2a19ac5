"""The Chainlit callbacks of the chat (``entry.py``, the file Chainlit loads, imports them).

In the host process (``recagents serve``) the FastAPI lifespan has opened the shared resources
and bound them (``binding``) before any chat starts; under ``chainlit run chainlit_example.py``
Chainlit's own startup hook opens and binds them. Each message runs one assistant turn in a
worker thread (the local LLM is blocking work) and its events flow back to the page through a
queue. The conversation's Chainlit thread id is the checkpointer's thread id, so a resumed
conversation continues the assistant's memory.
"""

from __future__ import annotations

import asyncio
import logging

import chainlit as cl
from chainlit.input_widget import Select, Slider, Switch

from recagents.errors import RecagentsError
from recagents.resources import AppResources
from recagents.settings import get_settings
from recagents.vocabulary import (
    DEFAULT_RECOMMEND_VIA,
    LOCAL_MODEL_NAMES,
    MODES,
    RECOMMEND_PATHS,
    recommend_via_of,
)
from recagents.web.chat import binding
from recagents.web.chat.auth import auth_enabled, password_ok
from recagents.web.chat.turn_view import TurnView

log = logging.getLogger(__name__)
LOCAL_MODELS = LOCAL_MODEL_NAMES
STARTERS = (  # one per question kind the assistant answers
    ("Recommend to a user", "Recommend 5 movies to user 17 and say why."),
    ("With constraints", "Suggest 3 comedies released before 1990 that user 45 has not seen."),
    ("A mood", "User 120 had a long week and wants something light tonight. Any ideas?"),
    ("About a movie", "Who directed Fargo, and what is it about?"),
    ("An audience", "Which age group rated Titanic the highest?"),
)
K_CHOICES = ["auto", "3", "5", "10", "20"]
ALPHA_DEFAULT = 0.1  # the slider's start (configs/graph_text.yaml's alpha, chosen on valid)
_settings = get_settings()
_opened_here: AppResources | None = None


def _resources() -> AppResources:
    return binding.bound()


# --- standalone `chainlit run chainlit_example.py`: Chainlit's lifespan opens the resources -----
@cl.on_app_startup
async def _open_resources() -> None:
    global _opened_here
    if not binding.is_bound():
        _opened_here = await asyncio.to_thread(AppResources.open, _settings)
        binding.bind(_opened_here)


@cl.on_app_shutdown
async def _close_resources() -> None:
    if _opened_here is not None:
        binding.unbind(_opened_here)
        await asyncio.to_thread(_opened_here.close)


# --- login, conversation history (only with a password and CHAINLIT_AUTH_SECRET) -----------
if auth_enabled(_settings):
    from recagents.web.chat.data_layer import ChatDataLayer

    @cl.password_auth_callback
    def _login(username: str, password: str) -> cl.User | None:
        if password_ok(_settings, username, password):
            return cl.User(identifier=username, metadata={"role": "user"})
        return None

    @cl.data_layer
    def _data_layer() -> ChatDataLayer:
        return ChatDataLayer(_settings.sqlalchemy_url)

    @cl.on_chat_resume
    async def _resume(thread) -> None:
        # the page's messages come back from the data layer; the assistant's memory from the
        # checkpointer under the same thread id. Only the settings need restoring.
        await _send_settings(cl.user_session.get("chat_settings") or {})


# --- the chat -------------------------------------------------------------------------------
@cl.set_starters
async def _starters(user=None, language=None) -> list[cl.Starter]:
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


def _model_choices(res: AppResources) -> tuple[list[str], str]:
    status = res.llm_status()
    current = status.get("model") or "default"
    if status.get("backend") == "local":
        return list(dict.fromkeys([current, *LOCAL_MODELS])), current
    return [current], current


async def _send_settings(saved: dict) -> None:
    res = _resources()
    models, model = _model_choices(res)
    mode = saved.get("mode") or res.mode or "default"
    via = (
        recommend_via_of(saved.get("via") or saved.get("engine"))  # "engine": the former id
        or res.recommend_via
        or DEFAULT_RECOMMEND_VIA
    )
    widgets = [
        Select(id="model", label="Model", values=models, initial_value=saved.get("model", model)),
        Select(
            id="mode",
            label="Mode (plan: plan-then-execute for small models; tools: native tool calls)",
            values=["default", *MODES],
            initial_value=mode,
        ),
        Select(
            id="via",
            label="Recommendations (agents: the agents explain and rank; engine: the engine's "
            "ranking alone)",
            values=list(RECOMMEND_PATHS),
            initial_value=via,
        ),
        Select(
            id="k",
            label="Items per recommendation when the message names no count",
            values=K_CHOICES,
            initial_value=str(saved.get("k", "auto")),
        ),
        Switch(
            id="blend",
            label="Blend history and text (graph-enhanced text retrieval in the agents' pool)",
            initial=bool(saved.get("blend", False)),
        ),
        Slider(
            id="alpha",
            label="Blend weight α (0: only the history, 1: only the text; used when on)",
            initial=float(saved.get("alpha", ALPHA_DEFAULT)),
            min=0,
            max=1,
            step=0.1,
        ),
    ]
    values = await cl.ChatSettings(widgets).send()
    cl.user_session.set("chat_settings", {**values, **saved})


@cl.on_chat_start
async def _start() -> None:
    await _send_settings({})


@cl.on_settings_update
async def _settings_update(values: dict) -> None:
    cl.user_session.set("chat_settings", values)


def _assistant_for(res: AppResources, chosen: dict):
    _, default_model = _model_choices(res)
    model = chosen.get("model")
    mode = chosen.get("mode")
    return res.assistant(
        mode=None if mode in (None, "default") else mode,
        model=None if model in (None, default_model) else model,
        recommend_via=chosen.get("via") or chosen.get("engine"),
        k=int(chosen["k"]) if str(chosen.get("k", "auto")).isdigit() else None,
        alpha=chosen_alpha(chosen),
    )


def chosen_alpha(chosen: dict) -> float | None:
    """The settings' α when the blend is switched on (None: off, today's retrieval)."""
    if not chosen.get("blend"):
        return None
    return min(1.0, max(0.0, float(chosen.get("alpha", ALPHA_DEFAULT))))


def _polite(exc: BaseException) -> str:
    if isinstance(exc, RecagentsError):
        return f"Sorry, I could not answer that: {exc}"
    log.exception("chat turn failed", exc_info=exc)
    return (
        f"Sorry, something went wrong on my side ({type(exc).__name__}). "
        "Your conversation is intact: please try again or rephrase."
    )


@cl.on_message
async def _on_message(message: cl.Message) -> None:
    res = _resources()
    thread_id = cl.context.session.thread_id
    chosen = cl.user_session.get("chat_settings") or {}
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def work() -> None:
        def put(item) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        try:
            assistant = _assistant_for(res, chosen)
            put(("ready", assistant))
            for event in assistant.events(message.content, thread_id):
                put(event)
        except BaseException as exc:  # noqa: BLE001 - shown politely; the next turn works
            put(("error", exc))
        finally:
            put(("end", None))

    worker = loop.run_in_executor(None, work)
    view: TurnView | None = None
    while True:
        kind, payload = await queue.get()
        if kind == "end":
            break
        if kind == "ready":
            view = TurnView(res.services, payload.context.title_index)
        elif kind == "error":
            await (view.fail(_polite(payload)) if view else cl.Message(_polite(payload)).send())
        elif kind == "result" and view is not None:
            await view.finish(payload)
        elif view is not None:
            try:
                await view.handle(kind, payload)
            except Exception:  # a display problem must not lose the answer
                log.exception("could not show %s", kind)
    await worker
