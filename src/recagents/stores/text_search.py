"""How a plot search is asked of Qdrant: the collection's schema, the modes, filters and fusion.

The plot collection holds two named vectors per point (one point per item):

- ``dense``: the all-MiniLM-L6-v2 embedding of the plot document (cosine);
- ``keyword``: the document's BM25 term weights, a sparse vector with ``Modifier.IDF``
  (``stores/keywords.py``).

A search runs in one of three modes:

- ``dense``: nearest plots by meaning (score: cosine similarity);
- ``keyword``: BM25 over title, genres, plot and credited names (score: BM25); an item holding
  none of the query's terms is not returned;
- ``hybrid``: both lists, each the top ``max(k, HYBRID_PREFETCH)`` under the same filters, fused
  by reciprocal rank fusion in one Qdrant Query API call: score = sum of 1 / (RRF_K + rank) over
  the lists the item is in (Qdrant counts the rank from 0). ``RRF_K`` = 60 is the constant of
  Cormack et al. (2009); Qdrant's own default, 2, lets the first places of one list dominate.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Any

from recagents.errors import InvalidArgumentError, NotBuiltError
from recagents.stores.embeddings import EMBEDDING_DIM
from recagents.vocabulary import DEFAULT_SEARCH_MODE, SEARCH_MODES, SearchMode

if TYPE_CHECKING:  # qdrant-client takes ~1 s to import: the request models need only the modes
    from qdrant_client import models as qm

DEFAULT_MODE = DEFAULT_SEARCH_MODE
DENSE = "dense"  # the named vectors
KEYWORD = "keyword"
RRF_K = 60
HYBRID_PREFETCH = 100


def check_mode(mode: object) -> SearchMode:
    if mode not in SEARCH_MODES:
        raise InvalidArgumentError(
            f"unknown search mode {mode!r}: choose one of {', '.join(SEARCH_MODES)}"
        )
    return mode  # type: ignore[return-value]


# --- the schema ----------------------------------------------------------------------------
def create_plot_collection(client, name: str) -> None:
    from qdrant_client import models as qm

    client.create_collection(
        name,
        vectors_config={DENSE: qm.VectorParams(size=EMBEDDING_DIM, distance=qm.Distance.COSINE)},
        sparse_vectors_config={KEYWORD: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
    )


def schema_is_current(params: qm.CollectionParams) -> bool:
    """Whether a collection has today's named dense + IDF sparse vectors."""
    from qdrant_client import models as qm

    vectors, sparse = params.vectors, params.sparse_vectors or {}
    dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
    keyword = sparse.get(KEYWORD)
    return (
        dense is not None
        and dense.size == EMBEDDING_DIM
        and dense.distance == qm.Distance.COSINE
        and keyword is not None
        and keyword.modifier == qm.Modifier.IDF
    )


def stored_dense(vector: Any) -> list[float] | None:
    """The dense vector of a stored point, in the old (one unnamed vector) or today's schema."""
    if isinstance(vector, dict):
        vector = vector.get(DENSE)
    if isinstance(vector, list) and len(vector) == EMBEDDING_DIM:
        return vector
    return None


# --- filters -------------------------------------------------------------------------------
def check_k(k: object, max_k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or not 1 <= int(k) <= max_k:
        raise InvalidArgumentError(f"k must be an integer from 1 to {max_k}, got {k!r}")
    return int(k)


def check_ids(ids: Collection[int], what: str = "candidate") -> list[int]:
    out: list[int] = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise InvalidArgumentError(f"{what} item ids are positive integers, got {value!r}")
        out.append(int(value))
    return sorted(set(out))


def year_condition(year_range: Sequence) -> qm.FieldCondition | None:
    from qdrant_client import models as qm

    if len(year_range) != 2:
        raise InvalidArgumentError(f"year_range is (from, to), got {year_range!r}")
    low, high = year_range
    for bound in (low, high):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, Integral)):
            raise InvalidArgumentError(f"year_range bounds are years or None, got {bound!r}")
    if low is not None and high is not None and low > high:
        raise InvalidArgumentError(f"year_range from {low} is after to {high}")
    if low is None and high is None:
        return None
    return qm.FieldCondition(key="year", range=qm.Range(gte=low, lte=high))


# --- the query -----------------------------------------------------------------------------
def query_arguments(
    mode: SearchMode,
    dense: list[float] | None,
    keyword: qm.SparseVector | None,
    k: int,
    query_filter: qm.Filter | None,
) -> dict[str, Any]:
    """The ``query_points`` arguments of one search (the filter also holds for each side)."""
    from qdrant_client import models as qm

    if mode == "dense":
        return {"query": dense, "using": DENSE, "query_filter": query_filter}
    if mode == "keyword":
        return {"query": keyword, "using": KEYWORD, "query_filter": query_filter}
    depth = max(k, HYBRID_PREFETCH)
    prefetch = [qm.Prefetch(query=dense, using=DENSE, limit=depth)]
    if keyword is not None and keyword.indices:  # a query of stop words only: the dense list
        prefetch.append(qm.Prefetch(query=keyword, using=KEYWORD, limit=depth))
    return {
        "prefetch": prefetch,
        "query": qm.RrfQuery(rrf=qm.Rrf(k=RRF_K)),
        "query_filter": query_filter,
    }


def before_upgrade(mode: str, arguments: dict[str, Any], collection: str) -> dict[str, Any]:
    """The arguments for a collection of the older schema (one unnamed dense vector) until
    setup rebuilds it: dense search works as before, the keyword side needs the rebuild."""
    if mode != "dense":
        raise NotBuiltError(
            f"the plot collection {collection!r} predates keyword search (mode {mode!r}): run "
            "`recagents setup` to upgrade it (its stored embeddings are reused)"
        )
    return {**arguments, "using": None}
