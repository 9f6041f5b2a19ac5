"""The keyword side of plot search: BM25 term weights as Qdrant sparse vectors, made offline.

Qdrant's BM25 recipe (what fastembed's ``Qdrant/bm25`` produces) splits the score in two. Each
document's sparse vector holds the term-frequency part of BM25 for its terms; the collection's
sparse vector has ``Modifier.IDF``, so Qdrant multiplies in each term's inverse document frequency
at query time (a server and local mode alike); a query is its distinct terms, each weighing 1::

    score(q, d) = sum over t in q of  idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * norm(d))
    norm(d) = 1 - b + b * |d| / avgdl          idf(t) = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))

fastembed fetches its stop words and stemmer settings from the Hugging Face hub, which cannot be
reached here, so the same pipeline is made of parts that install from PyPI and download nothing:

- tokens: scikit-learn's text analyzer (Unicode word tokens, lower case, accents stripped), one
  character tokens kept ("Malcolm X", "Die Hard 2");
- stop words: Lucene's classic English set (33 words; scikit-learn's own list drops title words
  such as "fire", "bill" or "thin");
- stems: the Snowball English stemmer (PyStemmer), so "Stars" finds "star";
- term ids: scikit-learn's ``HashingVectorizer`` (MurmurHash3 into 2**24 buckets): no vocabulary
  to store or keep in step with the collection; a collision merges two terms' counts at worst;
- ``k1`` = 1.2 and ``b`` = 0.75 (the usual BM25 values, Lucene's and Qdrant's defaults); ``avgdl``
  is a constant, 120 terms (the mean of ML-100k's enriched keyword documents is 124): a point's
  vector then depends on its own document alone, so a catalogue change rewrites only the points
  it touches (fastembed fixes 256 for the same reason).

A keyword document is the plot document (title, genres, plot) plus the directors' and actors'
names, so a name finds the films it is credited on; the title is written twice, a fixed field
weight of 2 (BM25F-style, set before measuring, no sweep), so that a title word is not outweighed
by the same word in a long plot.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
from qdrant_client import models as qm

from recagents.data.documents import item_document

K1 = 1.2
B = 0.75
N_FEATURES = 2**24
AVGDL = 120
# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET
_STOP = "a an and are as at be but by for if in into is it no not of on or such that the their then"
STOP_WORDS = frozenset(
    _STOP.split() + ["there", "these", "they", "this", "to", "was", "will", "with"]
)
ENCODER = f"bm25 sklearn-words lucene-stop snowball-en hash2^24 k1={K1} b={B} avgdl={AVGDL}"


def keyword_document(item: Mapping) -> str:
    """The title once more, the plot document, the people credited (directors, actors)."""
    people = [str(p) for key in ("directors", "actors") for p in item.get(key) or []]
    return "\n".join([str(item["title"]), item_document(item), ", ".join(people)]).rstrip()


@cache
def _analyzer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(strip_accents="unicode", token_pattern=r"(?u)\b\w+\b").build_analyzer()


_stemmer_lock = threading.Lock()


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """The BM25 terms of a text, in order (stop words dropped, stemmed)."""
    words = [w for w in _analyzer()(text) if w not in STOP_WORDS]
    with _stemmer_lock:  # a PyStemmer object is not safe to share between threads
        return _stemmer().stemWords(words)


@cache
def _hasher():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer=terms, n_features=N_FEATURES, alternate_sign=False, norm=None, dtype=np.float32
    )


def keyword_fingerprint(document: str) -> str:
    """What a point's keyword vector is made from: the encoder and the document."""
    return hashlib.sha256(f"{ENCODER}\n{document}".encode()).hexdigest()


def encode_documents(documents: Sequence[str]) -> list[qm.SparseVector]:
    """The BM25 term-frequency weights of each document (Qdrant multiplies in the IDF)."""
    if not documents:
        return []
    counts = _hasher().transform(documents).tocsr()
    counts.sort_indices()
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    norm = K1 * (1 - B + B * lengths / AVGDL)
    out = []
    for row in range(counts.shape[0]):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        tf = counts.data[start:end]
        weights = tf * (K1 + 1) / (tf + norm[row])
        out.append(
            qm.SparseVector(indices=counts.indices[start:end].tolist(), values=weights.tolist())
        )
    return out


def encode_query(text: str) -> qm.SparseVector:
    """The query's distinct terms, weight 1 each (empty when it has none)."""
    row = _hasher().transform([text]).tocsr()
    indices = sorted(int(i) for i in row.indices)
    return qm.SparseVector(indices=indices, values=[1.0] * len(indices))
