"""Metadata store: items, genres, people with roles, users and ratings (SQLAlchemy 2)."""

from recagents.stores.metadata.database import check_connection, make_engine
from recagents.stores.metadata.loader import LoadReport, load_metadata, read_build_info
from recagents.stores.metadata.store import MetadataStore

__all__ = [
    "LoadReport",
    "MetadataStore",
    "check_connection",
    "load_metadata",
    "make_engine",
    "read_build_info",
]
