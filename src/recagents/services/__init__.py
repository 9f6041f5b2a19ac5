"""Typed operations over the stores and the recommender: what the tools, the agents and the API
call. Results are pydantic models, bad input raises the domain errors of ``recagents.errors``,
and the holdout view of the ``ServiceContext`` hides evaluation ratings from every operation.
"""

from recagents.services.context import ServiceContext, ServiceOptions

__all__ = ["ServiceContext", "ServiceOptions"]
