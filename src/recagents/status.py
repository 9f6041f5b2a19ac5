"""What is actually built: counts read back from the stores and the saved BPR metrics."""

from __future__ import annotations

from recagents.errors import NotBuiltError, RecagentsError
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


VECTORS_HELD = "held by a running process"


def _vectors(settings: Settings) -> int | str:
    """The number of vectors, or ``VECTORS_HELD`` when another process (the running app) holds
    the local Qdrant folder and the collection is listed there (so it is built)."""
    from recagents.stores.qdrant_clients import FolderHeldError, local_collections
    from recagents.stores.vectors import NOT_BUILT, VectorStore

    try:
        store = VectorStore.open(settings, read_only=True)
    except FolderHeldError as exc:
        if settings.qdrant_collection in local_collections(settings.qdrant_path):
            return VECTORS_HELD
        raise NotBuiltError(
            f"collection {settings.qdrant_collection!r} is not listed in {settings.qdrant_path} "
            f"({exc}): {NOT_BUILT}"
        ) from exc
    try:
        return store.count()
    finally:
        store.close()


def _recommender(settings: Settings) -> dict | None:
    from recagents.recommender.train import read_metrics

    metrics = read_metrics(settings)
    if metrics is None:
        return None
    keys = ("model", "test", "valid", "best_epoch", "train_seconds", "popularity_test")
    return {k: metrics.get(k) for k in keys}


def _split(settings: Settings) -> dict[str, int]:
    """RecBole's train/valid/test sizes, read back from the saved split (the holdout views)."""
    from recagents.recommender.split import Split
    from recagents.recommender.train import split_path

    return Split.load(split_path(settings)).counts()


def collect_status(settings: Settings) -> dict:
    """Status as one JSON-ready dict; a part that is missing or unreachable reports ``None`` and
    its reason under ``errors`` instead of failing the whole status. Vectors in a local Qdrant
    folder that another process holds (one process per folder) report ``"held by a running
    process"``: built, not counted, and not an error."""
    status: dict = {
        "items": None,
        "users": None,
        "ratings": None,
        "vectors": None,
        "recommender": None,
        "split": None,
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
        status["recommender"] = _recommender(settings)
        if status["recommender"] is None:
            status["errors"]["recommender"] = (
                f"no trained {settings.recommender}: run `recagents setup` "
                f"(or `recagents train --model {settings.recommender}`)"
            )
    except RecagentsError as exc:
        status["errors"]["recommender"] = str(exc)
    if status["recommender"] is not None:  # no engine: the same missing step, said once
        try:
            status["split"] = _split(settings)
        except RecagentsError as exc:
            status["errors"]["split"] = str(exc)
    status["ready"] = not status["errors"]
    return status
