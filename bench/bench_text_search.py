"""Plot and title search, dense vs keyword (BM25) vs hybrid (RRF), on the full catalogue.

    .venv/bin/python bench/bench_text_search.py [--enrichment FILE] [--qdrant-from DIR]
        [--threads N] [--latency-queries N]

Query sets (nothing is tuned on them; they are only measured):
- ``peer storyline``: every ``vector_store_search_tool`` query of the peer project's 50-query
  tool-use suite (../shared/data/recsys-agent-eval, duplicates once); relevant = the items the
  peer's own search returned (their model, paraphrase-MiniLM-L6-v2, so agreement, not truth).
- ``full title``: each catalogue title without its "(year)"; relevant = the items of that title.
- ``title word``: for each title, its rarest word among all titles (3+ letters, not a common
  English word) when only that title holds it; relevant = that item.

For each set and mode: hit@1, hit@10, MRR@10. Then search latency p50/p95 per mode (query
embedding included, one thread), unfiltered and with a genre filter (Drama). The store is a
copy of ``--qdrant-from`` (default: the product's Qdrant folder, so the stored embeddings are
reused, an older schema upgraded in the copy) or, without one, embedded afresh. Last stdout
line: one JSON object with every figure; the plot goes to bench/out/text_search.png.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from bench_vectors import percentiles

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment, resolve_enrichment
from recagents.errors import InvalidArgumentError
from recagents.settings import PROJECT_ROOT, Settings
from recagents.stores.text_search import SEARCH_MODES
from recagents.stores.vectors import VectorStore

SHARED = PROJECT_ROOT.parent / "shared" / "data"
SHARED_ENRICHMENT = SHARED / "ml-100k" / "final_ml-100k.csv"
PEER_SUITE = SHARED / "recsys-agent-eval"
K = 10
# words too common to call a title's distinctive word
_COMMON = (
    "the and of in on a an to for with from at by is it his her my your our their who what when "
    "how why all man men woman day night life love story part"
)
COMMON = set(_COMMON.split())
_YEAR = re.compile(r"\s*\(\d{4}\)\s*$")
_WORD = re.compile(r"[A-Za-z][A-Za-z']+")


def peer_queries() -> list[tuple[str, set[int]]]:
    seen, out = set(), []
    for level in ("easy", "medium", "hard"):
        path = PEER_SUITE / f"evaluation_{level}.json"
        for entry in json.loads(path.read_text(encoding="utf-8")).values():
            for call in entry["tool_calls"]:
                if call["tool_name"] != "vector_store_search_tool":
                    continue
                query = call["arguments"]["query"][:1000]
                if query not in seen:
                    seen.add(query)
                    out.append((query, {int(i) for i in call["result"]["data"]}))
    return out


def title_queries(catalog: list[dict]) -> tuple[list, list]:
    """(full-title queries, distinctive-word queries), each (query, relevant ids)."""
    by_title: dict[str, set[int]] = defaultdict(set)
    words_of: dict[int, list[str]] = {}
    for item in catalog:
        if item["title"] == "unknown":
            continue
        bare = _YEAR.sub("", item["title"]).strip()
        by_title[bare].add(item["item_id"])
        words_of[item["item_id"]] = [
            w for w in _WORD.findall(bare) if len(w) >= 3 and w.lower() not in COMMON
        ]
    full = [(title, ids) for title, ids in by_title.items()]
    frequency = Counter(w.lower() for words in words_of.values() for w in set(words))
    distinctive = []
    for item_id, words in words_of.items():
        unique = [w for w in words if frequency[w.lower()] == 1]
        if unique:
            distinctive.append((max(unique, key=len), {item_id}))
    return full, distinctive


def measure(store: VectorStore, queries: list, mode: str) -> dict[str, float]:
    hit1 = hit10 = rr = 0.0
    for query, relevant in queries:
        try:
            ids = [h.item_id for h in store.search(query, k=K, mode=mode)]
        except InvalidArgumentError:  # a keyword query of stop words only: a miss
            ids = []
        hit1 += bool(ids[:1]) and ids[0] in relevant
        ranks = [n for n, i in enumerate(ids, 1) if i in relevant]
        hit10 += bool(ranks)
        rr += 1 / ranks[0] if ranks else 0.0
    n = len(queries)
    return {"n": n, "hit@1": hit1 / n, "hit@10": hit10 / n, "mrr@10": rr / n}


class CachedEmbedder:
    """The store's embedder with every query embedded once, in batches (quality runs only)."""

    def __init__(self, embedder, texts: list[str]):
        self.inner = embedder
        vectors = embedder.embed(sorted(set(texts)), batch_size=64)
        self.cache = dict(zip(sorted(set(texts)), vectors, strict=True))

    def embed_query(self, text: str) -> np.ndarray:
        return self.cache[text] if text in self.cache else self.inner.embed_query(text)


