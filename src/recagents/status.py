"""What is actually built: counts read back from the stores and the saved BPR metrics."""

from __future__ import annotations

from recagents.errors import RecagentsError
from recagents.settings import Settings


def _metadata(settings: Settings) -> dict:
    from recagents.stores.metadata import MetadataStore

    store = MetadataStore.open(settings)
    try:
        counts = store.counts()
        counts["enrichment"] = store.build_info.get("enrichment")
        return counts
    finally:
        store.close()


def _vectors(settings: Settings) -> int:
    from recagents.stores.vectors import VectorStore

    store = VectorStore.open(settings, read_only=True)
    try:
        return store.count()
    finally:
        store.close()


def _bpr(settings: Settings) -> dict | None:
    from recagents.recommender.train import read_metrics

    metrics = read_metrics(settings)
    if metrics is None:
        return None
    keys = ("test", "valid", "best_epoch", "train_seconds", "popularity_test")
    return {k: metrics.get(k) for k in keys}


def collect_status(settings: Settings) -> dict:
    """Status as one JSON-ready dict; a part that is missing or unreachable reports ``None`` and
    its reason under ``errors`` instead of failing the whole status."""
    status: dict = {
        "items": None,
        "users": None,
        "ratings": None,
        "vectors": None,
        "bpr": None,
        "enrichment": None,
        "database": settings.display_database_url,
        "qdrant": settings.qdrant_url or str(settings.qdrant_path),
        "data_dir": str(settings.data_dir),
        "errors": {},
    }
    try:
        meta = _metadata(settings)
        status.update({k: meta[k] for k in ("items", "users", "ratings")})
        status["enrichment"] = meta["enrichment"]
        status["people"] = meta["people"]
    except RecagentsError as exc:
        status["errors"]["metadata"] = str(exc)
    try:
        status["vectors"] = _vectors(settings)
    except RecagentsError as exc:
        status["errors"]["vectors"] = str(exc)
    try:
        status["bpr"] = _bpr(settings)
        if status["bpr"] is None:
            status["errors"]["bpr"] = "no trained BPR: run `recagents setup` (or `recagents train`)"
    except RecagentsError as exc:
        status["errors"]["bpr"] = str(exc)
    status["ready"] = not status["errors"]
    return status
