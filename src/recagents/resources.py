"""The composition root: the one place that decides how the process's parts are opened.

``AppResources.open(settings)`` opens the built stores (read-only) and, on first use, the LLM
handle (a REST call with ``llm=false`` or a catalogue page never waits for the local server to
load), the checkpointer, the demonstrations bank and the assistants built on them, and closes
what it opened. The CLI (``ask``, ``recommend``, ``eval``), the host (API + chat), the
evaluation and LangGraph Studio (``langgraph.json``) all take their parts from here;
``open_services`` is the one way to open the stores under a history view. Tests build one from
their fixtures with the constructor: ``AppResources(settings, services, llm=...)``. The host
hands them to the API (``app.state``) and to the chat (``web.chat.binding``).
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recagents.services.context import ServiceContext, ServiceOptions, open_ahead
from recagents.settings import Settings
from recagents.vocabulary import Holdout, Mode, RecommendVia, recommend_via_of

if TYPE_CHECKING:  # the parts load on first use: importing this module starts nothing
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

    from recagents.agents.config import AgentsConfig
    from recagents.agents.state import ARAGContext
    from recagents.assistant.plan_mode.demos import DemoBank
    from recagents.assistant.run import Assistant
    from recagents.llm.factory import LLMHandle


def open_services(
    settings: Settings,
    *,
    holdout: Holdout | None = None,
    options: ServiceOptions | None = None,
) -> ServiceContext:
    """The built stores, read-only, under the ``holdout`` view (None: the settings'); the
    recommender, vectors, Swing and the graph-text collection open on first use."""
    from recagents.stores.metadata import MetadataStore

    return ServiceContext(
        settings=settings,
        store=MetadataStore.open(settings),
        options=options or ServiceOptions(),
        holdout=holdout or settings.holdout,
    )


def load_demos(settings: Settings) -> DemoBank:
    """The planner's demonstrations bank, embedded with the configured embedding model."""
    from recagents.assistant.plan_mode.demos import DemoBank
    from recagents.stores.embeddings import Embedder

    return DemoBank.load(Embedder(threads=settings.torch_threads))


@dataclass
class AppResources:
    """Shared by every request and chat of the process (thread-safe where it builds lazily)."""

    settings: Settings
    services: ServiceContext
    llm: LLMHandle | None = None  # None → built on first use by ``get_llm``
    checkpointer: BaseCheckpointSaver | None = None  # None → opened on first use
    provider: str | None = None  # an LLM provider (``vocabulary.LLMProvider``); None: settings
    model: str | None = None
    mode: Mode | None = None  # the assistant's default mode (None: from config / the model)
    recommend_via: RecommendVia | None = None  # the assistant's default path (None: config)
    demos: DemoBank | None = None  # None → loaded on first use
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _llms: dict[str | None, LLMHandle] = field(default_factory=dict, repr=False)
    _assistants: dict[tuple, Assistant] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        provider: str | None = None,
        model: str | None = None,
        mode: Mode | None = None,
        recommend_via: str | None = None,
        holdout: Holdout | None = None,
        options: ServiceOptions | None = None,
        checkpointer: BaseCheckpointSaver | None = None,
        demos: DemoBank | None = None,
    ) -> AppResources:
        """Open the built stores (read-only) under ``holdout``; the LLM, the checkpointer (a
        given one is used as it is, not closed) and the assistants start on first use.
        ``recommend_via`` also takes the former names (arag, bpr)."""
        services = open_services(settings, holdout=holdout, options=options)
        resources = cls(
            settings,
            services,
            provider=provider,
            model=model,
            mode=mode,
            recommend_via=recommend_via_of(recommend_via),
            checkpointer=checkpointer,
            demos=demos,
        )
        resources._stack.callback(services.close)
        return resources

    def __enter__(self) -> AppResources:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the LLM servers this object started, close the checkpointer and the stores."""
        with self._lock:
            self._assistants.clear()
            self._llms.clear()
            self._stack.close()

    # --- the LLM ----------------------------------------------------------------------------
    def get_llm(self, model: str | None = None) -> LLMHandle:
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

    def warm(self, *, llm: bool = True) -> dict[str, float]:
        """Start what a first chat turn or recommendation would otherwise wait for: the LLM
        (its local server loads the model) and its prompt cache, the planner's demonstrations,
        the checkpointer and the stores' lazily opened parts (``llm=False``: all but the LLM);
        seconds per part (``services.context.open_ahead``: best effort)."""
        parts = {"llm": self.get_llm, "prompt cache": self.prime_prompt_cache} if llm else {}
        parts |= {"demonstrations": self.warm_demos, "checkpointer": self.get_checkpointer}
        return {**open_ahead(parts), **self.services.warm()}

    # --- the assistant ----------------------------------------------------------------------
    def get_checkpointer(self) -> BaseCheckpointSaver:
        """The conversations' checkpointer in the configured database (opened once)."""
        with self._lock:
            if self.checkpointer is None:
                from recagents.stores.checkpoints import open_checkpointer

                self.checkpointer = self._stack.enter_context(
                    open_checkpointer(self.settings.sqlalchemy_url)
                )
            return self.checkpointer

    def prime_prompt_cache(self) -> int:
        """The embedded server reads the fixed system messages of the assistant's intent prompt
        and of the agents' prompts once now (``llm.priming``); prompt tokens sent."""
        from recagents.agents.prompting import messages
        from recagents.assistant.config import AssistantConfig
        from recagents.assistant.plan_mode.intent import intent_messages
        from recagents.llm.priming import prime_prompt_cache

        config = AssistantConfig.load(self.settings)
        fixed = self.warm_demos().forms.demos if config.form_examples == "all" else None
        prefixes = [
            intent_messages("hello", "", [], fixed),
            messages({"user_block": "<user_context>"}, "", candidates=False),  # type: ignore[typeddict-item]
        ]
        return prime_prompt_cache(self.get_llm(), prefixes)

    def warm_demos(self) -> DemoBank:
        """The demonstrations with both banks' question vectors computed (the first message
        would otherwise embed the whole form bank: ~9 s on 2 cores with the model load)."""
        demos = self.get_demos()
        demos.warm()
        return demos

    def get_demos(self) -> DemoBank:
        with self._lock:
            if self.demos is None:
                self.demos = load_demos(self.settings)
            return self.demos

    def assistant(
        self,
        *,
        mode: Mode | None = None,
        model: str | None = None,
        recommend_via: str | None = None,
        k: int | None = None,
        alpha: float | None = None,
    ) -> Assistant:
        """The assistant for (mode, model, recommendation path, default k, graph-text alpha),
        built once; all share one checkpointer, so a thread continues whichever of them answers
        next. ``recommend_via`` also takes the former names (arag, bpr)."""
        from recagents.assistant import Assistant
        from recagents.assistant.config import AssistantConfig

        mode = mode or self.mode
        via = recommend_via_of(recommend_via) or self.recommend_via
        key = (mode, model, via, k, alpha)
        with self._lock:
            built = self._assistants.get(key)
            if built is None:
                built = Assistant(
                    self.services,
                    self.get_llm(model),
                    checkpointer=self.get_checkpointer(),
                    config=AssistantConfig.load(
                        self.settings, recommend_via=via, default_k=k, recommend_alpha=alpha
                    ),
                    mode=mode,
                    demos=self.get_demos(),
                )
                self._assistants[key] = built
            return built

    # --- the ARAG agents --------------------------------------------------------------------
    def arag_context(self, *, llm: bool = True, config: AgentsConfig | None = None) -> ARAGContext:
        """What an ARAG run reads: the services, the configured LLM (``llm=False``: retrieval
        only, nothing started) and ``agents.yaml`` (or ``config``)."""
        from recagents.agents.config import AgentsConfig
        from recagents.agents.state import ARAGContext

        return ARAGContext(
            self.services,
            self.get_llm() if llm else None,
            config or AgentsConfig.load(self.settings),
        )