def latency(store: VectorStore, queries: list[str], mode: str, genres) -> dict[str, float]:
    store.search(queries[0], k=K, mode=mode, genres=genres)  # warm
    seconds = []
    for query in queries:
        start = time.perf_counter()
        with contextlib.suppress(InvalidArgumentError):  # timed all the same
            store.search(query, k=K, mode=mode, genres=genres)
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def plot(figures: dict):
    from plots import grouped_bars, save, subplots

    fig, axes = subplots(3, figsize=(15, 4.2))
    sets = list(figures["quality"])
    for ax, metric in zip(axes[:2], ("hit@1", "hit@10"), strict=True):
        series = {m: [figures["quality"][s][m][metric] for s in sets] for m in SEARCH_MODES}
        grouped_bars(ax, sets, series, unit=metric)
        ax.set_title(f"{metric} per query set", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    lat = figures["latency"]
    labels = list(lat)
    grouped_bars(
        axes[2], labels, {"p50": [lat[n]["p50_ms"] for n in labels]}, unit="ms", horizontal=True
    )
    axes[2].set_title("search latency p50, k=10 (embedding included)", fontsize=9)
    return save(fig, "text_search")


def open_store(tmp: Path, source: Path | None, threads: int, catalog: list[dict]):
    settings = Settings(data_dir=tmp / "data", torch_threads=threads, _env_file=None)
    if source is not None and (source / "meta.json").is_file():
        shutil.copytree(source, settings.qdrant_path)
    store = VectorStore.open(settings)
    report = store.index_catalog(catalog, show_progress=True)
    return store, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--enrichment",
        type=Path,
        default=SHARED_ENRICHMENT if SHARED_ENRICHMENT.is_file() else None,
    )
    parser.add_argument("--qdrant-from", type=Path, default=Settings().qdrant_path)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--latency-queries", type=int, default=60)
    args = parser.parse_args()

    enrichment = args.enrichment or resolve_enrichment(Settings()).path
    catalog = build_catalog(parse_enrichment(enrichment) if enrichment else None)
    full, words = title_queries(catalog)
    sets = {"peer storyline": peer_queries(), "full title": full, "title word": words}
    figures: dict = {"items": len(catalog), "enrichment": str(enrichment), "k": K}
    with tempfile.TemporaryDirectory(prefix="bench-text-search-") as tmp:
        store, report = open_store(Path(tmp), args.qdrant_from, args.threads, catalog)
        figures["index"] = {
            k: round(v, 3) if isinstance(v, float) else v for k, v in report.as_dict().items()
        }
        real = store.embedder
        texts = [q for queries in sets.values() for q, _ in queries]
        store.embedder = CachedEmbedder(real, texts)  # type: ignore[assignment]
        figures["quality"] = {
            name: {mode: measure(store, queries, mode) for mode in SEARCH_MODES}
            for name, queries in sets.items()
        }
        store.embedder = real
        sample = [q for q, _ in sets["peer storyline"]] + [q for q, _ in words]
        sample = sample[: args.latency_queries]
        figures["latency"] = {
            f"{mode}{label}": latency(store, sample, mode, genres)
            for mode in SEARCH_MODES
            for label, genres in (("", None), (" +genre", ["Drama"]))
        }
        store.close()

    print(f"items {figures['items']}, index: {figures['index']}", file=sys.stderr)
    print(f"{'set':<16}{'mode':<9}{'n':>6}{'hit@1':>8}{'hit@10':>8}{'MRR@10':>8}")
    for name, by_mode in figures["quality"].items():
        for mode, m in by_mode.items():
            print(
                f"{name:<16}{mode:<9}{m['n']:>6}{m['hit@1']:>8.3f}{m['hit@10']:>8.3f}"
                f"{m['mrr@10']:>8.3f}"
            )
    for name, value in figures["latency"].items():
        print(f"latency {name:<16}p50 {value['p50_ms']:>7.2f} ms   p95 {value['p95_ms']:>7.2f} ms")
    print(f"plot: {plot(figures)}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
