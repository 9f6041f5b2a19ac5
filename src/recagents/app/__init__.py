"""The host process: one FastAPI app that serves the REST API and the Chainlit chat.

``AppResources`` (``resources.py``) is what the process opens once and every route and chat
handler shares: the services (metadata store, recommender, embedded Qdrant), one LLM handle
(one local llama.cpp server), the conversation checkpointer and the assistants built on them.
``create_app`` (``host.py``) builds the app; its lifespan opens and closes the resources.
"""

from recagents.app.resources import AppResources, current_resources

__all__ = ["AppResources", "current_resources"]
