"""The Chainlit entry module of recagents' chat.

    python app_main.py                  # the host process: chat at /chat, REST API beside it
    chainlit run chainlit_example.py    # Chainlit on its own (as in the peer project's README)

Everything lives in ``recagents.web.chat``: the callbacks (``handlers``), how a turn is shown
(``turn_view``, ``render``), the login (``auth``) and the conversation store (``data_layer``).
"""

from recagents.web.chat import handlers  # noqa: F401 - importing registers the Chainlit callbacks
