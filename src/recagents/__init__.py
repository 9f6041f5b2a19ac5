"""recagents: an agentic movie recommender on MovieLens-100k."""

__version__ = "0.1.0"
