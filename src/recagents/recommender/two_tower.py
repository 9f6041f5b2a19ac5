"""The two-tower (dual-encoder) engine: ``recagents train --model two_tower``.

- **User tower**: id embedding + demographics (age bucket, gender, occupation) + the mean of an
  embedding of the user's most recent training items → MLP → unit vector.
- **Item tower**: id embedding + genres (multi-hot) + release-year bucket + the item's text
  embedding (all-MiniLM-L6-v2 of its catalogue document, the plot index's text) → MLP → unit
  vector.
- **Loss**: in-batch sampled softmax over the batch's positive items, with the logQ correction
  (log of each item's training frequency) and a temperature; an item that is also another row's
  positive is not a negative.
- **Id dropout**: during training an id is replaced by the "unknown" index with probability
  ``id_dropout``, so the towers learn to embed from features alone: a new user (a history and/or
  demographics) and an item without training interactions are served by their features.

It trains on RecBole's split of the shared ``recbole.yaml`` (the same split as every engine; the
dataset and loaders are RecBole's, built through ``compat``), stops early on valid NDCG@10 (full
ranking, training items masked), and writes the same checkpoint as every engine
(``recommender.train``): the score matrix (= user vectors · item vectors, so the engine is
factorised and the vector path serves it), both vector tables, the id maps, the interactions and
the user tower's weights (the cold-user path: :func:`cold_user_tower`). Its hyper-parameters are
``configs/engines/twotower.yaml``; ``recbole.yaml``'s training keys (epochs, batch size, seed,
stopping step) apply unless that file overrides them.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn
from torch.nn import functional as F  # noqa: N812 - torch's own idiom

log = logging.getLogger(__name__)

NAME = "TwoTower"
AGE_EDGES = (13, 20, 31, 61)  # kid ≤ 12, teenager, young adult, adult, senior (queries.AGE_GROUPS)
YEAR_EDGES = tuple(range(1930, 2000, 5))  # 5-year buckets; before 1930 and unknown get their own
TEXT_DIM = 384
DEFAULTS: dict[str, Any] = {
    "embedding_size": 64,
    "hidden_size": 128,
    "temperature": 0.07,
    "id_dropout": 0.1,
    "history_len": 50,
    "text_features": True,
    "learning_rate": 0.002,
    "weight_decay": 0.0,
    "train_batch_size": 1024,
    "epochs": 60,
    "stopping_step": 6,
    "seed": 2020,
}
TOWER_PREFIX = "user_tower."


# --- the towers ------------------------------------------------------------------------------
def _mlp(width: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, out))


class UserTower(nn.Module):
    """id (0 = unknown) + age bucket + gender + occupation (0 = unknown) + history mean."""

    def __init__(
        self, n_users: int, n_items: int, n_occupations: int, dim: int, hidden: int
    ) -> None:
        super().__init__()
        self.ids = nn.Embedding(n_users, dim)
        self.age = nn.Embedding(len(AGE_EDGES) + 2, 8)
        self.gender = nn.Embedding(3, 4)
        self.occupation = nn.Embedding(n_occupations, 8)
        self.history = nn.Embedding(n_items, dim, padding_idx=0)
        self.mlp = _mlp(2 * dim + 20, hidden, dim)

    def forward(
        self,
        ids: torch.Tensor,
        age: torch.Tensor,
        gender: torch.Tensor,
        occupation: torch.Tensor,
        history: torch.Tensor,
        weights: torch.Tensor,
    ) -> torch.Tensor:
        """``history``: (batch, L) item indices (0 = none), ``weights`` (batch, L) ≥ 0."""
        bag = (self.history(history) * weights.unsqueeze(-1)).sum(1)
        bag = bag / weights.sum(1, keepdim=True).clamp(min=1e-6)
        x = torch.cat(
            [self.ids(ids), self.age(age), self.gender(gender), self.occupation(occupation), bag],
            dim=1,
        )
        return F.normalize(self.mlp(x), dim=-1)


class ItemTower(nn.Module):
    """id (0 = unknown) + genres (multi-hot) + year bucket + text embedding."""

    def __init__(self, n_items: int, n_genres: int, dim: int, hidden: int, text: bool) -> None:
        super().__init__()
        self.ids = nn.Embedding(n_items, dim)
        self.genres = nn.Linear(n_genres, 16, bias=False)
        self.year = nn.Embedding(len(YEAR_EDGES) + 2, 8)
        self.text = nn.Linear(TEXT_DIM, dim) if text else None
        self.mlp = _mlp(dim + 24 + (dim if text else 0), hidden, dim)

    def forward(
        self, ids: torch.Tensor, genres: torch.Tensor, year: torch.Tensor, text: torch.Tensor
    ) -> torch.Tensor:
        parts = [self.ids(ids), self.genres(genres), self.year(year)]
        if self.text is not None:
            parts.append(self.text(text))
        return F.normalize(self.mlp(torch.cat(parts, dim=1)), dim=-1)


# --- features --------------------------------------------------------------------------------
def _bucket(values: np.ndarray, edges: tuple[int, ...]) -> np.ndarray:
    """1..len(edges)+1 by the edges; 0 where the value is unknown (NaN)."""
    out = np.zeros(len(values), dtype=np.int64)
    known = ~np.isnan(values)
    out[known] = np.searchsorted(np.asarray(edges), values[known], side="right") + 1
    return out


class Features:
    """Per internal user/item index (0 = padding/unknown): the towers' inputs as tensors."""

    def __init__(self, dataset: Any, text: np.ndarray | None) -> None:
        from recagents.data.movielens import load_items, load_users

        users = load_users().set_index("user_id")
        items = load_items().set_index("item_id")
        uid_tokens = dataset.field2id_token[dataset.uid_field]
        iid_tokens = dataset.field2id_token[dataset.iid_field]
        n_users, n_items = len(uid_tokens), len(iid_tokens)
        occupations = sorted(users["occupation"].unique())
        self.occupation_names = occupations
        age = np.full(n_users, np.nan)
        gender = np.zeros(n_users, dtype=np.int64)
        occupation = np.zeros(n_users, dtype=np.int64)
        for idx in range(1, n_users):
            row = users.loc[int(uid_tokens[idx])]
            age[idx] = row["age"]
            gender[idx] = 1 if row["gender"] == "M" else 2
            occupation[idx] = occupations.index(row["occupation"]) + 1
        self.age = torch.from_numpy(_bucket(age, AGE_EDGES))
        self.gender = torch.from_numpy(gender)
        self.occupation = torch.from_numpy(occupation)
        self.n_occupations = len(occupations) + 1

        genre_names = sorted({g for gs in items["genres"] for g in gs})
        genres = np.zeros((n_items, len(genre_names)), dtype=np.float32)
        year = np.full(n_items, np.nan)
        for idx in range(1, n_items):
            row = items.loc[int(iid_tokens[idx])]
            for g in row["genres"]:
                genres[idx, genre_names.index(g)] = 1.0
            year[idx] = np.nan if pd.isna(row["year"]) else float(row["year"])
        self.genres = torch.from_numpy(genres)
        self.year = torch.from_numpy(_bucket(year, YEAR_EDGES))
        self.text = torch.from_numpy(
            text if text is not None else np.zeros((n_items, TEXT_DIM), dtype=np.float32)
        )


