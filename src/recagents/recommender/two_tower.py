"""The two-tower (dual-encoder) engine: ``recagents train --model two_tower``. This module holds
the towers, the features and the cold-user path; the training loop, metrics and export are in
``two_tower_train.py``.

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

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - torch's own idiom

log = logging.getLogger(__name__)

NAME = "TwoTower"
# kid ≤ 12, teenager, young adult, adult, senior (stores.metadata.user_groups.AGE_GROUPS)
AGE_EDGES = (13, 20, 31, 61)
YEAR_EDGES = tuple(range(1930, 2000, 5))  # 5-year buckets; before 1930 and unknown get their own
TEXT_DIM = 384
DEFAULTS: dict[str, Any] = {
    "embedding_size": 64,
    "hidden_size": 128,
    "temperature": 0.1,
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


# --- the model --------------------------------------------------------------------------------
class TwoTowerModel(nn.Module):
    trained_items: torch.Tensor
    """Per item index: had training interactions (set by the trainer, stored by the export)."""

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
