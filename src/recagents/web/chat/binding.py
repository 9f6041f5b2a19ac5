"""How the chat reaches the host's resources: the host binds them when it starts (``bind``),
the Chainlit callbacks read them (``bound``).

Chainlit loads the callbacks itself (``entry.py``, by file path), outside FastAPI's dependency
injection, and its app is one per process: so the one set of resources of the process is handed
over here, by whoever opened it (the host's lifespan, or the callbacks' own startup hook under
``chainlit run``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recagents.errors import BackendUnavailableError

if TYPE_CHECKING:
    from recagents.resources import AppResources

_bound: list[AppResources] = []  # zero or one


def bind(resources: AppResources) -> None:
    _bound[:] = [resources]


def unbind(resources: AppResources | None = None) -> None:
    """Forget the bound resources (only ``resources`` when given: another may be bound)."""
    if resources is None or (_bound and _bound[0] is resources):
        _bound.clear()


def is_bound() -> bool:
    return bool(_bound)


def bound() -> AppResources:
    """The resources the running host bound."""
    if not _bound:
        raise BackendUnavailableError(
            "the chat has no resources: start it with `recagents serve` (or `python "
            "app_main.py`), not the module on its own"
        )
    return _bound[0]
