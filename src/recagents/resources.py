"""What the host process opens once and shares: services, one LLM handle, the checkpointer and
the assistants built on them.

``AppResources.open(settings)`` opens everything from settings (the LLM lazily: a REST call with
``llm=false`` or a catalogue page never waits for the local server to load); tests build one
from their fixtures with ``AppResources(settings, services, llm=...)``. ``current_resources()``
is how the Chainlit handlers (a module Chainlit imports, not a FastAPI route) reach the one the
lifespan opened.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from recagents.errors import BackendUnavailableError
from recagents.services.context import ServiceContext
from recagents.settings import Settings

_CURRENT: AppResources | None = None


def current_resources() -> AppResources:
    """The resources the running host opened (the lifespan sets them)."""
    if _CURRENT is None:
        raise BackendUnavailableError(
            "the recagents host has not started its resources: run `python app_main.py` "
            "(or `recagents serve`), not the module on its own"
        )
    return _CURRENT


def set_current_resources(resources: AppResources | None) -> None:
    global _CURRENT
    _CURRENT = resources


@dataclass
class AppResources:
    """Shared by every request and chat of the process (thread-safe where it builds lazily)."""

    settings: Settings
    services: ServiceContext
    llm: Any = None  # recagents.llm.LLMHandle; None → built on first use by ``get_llm``
    checkpointer: Any = None  # a LangGraph saver; None → opened on first use
    provider: str | None = None
    model: str | None = None
    mode: str | None = None  # the assistant's default mode (None: from config / the model)
    engine: str | None = None  # the assistant's recommend engine (None: from config)
    demos: Any = None  # recagents.assistant.plan_mode.demos.DemoBank; None → loaded on first use
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _llms: dict[str | None, Any] = field(default_factory=dict, repr=False)
    _assistants: dict[tuple, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        provider: str | None = None,
        model: str | None = None,
        mode: str | None = None,
        engine: str | None = None,
    ) -> AppResources:
        """Open the built stores (read-only); the LLM and the assistant start on first use."""
        services = ServiceContext.from_settings(settings)
        resources = cls(
            settings, services, provider=provider, model=model, mode=mode, engine=engine
        )
        resources._stack.callback(services.close)
        return resources

    def close(self) -> None:
        """Stop the LLM servers this object started, close the checkpointer and the stores."""
        with self._lock:
            self._assistants.clear()
            self._llms.clear()
            self._stack.close()

    # --- the LLM ----------------------------------------------------------------------------
    def get_llm(self, model: str | None = None) -> Any:
        """The LLM handle for ``model`` (None: the configured one), started once and shared.

        Raises ``BackendUnavailableError`` (with the reason) when the backend cannot start.
        """
        with self._lock:
            if model is None and self.llm is not None:
                return self.llm
            if model is not None and self.llm is not None and self.llm.model == model:
                return self.llm
            handle = self._llms.get(model)
            if handle is None:
                from recagents.llm import make_chat_model

                handle = make_chat_model(
                    self.settings, provider=self.provider, model=model or self.model
                )
                self._stack.callback(handle.close)
                self._llms[model] = handle
                if model is None:
                    self.llm = handle
            return handle

    def llm_status(self) -> dict:
        """The LLM backend without starting it: configured, or started and healthy."""
        from recagents.llm.factory import configured_model_name, resolve_provider

        if self.llm is None:
            backend = resolve_provider(self.settings, self.provider)
            return {
                "backend": backend,
                "model": configured_model_name(self.settings, backend, self.model),
                "status": "not started (starts on the first LLM request)",
            }
        info = self.llm.describe()
        server = self.llm.server
        info["status"] = "ok" if server is None or server.healthy() else "down"
        return info

    # --- the assistant ----------------------------------------------------------------------
    def get_checkpointer(self) -> Any:
        with self._lock:
            if self.checkpointer is None:
                from recagents.stores.checkpoints import open_checkpointer

                self.checkpointer = self._stack.enter_context(
                    open_checkpointer(self.settings.sqlalchemy_url)
                )
            return self.checkpointer

    def get_demos(self) -> Any:
        with self._lock:
            if self.demos is None:
                from recagents.assistant.plan_mode.demos import DemoBank
                from recagents.stores.embeddings import Embedder

                self.demos = DemoBank.load(Embedder(threads=self.settings.torch_threads))
            return self.demos

    def assistant(
        self,
        *,
        mode: str | None = None,
        model: str | None = None,
        engine: str | None = None,
        k: int | None = None,
        alpha: float | None = None,
    ) -> Any:
        """The assistant for (mode, model, engine, default k, graph-text alpha), built once; all
        share one checkpointer, so a thread continues whichever of them answers next."""
        from recagents.assistant import Assistant
        from recagents.assistant.config import AssistantConfig

        mode, engine = mode or self.mode, engine or self.engine
        key = (mode, model, engine, k, alpha)
        with self._lock:
            built = self._assistants.get(key)
            if built is None:
                built = Assistant(
                    self.services,
                    self.get_llm(model),
                    checkpointer=self.get_checkpointer(),
                    config=AssistantConfig.load(
                        self.settings, recommend_engine=engine, default_k=k, recommend_alpha=alpha
                    ),
                    mode=mode,  # type: ignore[arg-type]
                    demos=self.get_demos(),
                )
                self._assistants[key] = built
            return built
