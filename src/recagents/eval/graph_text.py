"""``eval ranking --graph-text``: the graph-enhanced text embeddings (RecoFM) next to the engines.

1. **Choice on valid** (``holdout=valid``: graph and histories from train only, valid items the
   targets): L by full-catalogue NDCG@10 of the pure-history ranking (alpha = 0), then alpha by
   the cold-start protocol below with that L. Nothing of the test part is read.
2. **Full catalogue, test view** (rows in the main table, paired with ``bpr``): ``text_mean``
   (L = 0: the rating-weighted mean of the plain MiniLM vectors of the liked history) and
   ``graph_text`` (the chosen L). There is no request text in this protocol, so these rows are
   alpha = 0; alpha is measured in the cold-start protocol only.
3. **Cold start, test view**: users with at least ``given`` liked (>= 4) visible items and a test
   item; ``given`` of their liked items (seeded) are the whole ad-hoc history, their test items
   the targets. Rows: ``popularity``, ``bpr_foldin`` (the reference: BPR's fold-in of the same
   history), ``swing`` (item Swing neighbours of it), ``text_mean``, ``graph_text``,
   ``graph_text_blend`` (chosen alpha) and ``genre_query`` (alpha = 1). The query of the blend is
   made of the given history only: "<g1> <g2> movie", the two genres most frequent among the
   given items. ``graph_text_cold_graph``: the same as ``graph_text`` with the sampled users
   removed from the graph (the item side never saw them; BPR and Swing did see them, as every
   engine row here did).

Rankings are exact numpy searches over the same vectors the Qdrant collection holds (the
service's search returns the same order; ``tests/services/test_graph_text.py``).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from recagents.eval.bootstrap import mean_ci, paired_diff, resample_indices
from recagents.eval.engines import reference_bpr
from recagents.eval.metrics import METRICS
from recagents.eval.scoring import user_metrics
from recagents.recommender.graph_text import blend, liked_weights, propagate, rank, unit_rows
from recagents.recommender.split import Split
from recagents.recommender.train import split_path
from recagents.services.context import ServiceContext
from recagents.services.graph_text import build_graph_text

LAYERS_GRID = (0, 1, 2, 3, 4)
ALPHA_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
COLD_METRICS = ("ndcg@10", "recall@10", "hit@10")
CUT = 10


@dataclass
class GraphTextOptions:
    given: int = 5  # liked items given as the cold user's whole history
    cold_users: int | None = None  # users of the cold-start protocol (None: every eligible)
    seed: int = 2020
    resamples: int = 1000
    progress: bool = True


class ViewData:
    """The visible ratings of one view, the text vectors and the counts, for fast ranking."""

    def __init__(self, ctx: ServiceContext, ids: np.ndarray, text: np.ndarray) -> None:
        self.ctx, self.ids, self.text = ctx, ids, text
        self.users, self.items, ratings = ctx.visible_ratings()
        self.history: dict[int, dict[int, float]] = {}
        for u, i, r in zip(self.users.tolist(), self.items.tolist(), ratings.tolist(), strict=True):
            self.history.setdefault(int(u), {})[int(i)] = float(r)
        counts = Counter(self.items.tolist())
        self.by_count = sorted(ids.tolist(), key=lambda i: (-counts.get(i, 0), i))
        self._cache: dict[tuple, np.ndarray] = {}
        self.row = {int(i): n for n, i in enumerate(ids)}

    def embeddings(self, layers: int, drop_users: frozenset[int] = frozenset()) -> np.ndarray:
        key = (layers, drop_users)
        if key not in self._cache:
            keep = ~np.isin(self.users, list(drop_users)) if drop_users else slice(None)
            raw = propagate(self.text, self.ids, self.users[keep], self.items[keep], layers)
            self._cache[key] = unit_rows(raw)
        return self._cache[key]

    def user_vector(self, matrix: np.ndarray, history: dict[int, float], liked: float):
        weights = liked_weights(history, liked)
        rows = [(self.row[i], w) for i, w in weights.items() if i in self.row]
        if not rows:
            return None
        w = np.asarray([r[1] for r in rows], dtype=np.float32)
        return (w[:, None] * matrix[[r[0] for r in rows]]).sum(axis=0) / w.sum()

    def ranked(self, matrix, history, exclude, liked, query=None, alpha=0.0) -> list[int]:
        vector = blend(self.user_vector(matrix, history, liked), query, alpha)
        if vector is None:  # no liked item and no text: popularity, as the service does
            return [i for i in self.by_count[: CUT + len(exclude)] if i not in exclude][:CUT]
        return rank(matrix, self.ids, vector, CUT, exclude)


def _ndcg(rankings: dict[int, list[int]], targets: dict[int, set[int]]) -> float:
    return float(np.mean([METRICS["ndcg"](rankings[u], targets[u], CUT) for u in rankings]))


def _cold_users(data: ViewData, targets, liked: float, opts: GraphTextOptions) -> dict:
    """user → the ``given`` liked items handed over as its history (seeded)."""
    rng = random.Random(opts.seed)
    eligible = []
    for u in sorted(targets):
        good = sorted(i for i, r in data.history.get(u, {}).items() if r >= liked)
        if targets[u] and len(good) >= opts.given:
            eligible.append((u, good))
    if opts.cold_users is not None and opts.cold_users < len(eligible):
        eligible = sorted(rng.sample(eligible, opts.cold_users))
    return {
        u: {i: data.history[u][i] for i in rng.sample(good, opts.given)} for u, good in eligible
    }


class GenreQueries:
    """The cold user's request text, from the given items only: its two most frequent genres."""

    def __init__(self, ctx: ServiceContext, plot: dict[int, dict]) -> None:
        self.embedder = ctx.get_vectors().embedder
        self.genres = {i: p.get("genres") or [] for i, p in plot.items()}
        self._vectors: dict[str, np.ndarray] = {}

    def text(self, history: dict[int, float]) -> str:
        counts = Counter(g for i in history for g in self.genres.get(i, []))
        top = sorted(counts, key=lambda g: (-counts[g], g))[:2]
        return " ".join([*top, "movie"])

    def vector(self, history: dict[int, float]) -> np.ndarray:
        text = self.text(history)
        if text not in self._vectors:
            self._vectors[text] = self.embedder.embed_query(text)
        return self._vectors[text]


