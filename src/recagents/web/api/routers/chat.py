"""``POST /chat``: one assistant turn, answered with what `recagents ask --json` prints.

The path is shared with the chat UI (mounted at ``/chat/``): this route answers POST only, and
``GET /chat`` redirects to the UI as the mount's own slash redirect would.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Security
from fastapi.responses import RedirectResponse

from recagents.assistant.run import AskResult
from recagents.web.api.deps import Resources, TimeoutS, require_token, run_llm_work
from recagents.web.api.errors import ApiRoute, responses
from recagents.web.api.schemas import ChatBody

router = APIRouter(tags=["chat"], route_class=ApiRoute)


@router.post(
    "/chat",
    dependencies=[Security(require_token)],
    responses=responses(400, 401, 403, 413, 429, 500, 503, 504),
)
async def chat(
    request: Request, body: ChatBody, resources: Resources, timeout_s: TimeoutS = None
) -> AskResult:
    """One turn of the assistant (recommendations, catalogue, users, audiences): `thread_id`
    continues a conversation (kept in the database), omitted starts one."""

    def work() -> AskResult:
        return resources.assistant().ask(body.message, thread_id=body.thread_id)

    return await run_llm_work(request, work, timeout_s)


@router.get("/chat", include_in_schema=False)
async def chat_ui() -> RedirectResponse:
    return RedirectResponse("/chat/")