def item_texts(settings: Any, item_ids: list[int]) -> list[str]:
    """The catalogue document of each item (what the plot index embeds), from the enrichment
    the setup uses, without downloading; the MovieLens title and genres where there is none."""
    from recagents.data.catalog import build_catalog
    from recagents.data.documents import item_document
    from recagents.data.enrichment import parse_enrichment, resolve_enrichment

    source = resolve_enrichment(settings, allow_download=False)
    enrichment = parse_enrichment(source.path) if source.path is not None else None
    catalog = {int(item["item_id"]): item for item in build_catalog(enrichment)}
    return [item_document(catalog[i]) if i in catalog else str(i) for i in item_ids]


def text_vectors(settings: Any, dataset: Any, cache: Path) -> np.ndarray:
    """(n_items, 384) text embeddings by internal index (row 0 zeros), cached in ``cache``
    under a digest of the documents (all-MiniLM-L6-v2 on one thread: ~25 s for 1,682)."""
    tokens = dataset.field2id_token[dataset.iid_field]
    ids = [int(t) for t in tokens[1:]]
    texts = item_texts(settings, ids)
    digest = hashlib.sha256("\n\0".join(texts).encode("utf-8")).hexdigest()
    if cache.is_file():
        with np.load(cache) as saved:
            if str(saved["digest"]) == digest:
                return saved["vectors"]
    from recagents.stores.embeddings import Embedder

    embedded = Embedder(threads=settings.torch_threads).embed(texts, batch_size=64)
    vectors = np.zeros((len(ids) + 1, TEXT_DIM), dtype=np.float32)
    vectors[1:] = embedded
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=vectors, digest=np.asarray(digest))
    return vectors


