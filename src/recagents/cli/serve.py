"""`recagents serve`: the host app (REST API + chat UI at /chat) under uvicorn.

Listening beyond loopback needs API tokens (``RECAGENTS_API_TOKENS``) and, with the chat, the
chat's login (``RECAGENTS_CHAT_PASSWORD`` + ``CHAINLIT_AUTH_SECRET``): without them the command
refuses to start rather than serve an open API or chat (or ones that refuse every request).
"""

from __future__ import annotations

from typing import Annotated

import typer

from recagents.cli.output import echo_err


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    chat: Annotated[bool, typer.Option(help="Mount the chat UI at /chat.")] = True,
    warm_llm: Annotated[
        bool, typer.Option(help="Start the LLM at startup (else on the first LLM request).")
    ] = True,
    provider: Annotated[str | None, typer.Option(help="LLM provider (default: auto).")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: settings).")] = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs) and the chat UI."""
    import uvicorn

    from recagents.errors import InvalidArgumentError
    from recagents.settings import get_settings
    from recagents.web.api.deps import configured_tokens, is_loopback
    from recagents.web.chat.auth import refusal as chat_refusal
    from recagents.web.host import create_app

    settings = get_settings()
    if not is_loopback(host) and not configured_tokens(settings):
        raise InvalidArgumentError(
            f"--host {host} is not a loopback address and no API tokens are configured: set "
            "RECAGENTS_API_TOKENS=token1,token2 (clients send 'Authorization: Bearer <token>'), "
            "or listen on 127.0.0.1"
        )
    if chat and not is_loopback(host) and (reason := chat_refusal(settings, host)):
        raise InvalidArgumentError(reason)
    app = create_app(
        settings, chat=chat, warm_llm=warm_llm, bind_host=host, provider=provider, model=model
    )
    echo_err(f"recagents: http://{host}:{port}/docs (API), http://{host}:{port}/chat/ (chat)")
    uvicorn.run(app, host=host, port=port, log_level="info")