def choose_on_valid(valid_ctx: ServiceContext, ids, text, plot, opts: GraphTextOptions) -> dict:
    """L on the full catalogue (alpha = 0), then alpha on the cold-start protocol (valid)."""
    liked = valid_ctx.graph_text_config.liked_rating
    data = ViewData(valid_ctx, ids, text)
    targets = Split.load(split_path(valid_ctx.settings)).per_user("valid")
    users = sorted(u for u, t in targets.items() if t)
    by_layers = {}
    for layers in tqdm(LAYERS_GRID, desc="graph-text L (valid)", disable=not opts.progress):
        matrix = data.embeddings(layers)
        ranked = {
            u: data.ranked(matrix, data.history.get(u, {}), set(data.history.get(u, {})), liked)
            for u in users
        }
        by_layers[layers] = round(_ndcg(ranked, targets), 6)
    layers = max(by_layers, key=lambda n: (by_layers[n], -n))
    matrix, queries = data.embeddings(layers), GenreQueries(valid_ctx, plot)
    cold = _cold_users(data, targets, liked, opts)
    by_alpha = {}
    for alpha in ALPHA_GRID:
        ranked = {
            u: data.ranked(matrix, h, set(h), liked, queries.vector(h), alpha)
            for u, h in cold.items()
        }
        by_alpha[alpha] = round(_ndcg(ranked, targets), 6)
    alpha = max(by_alpha, key=lambda a: (by_alpha[a], -a))
    return {
        "view": "valid",
        "metric": "ndcg@10",
        "layers": {"grid": by_layers, "chosen": layers, "users": len(users)},
        "alpha": {"grid": by_alpha, "chosen": alpha, "users": len(cold), "layers": layers},
    }


