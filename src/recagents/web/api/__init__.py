"""The REST API (routers → services → repositories); ``build_api_router()`` is what the host
app includes.

Routes follow agentic_rec's (``/healthz``, ``/recommend``, ``/recommend/user``,
``/recommend/item``, ``/users/{id}``, ``/users/{id}/recommend``, ``/items/{id}``,
``/items/{id}/recommend``) plus ``/chat`` (one assistant turn). ``routers/`` parse and answer
HTTP, ``services`` maps between agentic_rec's shape and the ARAG agents / the catalogue, and the
repositories are the ``ServiceContext``'s stores. Domain errors become HTTP codes in
``errors.ApiRoute``; auth and the LLM runner live in ``deps``.
"""

from fastapi import APIRouter


def build_api_router() -> APIRouter:
    from recagents.web.api.routers import chat, health, items, recommend, users

    router = APIRouter()
    for module in (health, recommend, users, items, chat):
        router.include_router(module.router)
    return router