def recent_history(
    users: np.ndarray, items: np.ndarray, times: np.ndarray, n_users: int, length: int
) -> torch.Tensor:
    """(n_users, length): each user's most recent training items (0-padded), newest first."""
    order = np.lexsort((-times, users))
    out = np.zeros((n_users, length), dtype=np.int64)
    starts = np.searchsorted(users[order], np.arange(n_users))
    ends = np.searchsorted(users[order], np.arange(n_users), side="right")
    for u in range(1, n_users):
        chosen = items[order][starts[u] : ends[u]][:length]
        out[u, : len(chosen)] = chosen
    return torch.from_numpy(out)


# --- the model --------------------------------------------------------------------------------
class TwoTowerModel(nn.Module):
    def __init__(
        self, n_users: int, n_items: int, features: Features, params: Mapping[str, Any]
    ) -> None:
        super().__init__()
        dim, hidden = int(params["embedding_size"]), int(params["hidden_size"])
        self.features = features
        self.user = UserTower(n_users, n_items, features.n_occupations, dim, hidden)
        self.item = ItemTower(
            n_items, features.genres.shape[1], dim, hidden, bool(params["text_features"])
        )

    def users(
        self, idx: torch.Tensor, history: torch.Tensor, ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``ids``: the id inputs (0 where dropped: demographics are dropped with the id)."""
        f = self.features
        ids = idx if ids is None else ids
        known = ids > 0
        zero = torch.zeros_like(idx)
        return self.user(
            ids,
            torch.where(known, f.age[idx], zero),
            torch.where(known, f.gender[idx], zero),
            torch.where(known, f.occupation[idx], zero),
            history,
            (history > 0).float(),
        )

    def items(self, idx: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        f = self.features
        return self.item(idx if ids is None else ids, f.genres[idx], f.year[idx], f.text[idx])


def _drop_ids(idx: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    if p <= 0:
        return idx
    keep = torch.rand(idx.shape, generator=generator) >= p
    return torch.where(keep, idx, torch.zeros_like(idx))


def full_metrics(
    scores: torch.Tensor, masked: list[set[int]], targets: list[set[int]], k: int = 10
) -> dict[str, float]:
    """RecBole's full-ranking metrics@k (means over users with targets): scores (users x items,
    internal indices), masked items set to -inf per user."""
    scores = scores.clone()
    scores[:, 0] = -math.inf
    for u, seen in enumerate(masked):
        if seen:
            scores[u, list(seen)] = -math.inf
    top = torch.topk(scores, k, dim=1).indices.tolist()
    sums = {"ndcg@10": 0.0, "recall@10": 0.0, "mrr@10": 0.0, "hit@10": 0.0, "precision@10": 0.0}
    n = 0
    for u, wanted in enumerate(targets):
        if not wanted:
            continue
        n += 1
        hits = [i in wanted for i in top[u]]
        dcg = sum(1 / math.log2(r + 2) for r, h in enumerate(hits) if h)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(wanted), k)))
        first = next((r for r, h in enumerate(hits) if h), None)
        sums["ndcg@10"] += dcg / idcg
        sums["recall@10"] += sum(hits) / len(wanted)
        sums["mrr@10"] += 0.0 if first is None else 1 / (first + 1)
        sums["hit@10"] += float(any(hits))
        sums["precision@10"] += sum(hits) / k
    return {key: round(v / max(n, 1), 4) for key, v in sums.items()}


def _pairs_by_user(inter: Any, uid: str, iid: str, n_users: int) -> list[set[int]]:
    out: list[set[int]] = [set() for _ in range(n_users)]
    for u, i in zip(inter[uid].tolist(), inter[iid].tolist(), strict=True):
        out[int(u)].add(int(i))
    return out


def load_params(files: list[Path], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """DEFAULTS < the shared YAML's training keys < twotower.yaml < overrides."""
    params = dict(DEFAULTS)
    for path in files:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        params.update({k: v for k, v in loaded.items() if k in DEFAULTS})
    params.update({k: v for k, v in dict(overrides or {}).items() if k in DEFAULTS})
    return params