def score_rows(
    rankings: dict[str, dict[int, list[int]]],
    targets: dict[int, set[int]],
    reference: str,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """Means with bootstrap CIs and paired differences against ``reference`` (same users)."""
    users = sorted(rankings[reference])
    idx = resample_indices(len(users), resamples, seed)
    per = {name: {u: user_metrics(r[u], targets[u]) for u in users} for name, r in rankings.items()}
    out = {}
    for name in rankings:
        entry: dict[str, Any] = {"users": len(users), "metrics": {}, "vs_reference": {}}
        for key in COLD_METRICS:
            values = [per[name][u][key] for u in users]
            entry["metrics"][key] = mean_ci(values, idx)
            if name != reference:
                base = [per[reference][u][key] for u in users]
                entry["vs_reference"][key] = paired_diff(values, base, idx)
        out[name] = entry
    return out


def run_graph_text(
    test_ctx: ServiceContext,
    valid_ctx: ServiceContext,
    run: Any,
    opts: GraphTextOptions,
) -> dict[str, Any]:
    """Adds ``text_mean`` / ``graph_text`` to ``run.rankings`` (full catalogue, test view);
    returns the choice on valid and the cold-start protocol's table."""
    started = time.perf_counter()
    ids, text, plot = test_ctx.get_graph_text().plot_vectors()
    choice = choose_on_valid(valid_ctx, ids, text, plot, opts)
    layers, alpha = choice["layers"]["chosen"], choice["alpha"]["chosen"]
    config = test_ctx.graph_text_config.model_copy(update={"layers": layers})
    built, detail = build_graph_text(test_ctx, config)  # the service's collection, this view
    liked = config.liked_rating
    data = ViewData(test_ctx, ids, text)
    plain, graph = data.embeddings(0), data.embeddings(layers)
    for name, matrix in (("text_mean", plain), ("graph_text", graph)):
        t = time.perf_counter()
        run.rankings[name] = {
            u: data.ranked(matrix, data.history.get(u, {}), set(data.history.get(u, {})), liked)
            for u in run.users
        }
        run.seconds[name] = (time.perf_counter() - t) / max(1, len(run.users))

    targets = Split.load(split_path(test_ctx.settings)).per_user("test")
    cold = _cold_users(data, targets, liked, opts)
    cold_graph = data.embeddings(layers, frozenset(cold))
    queries = GenreQueries(test_ctx, plot)
    bpr = reference_bpr(test_ctx.settings, test_ctx.get_recommender())
    swing = test_ctx.get_swing()
    rows: dict[str, dict[int, list[int]]] = {n: {} for n in COLD_ROWS}
    for u, history in tqdm(cold.items(), desc="cold start", disable=not opts.progress):
        seen = set(history)
        query = queries.vector(history)
        rows["popularity"][u] = [i for i in data.by_count[: CUT + len(seen)] if i not in seen][:CUT]
        folded = bpr.fold_in_scores(history)
        rows["bpr_foldin"][u] = sorted(folded, key=lambda i: (-folded[i], i))[:CUT]
        rows["swing"][u] = [i for i, _ in swing.similar_items(history, CUT, exclude=seen)]
        rows["text_mean"][u] = data.ranked(plain, history, seen, liked)
        rows["graph_text"][u] = data.ranked(graph, history, seen, liked)
        rows["graph_text_cold_graph"][u] = data.ranked(cold_graph, history, seen, liked)
        rows["graph_text_blend"][u] = data.ranked(graph, history, seen, liked, query, alpha)
        rows["genre_query"][u] = data.ranked(graph, history, seen, liked, query, 1.0)
    return {
        "choice": choice,
        "layers": layers,
        "alpha": alpha,
        "collection": {"built": built, "detail": detail},
        "cold_start": {
            "given": opts.given,
            "users": len(cold),
            "reference": "bpr_foldin",
            "query": "the two most frequent genres of the given items + 'movie'",
            "methods": score_rows(rows, targets, "bpr_foldin", opts.resamples, opts.seed),
        },
        "seconds": round(time.perf_counter() - started, 2),
    }


COLD_ROWS = (
    "popularity",
    "bpr_foldin",
    "swing",
    "text_mean",
    "graph_text",
    "graph_text_cold_graph",
    "graph_text_blend",
    "genre_query",
)


def graph_text_rows(test_ctx, valid_ctx, run: Any, options: Any) -> dict[str, Any]:
    """``run_graph_text`` with ``eval ranking``'s options (``RankingOptions``)."""
    opts = GraphTextOptions(
        cold_users=options.cold_users,
        seed=options.seed,
        resamples=options.resamples,
        progress=options.progress,
    )
    return run_graph_text(test_ctx, valid_ctx, run, opts)


def cold_start_markdown(section: dict[str, Any]) -> list[str]:
    """The report's section for ``--graph-text``."""
    cold, choice = section["cold_start"], section["choice"]
    lines = [
        "## Graph-enhanced text embeddings (RecoFM)",
        "",
        f"Chosen on holdout=valid: L = {section['layers']} (full-catalogue NDCG@10 by L: "
        f"{choice['layers']['grid']}), alpha = {section['alpha']} (cold-start NDCG@10 by "
        f"alpha: {choice['alpha']['grid']}). Full-catalogue rows `text_mean` / `graph_text` "
        "are in the table above (alpha = 0: that protocol has no request text).",
        "",
        f"### Cold start: {cold['given']} liked items given, {cold['users']} test users",
        "",
        f"Query of the blend: {cold['query']}. Δ: paired difference vs `{cold['reference']}`.",
        "",
        "| method | NDCG@10 | Recall@10 | Hit@10 | Δ NDCG@10 | Δ Recall@10 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in cold["methods"].items():
        m, d = entry["metrics"], entry["vs_reference"]
        lines.append(
            f"| `{name}` | {_ci(m['ndcg@10'])} | {_ci(m['recall@10'])} | {_ci(m['hit@10'])} | "
            f"{_diff(d.get('ndcg@10'))} | {_diff(d.get('recall@10'))} |"
        )
    return [*lines, "", "`*`: the paired 95 % CI excludes 0.", ""]


def _ci(ci: dict) -> str:
    return f"{ci['mean']:.4f} [{ci['lo']:.4f}, {ci['hi']:.4f}]"


def _diff(diff: dict | None) -> str:
    if not diff:
        return "–"
    star = " *" if diff["significant"] else ""
    return f"{diff['mean']:+.4f} [{diff['lo']:+.4f}, {diff['hi']:+.4f}]{star}"
