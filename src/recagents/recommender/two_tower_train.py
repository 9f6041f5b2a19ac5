"""Training the two-tower engine (``recagents train --model two_tower``): the towers, features
and the cold-user path are in ``two_tower.py``; here the data (RecBole's split of the shared
YAML, the text embeddings, each user's recent history), the in-batch softmax loop with early
stopping on valid NDCG@10, the full-ranking metrics and the export to the engines' checkpoint.
``recommender.train.train_engine`` calls :func:`train_two_tower` for ``TwoTower``."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.nn import functional as F  # noqa: N812 - torch's own idiom

from recagents.errors import InvalidArgumentError
from recagents.recommender import compat
from recagents.recommender.train import (
    _EpochBar,
    _plain,
    _prepare_splits,
    _torch_threads,
    _write_engine,
    checkpoint_path,
    config_files,
    evaluate_popularity,
    shared_config,
)
from recagents.recommender.two_tower import (
    DEFAULTS,
    TEXT_DIM,
    TOWER_PREFIX,
    Features,
    TwoTowerModel,
    score_matrix,
    vectors,
)
from recagents.settings import TWO_TOWER, Settings


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


@dataclass
class _Best:
    """The best epoch so far: its validation nDCG@10, number, weights and metrics."""

    score: float = -1.0
    epoch: int = -1
    state: dict[str, torch.Tensor] | None = None
    valid: dict[str, float] = field(default_factory=dict)


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
    best = _Best()
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
        if valid["ndcg@10"] > best.score:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = _Best(valid["ndcg@10"], epoch, state, valid)
        elif epoch - best.epoch >= int(params["stopping_step"]):
            break
    if best.state is None:
        raise RuntimeError("no training epoch improved on a validation nDCG@10 of -1")
    model.load_state_dict(best.state)
    return model, {
        "best_epoch": best.epoch,
        "epochs_run": len(losses),
        "valid": best.valid,
        "history": history,
        "train_seen": train_seen,
        "cold_items": int((counts[1:] == 0).sum()),
    }


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


def train_two_tower(
    settings: Settings,
    overrides: Mapping[str, Any] | None,
    show_progress: bool,
    threads: int | None,
) -> dict[str, Any]:
    """``train_engine`` for the two-tower engine (``recommender.two_tower``): RecBole's dataset
    and split of the shared YAML (BPR's config, so the very same split), our own PyTorch model,
    the same files written."""
    name = TWO_TOWER
    out_dir = settings.engine_dir(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    params = load_params(config_files(settings, name), overrides)
    if int(params["epochs"]) < 1:
        raise InvalidArgumentError(f"epochs must be at least 1, got {params['epochs']}.")
    shared = [shared_config(settings)]
    config = compat.build_config(
        "BPR",
        shared,
        {"checkpoint_dir": str(out_dir / "recbole"), "show_progress": False, "save_dataset": False},
    )
    with (
        compat.capture_recbole_logs(out_dir / "logs" / f"{name.lower()}-{stamp}.log") as logger,
        compat.quiet_recbole_warnings(),
        _torch_threads(threads),
    ):
        logger.info(f"recagents: training {name} with {config_files(settings, name)}: {params}")
        dataset, splits = _prepare_splits(config)
        text = None
        if params["text_features"]:
            text = text_vectors(settings, dataset, out_dir / "text_vectors.npz")
        features = Features(dataset, text)
        bar = _EpochBar(int(params["epochs"]), show_progress, name)
        started = time.perf_counter()
        try:
            model, facts = fit(dataset, splits, features, params, on_epoch=bar)
        finally:
            bar.close()
        train_seconds = time.perf_counter() - started
        uid, iid = dataset.uid_field, dataset.iid_field
        n_users = int(dataset.user_num)
        valid_seen = _pairs_by_user(splits[1]._dataset.inter_feat, uid, iid, n_users)
        masked = [a | b for a, b in zip(facts["train_seen"], valid_seen, strict=True)]
        targets = _pairs_by_user(splits[2]._dataset.inter_feat, uid, iid, n_users)
        test = full_metrics(score_matrix(model, facts["history"]), masked, targets)
        popularity = evaluate_popularity(settings, splits=splits, engine="BPR")
        exported = export_two_tower(model, dataset, facts["history"])
        logger.info(f"recagents: {name} best epoch {facts['best_epoch']}, test {test}")

    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    metrics = {
        "model": name,
        "valid": facts["valid"],
        "test": test,
        "best_epoch": int(facts["best_epoch"]),
        "epochs_run": int(facts["epochs_run"]),
        "train_seconds": round(train_seconds, 2),
        "config": {k: _plain(v) for k, v in params.items()},
        "config_files": [str(p) for p in config_files(settings, name)],
        "popularity_test": popularity["test"],
        "popularity_valid": popularity["valid"],
        "n_users": int(dataset.user_num - 1),
        "n_items": int(dataset.item_num - 1),
        "cold_items": facts["cold_items"],
        "checkpoint": str(checkpoint_path(settings, name)),
        "trained_at": trained_at,
    }
    return _write_engine(settings, metrics, exported, dataset, splits)
