"""What a plot index run writes: the wanted points, and the plan against what is stored.

Pure bookkeeping for ``VectorStore.index_catalog`` (no Qdrant calls here): each item's payload
carries ``text_sha256`` + ``embedding_model`` (what its dense vector was embedded from) and
``keyword_sha256`` (what its keyword vector was made from), so a run embeds only changed texts,
rewrites a keyword vector only when its input changed, and updates other payload fields alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from numbers import Integral
from typing import Any

from recagents.data.documents import item_document
from recagents.errors import DataError
from recagents.stores.embeddings import MODEL_NAME
from recagents.stores.keywords import keyword_document, keyword_fingerprint


@dataclass
class IndexReport:
    total: int = 0
    embedded: int = 0
    reused: int = 0
    upserted: int = 0
    payload_updated: int = 0
    keyword_updated: int = 0  # points rewritten for their keyword vector only
    deleted: int = 0
    recreated: bool = False
    upgraded: bool = False  # an older schema was rebuilt, its stored embeddings reused
    embed_seconds: float = 0.0
    write_seconds: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def document_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Wanted:
    payload: dict[str, Any]
    document: str  # what the dense vector embeds
    keywords: str  # what the keyword vector weighs


def _payload(item: Mapping, text_sha256: str) -> dict[str, Any]:
    year = item.get("year")
    return {
        "item_id": int(item["item_id"]),
        "title": str(item["title"]),
        "year": None if year is None else int(year),
        "genres": list(item.get("genres") or []),
        "text_sha256": text_sha256,
        "embedding_model": MODEL_NAME,
    }


def wanted_points(items: Sequence[Mapping]) -> dict[int, Wanted]:
    """item id → its payload and documents."""
    wanted: dict[int, Wanted] = {}
    for item in items:
        item_id = item.get("item_id")
        if isinstance(item_id, bool) or not isinstance(item_id, Integral) or item_id < 1:
            raise DataError(f"catalog row without a positive integer item_id: {item_id!r}")
        if item_id in wanted:
            raise DataError(f"item_id {item_id} appears twice in the catalog")
        document = item_document(item)
        keywords = keyword_document(item)
        payload = _payload(item, document_sha256(document))
        payload["keyword_sha256"] = keyword_fingerprint(keywords)
        wanted[int(item_id)] = Wanted(payload, document, keywords)
    return wanted


def needs_embedding(old: Mapping | None, new: Mapping) -> bool:
    return (
        old is None
        or old.get("text_sha256") != new["text_sha256"]
        or old.get("embedding_model") != new["embedding_model"]
    )


@dataclass
class Plan:
    """What to write: ``dense`` holds the vectors that are reused rather than embedded."""

    recreate: bool
    upgraded: bool = False
    embed: list[int] = field(default_factory=list)
    dense: dict[int, list[float]] = field(default_factory=dict)
    rekey: list[int] = field(default_factory=list)  # same dense vector (read back), new keywords
    update: list[int] = field(default_factory=list)  # payload only
    stale: list[int] = field(default_factory=list)


def plan_update(existing: Mapping[int, Mapping], wanted: Mapping[int, Wanted]) -> Plan:
    """Against a collection of today's schema, given its payloads."""
    embed = [i for i, w in wanted.items() if needs_embedding(existing.get(i), w.payload)]
    done = set(embed)
    rekey = [
        i
        for i, w in wanted.items()
        if i not in done and existing[i].get("keyword_sha256") != w.payload["keyword_sha256"]
    ]
    done.update(rekey)
    update = [i for i, w in wanted.items() if i not in done and existing[i] != w.payload]
    stale = sorted(set(existing) - set(wanted))
    return Plan(False, embed=embed, rekey=rekey, update=update, stale=stale)


def plan_rebuild(
    stored: Mapping[int, tuple[Mapping, list[float]]], wanted: Mapping[int, Wanted]
) -> Plan:
    """A new collection; ``stored``: (payload, dense vector) of the points of the one it
    replaces (empty on ``force`` or when there was none), reused where still current."""
    dense = {
        i: vector
        for i, (payload, vector) in stored.items()
        if i in wanted and not needs_embedding(payload, wanted[i].payload)
    }
    embed = [i for i in wanted if i not in dense]
    return Plan(True, upgraded=bool(stored), embed=embed, dense=dense)