# --- LangGraph Studio (langgraph.json) ----------------------------------------------------------
_STUDIO: list[AppResources] = []


def _studio_resources() -> AppResources:
    """The resources LangGraph Studio's runs share, opened from the settings on the first run."""
    if not _STUDIO:
        from recagents.settings import get_settings

        _STUDIO.append(AppResources.open(get_settings()))
    return _STUDIO[0]


def _with_context(graph: CompiledStateGraph, context: object) -> CompiledStateGraph:
    """``graph`` with ``context`` as the run context of every run that brings none."""
    from langgraph._internal._constants import CONFIG_KEY_RUNTIME
    from langgraph.runtime import Runtime

    return graph.with_config({"configurable": {CONFIG_KEY_RUNTIME: Runtime(context=context)}})


def studio_arag_graph(config: Any = None) -> CompiledStateGraph:
    """Studio's ARAG graph (a graph factory): each run gets the context opened here."""
    from recagents.agents.graph import graph

    return _with_context(graph, _studio_resources().arag_context())


def studio_assistant_graph(config: Any = None) -> CompiledStateGraph:
    """Studio's assistant graph (a graph factory): each run gets the default assistant's
    context (the configured LLM, mode and recommendation path)."""
    from recagents.assistant.graph import graph

    return _with_context(graph, _studio_resources().assistant().context)
