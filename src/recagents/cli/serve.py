"""`recagents serve` (``python app_main.py`` and ``make run`` run the same command): build what
is missing (``recagents setup``), then serve the host app — the chat at ``/chat`` and the REST
API beside it — under uvicorn.

LLM flags (they win over ``RECAGENTS_*``):

- none: OpenAI if ``OPENAI_API_KEY`` is set, else the embedded local Qwen;
- ``--llm gpt-4.1``: OpenAI with that model; ``--llm local`` (a provider name): that provider;
- ``--self_host [--llm qwen2.5:7b]``: Ollama (``RECAGENTS_OLLAMA_BASE_URL``);
- ``--base-url URL [--llm NAME]``: any OpenAI-compatible server;
- ``--provider P`` forces a provider; ``--model M`` names the model of whichever one is used.

Safety, before anything is built or served: listening beyond loopback needs API tokens
(``RECAGENTS_API_TOKENS``) and, with the chat, the chat's login (``RECAGENTS_CHAT_PASSWORD`` +
``CHAINLIT_AUTH_SECRET``): without them the command refuses to start rather than serve an open
API or chat (or ones that refuse every request). A port in use is an error naming ``--port``.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recagents.cli.ask import DeprecatedEngineFlag, recommend_path_flag
from recagents.cli.output import echo_err
from recagents.vocabulary import LLM_PROVIDERS, LLMProvider, Mode

if TYPE_CHECKING:
    from recagents.settings import Settings

MODEL_FIELDS = {  # the setting that names the model, per backend
    "openai": "llm_model",
    "openai-compatible": "llm_model",
    "ollama": "ollama_model",
    "local": "local_model",
}


def llm_overrides(
    settings: Settings,
    *,
    llm: str | None = None,
    self_host: bool = False,
    base_url: str | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The settings the LLM flags set (``{}`` without flags): ``--llm`` is a provider name (it
    picks the provider) or a model name, OpenAI's unless ``--self_host`` / ``--base-url`` /
    ``--provider`` say otherwise; ``--model`` names the model of whichever provider is used (and
    wins over ``--llm NAME``)."""
    from recagents.llm.factory import resolve_provider

    llm_model = None
    if llm in LLM_PROVIDERS:
        provider = provider or llm
    elif llm:
        llm_model = llm
    if self_host:
        provider = provider or "ollama"
    overrides: dict[str, Any] = {}
    if base_url:
        overrides["llm_base_url"] = base_url
        provider = provider or "openai-compatible"
    if llm_model and not provider:
        provider = "openai"  # `--llm gpt-4.1`: an OpenAI model
    if provider:
        overrides["llm_provider"] = provider
    if name := model or llm_model:
        backend = resolve_provider(settings.model_copy(update=overrides))
        overrides[MODEL_FIELDS[backend]] = name
    return overrides


def with_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """``settings`` with ``overrides`` applied and validated (a bad flag value is an error
    naming the flag's setting)."""
    from pydantic import ValidationError

    from recagents.errors import InvalidArgumentError
    from recagents.settings import Settings

    if not overrides:
        return settings
    try:
        return Settings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidArgumentError(f"invalid LLM flag — {problems}") from None


def port_problem(host: str, port: int) -> str | None:
    """Why the app cannot listen on host:port (None when it can)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another recagents?): "
                    f"pass --port with a free port, e.g. --port {port + 1}"
                )
            return f"cannot listen on {host}:{port}: {exc.strerror}; check --host / --port"
    return None


def browsable(host: str) -> str:
    """The host part of a URL a browser on this machine can open."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"[{shown}]" if ":" in shown else shown


def refusal(settings: Settings, host: str, chat: bool) -> str | None:
    """Why serving on ``host`` would be unsafe (None when it is not)."""
    from recagents.web.api.deps import configured_tokens, is_loopback
    from recagents.web.chat.auth import refusal as chat_refusal

    if is_loopback(host):
        return None
    if not configured_tokens(settings):
        return (
            f"--host {host} is not a loopback address and no API tokens are configured: set "
            "RECAGENTS_API_TOKENS=token1,token2 (clients send 'Authorization: Bearer <token>'), "
            "or listen on 127.0.0.1"
        )
    return chat_refusal(settings, host) if chat else None


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    llm: Annotated[
        str | None,
        typer.Option(
            help="Model name: OpenAI's (e.g. gpt-4.1), Ollama's with --self_host (e.g. "
            "qwen2.5:7b), or the server's with --base-url; a provider name "
            f"({', '.join(LLM_PROVIDERS)}) picks that provider."
        ),
    ] = None,
    self_host: Annotated[
        bool, typer.Option("--self_host", "--self-host", help="Use an Ollama server.")
    ] = False,
    base_url: Annotated[
        str | None, typer.Option(help="An OpenAI-compatible server's base URL (…/v1).")
    ] = None,
    provider: Annotated[LLMProvider | None, typer.Option(help="Force an LLM provider.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name for the provider used (default: settings).")
    ] = None,
    mode: Annotated[
        Mode | None,
        typer.Option(
            help="Assistant mode: tools (native tool calls) or plan (plan-then-execute); "
            "default: from the model's capabilities.",
        ),
    ] = None,
    via: Annotated[
        str | None,
        typer.Option(
            "--via",
            help="How the chat recommends: agents (the agents explain and rank, default) or "
            "engine (the engine's ranking alone).",
        ),
    ] = None,
    engine: DeprecatedEngineFlag = None,
    chat: Annotated[bool, typer.Option(help="Mount the chat UI at /chat.")] = True,
    warm_llm: Annotated[
        bool,
        typer.Option(
            help="Start the LLM at startup (else on the first LLM request); the engine, the "
            "plot vectors and Swing open at startup either way."
        ),
    ] = True,
    setup: Annotated[
        bool, typer.Option(help="Build what is missing first (`recagents setup`).")
    ] = True,
    setup_only: Annotated[bool, typer.Option(help="Build what is missing and exit.")] = False,
) -> None:
    """Build what is missing, then serve the chat (/chat) and the REST API (docs at /docs)."""
    from recagents.errors import InvalidArgumentError
    from recagents.settings import get_settings

    base = get_settings()
    settings = with_overrides(
        base,
        llm_overrides(
            base, llm=llm, self_host=self_host, base_url=base_url, provider=provider, model=model
        ),
    )
    recommend_via = recommend_path_flag(via, engine)
    if not setup_only:
        if reason := refusal(settings, host, chat):
            raise InvalidArgumentError(reason)
        if problem := port_problem(host, port):
            raise InvalidArgumentError(problem)
    if setup or setup_only:
        from recagents.build import run_setup, summary_line

        run_setup(settings, on_step=lambda result: echo_err(summary_line(result)))
    if setup_only:
        return
    import uvicorn

    from recagents.web.host import CHAT_PATH, create_app

    app = create_app(
        settings,
        chat=chat,
        warm_llm=warm_llm,
        bind_host=host,
        mode=mode,
        recommend_via=recommend_via,
    )
    url = f"http://{browsable(host)}:{port}"
    pages = f"open {url}{CHAT_PATH} (REST API docs: {url}/docs)" if chat else f"{url}/docs"
    echo_err(f"\nrecagents is starting: {pages}. Ctrl+C stops it.\n")
    uvicorn.run(app, host=host, port=port, log_level="info")
