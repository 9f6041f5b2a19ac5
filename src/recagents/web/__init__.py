"""The host process: one ASGI app serving the REST API (``api``) and the Chainlit chat (``chat``); ``host`` wires them, neither imports it."""
