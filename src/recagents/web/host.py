"""``create_app``: the one FastAPI app of the host process — the REST API's routers and the
Chainlit chat mounted at ``/chat`` — and its lifespan, which opens the shared resources (stores,
embedded Qdrant client, checkpointer) and warms the LLM (one local llama.cpp server) and the
stores' lazily opened parts in the background, and closes them on shutdown.
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import Mount

from recagents.resources import AppResources
from recagents.settings import Settings, get_settings
from recagents.web.chat import binding as chat_binding

log = logging.getLogger(__name__)

CHAT_PATH = "/chat"
CHAT_ENTRY = Path(__file__).resolve().parent / "chat" / "entry.py"  # the file Chainlit loads


def _warm(resources: AppResources, llm: bool) -> None:
    """Start the LLM (and its local server), open the engine, the plot vectors, Swing and the
    planner's examples now, so the first chat turn does not wait for them (``llm=False``:
    all but the LLM)."""
    seconds = resources.warm(llm=llm)
    log.info("warmed up: %s", ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))


def create_app(
    settings: Settings | None = None,
    *,
    resources: AppResources | None = None,
    chat: bool = True,
    warm_llm: bool = True,
    bind_host: str = "127.0.0.1",
    **open_kwargs,
) -> FastAPI:
    """The host app. ``resources`` given (tests): used as they are and not closed here;
    otherwise opened from ``settings`` in the lifespan (``open_kwargs``: provider, model,
    mode, recommend_via). ``bind_host`` is where the server listens (the API's auth depends on it)."""
    settings = settings or (resources.settings if resources else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = resources is None
        res = AppResources.open(settings, **open_kwargs) if owned else resources
        app.state.resources = res  # the API's routes: ``web.api.deps.get_resources``
        if chat:
            chat_binding.bind(res)  # the chat's callbacks (Chainlit's, outside FastAPI)
        if owned:
            threading.Thread(target=_warm, args=(res, warm_llm), name="warmup", daemon=True).start()
        try:
            yield
        finally:
            chat_binding.unbind(res)
            if owned:
                res.close()

    from recagents.web.api import build_api_router
    from recagents.web.api.errors import install_error_handlers

    app = FastAPI(
        title="recagents",
        summary="Agentic movie recommendation over MovieLens-100k: REST API and chat.",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.bind_host = bind_host
    install_error_handlers(app)
    app.include_router(build_api_router())
    if chat:
        mount_chat(app, settings, bind_host)

        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse(CHAT_PATH)

    return app


_EXTERNAL_LINK = re.compile(
    rb"<link\b[^>]*?href=\"https?://[^\"]*\"[^>]*>", re.IGNORECASE | re.DOTALL
)


class OfflineHTML(BaseHTTPMiddleware):
    """Strip links to external hosts (Google Fonts, the KaTeX stylesheet on a CDN) from the
    chat's HTML page: the chat must work with no request leaving the machine. Installed on the
    Chainlit sub-app only, so the REST API's requests never pass through it."""

    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        if not response.headers.get("content-type", "").startswith("text/html"):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        if response.headers.get("content-encoding") == "gzip":  # Chainlit's GZip middleware
            body = gzip.decompress(body)
        body = _EXTERNAL_LINK.sub(b"", body)
        dropped = ("content-length", "content-encoding")
        headers = {k: v for k, v in response.headers.items() if k.lower() not in dropped}
        return Response(body, status_code=response.status_code, headers=headers)


def mount_chat(app: FastAPI, settings: Settings, bind_host: str) -> None:
    """Mount the Chainlit app (``web/chat/entry.py``, found in the installed package) at
    ``/chat``; its config and offline theme are written to ``<data_dir>/chainlit``
    (``chainlit_root``) before Chainlit is imported. The mount is wrapped in ``ChatGate``: off
    loopback or with API tokens, a chat without its login is refused (403)."""
    from recagents.web.chat.chainlit_root import use_app_root

    use_app_root(settings.data_dir)
    from chainlit.utils import mount_chainlit

    from recagents.web.chat.auth import ChatGate

    mount_chainlit(app=app, target=str(CHAT_ENTRY), path=CHAT_PATH)
    from chainlit.server import app as chainlit_app

    if not any(m.cls is OfflineHTML for m in chainlit_app.user_middleware):
        chainlit_app.add_middleware(OfflineHTML)  # once: the Chainlit app is process-wide
    for route in app.router.routes:
        if isinstance(route, Mount) and route.path == CHAT_PATH:
            route.app = gate = ChatGate(route.app, settings, bind_host)
            if gate.reason:
                log.warning("the chat at %s/ answers 403: %s", CHAT_PATH, gate.reason)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("recagents")
    except PackageNotFoundError:
        return "0"
