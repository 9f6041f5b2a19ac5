"""The chat on its own: `chainlit run chainlit_example.py` (as in the peer project's README).

`recagents serve` (or `python app_main.py`) serves the same chat at /chat beside the REST API.
The chat lives in the package, ``recagents.web.chat``; importing it registers the callbacks.
"""

from recagents.web.chat import handlers  # noqa: F401