def fit(
    dataset: Any,
    splits: tuple[Any, Any, Any],
    features: Features,
    params: Mapping[str, Any],
    *,
    on_epoch: Any = None,
) -> tuple[TwoTowerModel, dict[str, Any]]:
    """Train on the split's training pairs, keep the epoch of best valid NDCG@10."""
    uid, iid = dataset.uid_field, dataset.iid_field
    n_users, n_items = int(dataset.user_num), int(dataset.item_num)
    train = splits[0]._dataset.inter_feat
    u = train[uid].numpy().astype(np.int64)
    i = train[iid].numpy().astype(np.int64)
    t = train[dataset.time_field].numpy().astype(np.float64)
    history = recent_history(u, i, t, n_users, int(params["history_len"]))
    counts = np.bincount(i, minlength=n_items).astype(np.float64)
    log_q = torch.from_numpy(np.log(np.maximum(counts, 1.0) / counts.sum())).float()
    train_seen = _pairs_by_user(train, uid, iid, n_users)
    valid_targets = _pairs_by_user(splits[1]._dataset.inter_feat, uid, iid, n_users)

    torch.manual_seed(int(params["seed"]))
    generator = torch.Generator().manual_seed(int(params["seed"]))
    model = TwoTowerModel(n_users, n_items, features, params)
    model.trained_items = torch.from_numpy(counts > 0)
    optimiser = torch.optim.Adam(
        model.parameters(),
        lr=float(params["learning_rate"]),
        weight_decay=float(params["weight_decay"]),
    )
    users_t, items_t = torch.from_numpy(u), torch.from_numpy(i)
    batch, tau = int(params["train_batch_size"]), float(params["temperature"])
    p_drop = float(params["id_dropout"])
    best = {"score": -1.0, "epoch": -1, "state": None, "valid": {}}
    losses: list[float] = []
    for epoch in range(int(params["epochs"])):
        model.train()
        order = torch.randperm(len(users_t), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            bu, bi = users_t[rows], items_t[rows]
            hist = history[bu]
            hist = torch.where(hist == bi.unsqueeze(1), torch.zeros_like(hist), hist)
            uvec = model.users(bu, hist, _drop_ids(bu, p_drop, generator))
            ivec = model.items(bi, _drop_ids(bi, p_drop, generator))
            logits = uvec @ ivec.T / tau - log_q[bi].unsqueeze(0)
            same = bi.unsqueeze(0) == bi.unsqueeze(1)
            logits = logits.masked_fill(same & ~torch.eye(len(bi), dtype=torch.bool), -1e9)
            loss = F.cross_entropy(logits, torch.arange(len(bi)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(bi)
        losses.append(total / len(order))
        valid = full_metrics(score_matrix(model, history), train_seen, valid_targets)
        if on_epoch is not None:
            on_epoch(epoch, valid["ndcg@10"])
        if valid["ndcg@10"] > best["score"]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = {"score": valid["ndcg@10"], "epoch": epoch, "state": state, "valid": valid}
        elif epoch - best["epoch"] >= int(params["stopping_step"]):
            break
    model.load_state_dict(best["state"])
    return model, {
        "best_epoch": best["epoch"],
        "epochs_run": len(losses),
        "valid": best["valid"],
        "history": history,
        "train_seen": train_seen,
        "cold_items": int((counts[1:] == 0).sum()),
    }


def vectors(model: TwoTowerModel, history: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(user vectors, item vectors) by internal index; items without training interactions
    embed from their features alone (id "unknown"), like any new item would."""
    model.eval()
    n_users, n_items = history.shape[0], model.features.genres.shape[0]
    with torch.no_grad():
        users = model.users(torch.arange(n_users), history)
        idx = torch.arange(n_items)
        items = model.items(idx, torch.where(model.trained_items, idx, torch.zeros_like(idx)))
    users[0] = 0.0
    items[0] = 0.0
    return users, items


def score_matrix(model: TwoTowerModel, history: torch.Tensor) -> torch.Tensor:
    users, items = vectors(model, history)
    return users @ items.T


class ColdUserTower:
    """The user tower of a checkpoint, for users the engine was not trained on: id and
    demographics unknown, the history given (item columns and weights)."""

    def __init__(self, tower: UserTower) -> None:
        self.tower = tower.eval()

    def vector(self, columns: list[int], weights: np.ndarray) -> np.ndarray:
        zero = torch.zeros(1, dtype=torch.long)
        hist = torch.tensor([columns], dtype=torch.long)
        w = torch.from_numpy(np.asarray(weights, dtype=np.float32)).view(1, -1)
        with torch.no_grad():
            out = self.tower(zero, zero, zero, zero, hist, w)
        return out[0].numpy()


def cold_user_tower(state: Mapping[str, Any]) -> ColdUserTower | None:
    """The cold-user tower of a two-tower checkpoint, or None for any other engine."""
    weights = {k[len(TOWER_PREFIX) :]: v for k, v in state.items() if k.startswith(TOWER_PREFIX)}
    if not weights:
        return None
    shape = state["user_tower_shape"].tolist()  # n_users, n_items, n_occupations, dim, hidden
    tower = UserTower(*shape)
    tower.load_state_dict(weights)
    return ColdUserTower(tower)


def export_two_tower(model: TwoTowerModel, dataset: Any, history: torch.Tensor) -> dict[str, Any]:
    """The checkpoint entries of a trained two-tower model (the format of ``export_state``)."""

    def external_ids(field: str) -> torch.Tensor:
        tokens = dataset.field2id_token[field]
        return torch.tensor([-1] + [int(t) for t in tokens[1:]], dtype=torch.long)

    users, items = vectors(model, history)
    scores = users @ items.T
    scores[:, 0] = -math.inf
    scores[0, :] = -math.inf
    inter = dataset.inter_feat
    pairs = torch.stack(
        [inter[dataset.uid_field].long(), inter[dataset.iid_field].long()], dim=1
    ).contiguous()
    tower = model.user
    state = {
        "user_ids": external_ids(dataset.uid_field),
        "item_ids": external_ids(dataset.iid_field),
        "scores": scores,
        "interactions": pairs,
        "item_vectors": items.clone(),
        "user_vectors": users.clone(),
        "user_tower_shape": torch.tensor(
            [
                tower.ids.num_embeddings,
                tower.history.num_embeddings,
                tower.occupation.num_embeddings,
                tower.ids.embedding_dim,
                tower.mlp[0].out_features,
            ]
        ),
    }
    for key, value in tower.state_dict().items():
        state[TOWER_PREFIX + key] = value.detach().clone()
    return state
