"""The ranking stage: retrieval → ranking (issue 21, part 3).

Retrieval is an engine's top-N (``configs/ranking.yaml`` ``candidates``, at most 100; from the
score matrix or from Qdrant). A feature-based ranker re-scores those N and keeps the best k: a gradient-boosted
tree classifier (scikit-learn's ``HistGradientBoostingClassifier``) over, per (user, candidate):

- the retrieval score, its rank and its gap to the user's best retrieved score;
- the item's popularity (log count) and mean rating among the visible ratings, its year;
- the user's activity (log count), mean rating, age, gender and occupation (categorical);
- the cosine between the user's genre profile (their visible ratings) and the item's genres, and
  the distance of the item's year to the mean year of the user's history.

It is fitted on the ``valid`` view: the candidates are the engine's top-N with the training items
masked, the label is "the item is in the user's valid split"; it never sees the test split. It is
evaluated (``recagents eval ranking --two-stage ENGINES``) on the ``test`` view, and served when
``configs/ranking.yaml`` ``enabled: true`` (the services then wrap the engine in
:class:`TwoStage`). The fitted model is cached per engine checkpoint in
``<data_dir>/<engine>/ranker.pkl`` (our own pickle, written by this module).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from recagents.errors import DataError
from recagents.recommender.split import HistoryView, Split
from recagents.recommender.topk import ScoredItem, TopK, check_k
from recagents.settings import MAX_K, Settings

log = logging.getLogger(__name__)

RANKER_NAME = "ranker.pkl"
FEATURES = (
    "retrieval_score",
    "retrieval_rank",
    "gap_to_best",
    "item_log_count",
    "item_mean_rating",
    "item_year",
    "user_log_count",
    "user_mean_rating",
    "user_age",
    "user_gender",
    "user_occupation",
    "genre_cosine",
    "year_distance",
)
CATEGORICAL = ("user_gender", "user_occupation")


@dataclass(frozen=True)
class RankingConfig:
    enabled: bool = False
    candidates: int = 100
    max_iter: int = 200
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0
    seed: int = 2020

    @classmethod
    def load(cls, path: Path | None) -> RankingConfig:
        if path is None or not Path(path).is_file():
            return cls()
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise DataError(f"{path}: unknown key(s) {sorted(unknown)}")
        return cls(**raw)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def ranking_config(settings: Settings) -> RankingConfig:
    return RankingConfig.load(Path(settings.config_dir) / "ranking.yaml")


class FeatureTables:
    """Users' and items' features under one history view (ML-100k's own files + the visible
    ratings), indexed by external id."""

    def __init__(self, view: HistoryView) -> None:
        from recagents.data.movielens import load_items, load_ratings, load_users

        ratings = load_ratings()
        users, items = ratings["user_id"].to_numpy(), ratings["item_id"].to_numpy()
        keep = view.visible_mask(users, items)
        users, items = users[keep], items[keep]
        values = ratings["rating"].to_numpy()[keep].astype(np.float64)
        catalogue = load_items()
        people = load_users()
        n_items = int(max(catalogue["item_id"].max(), items.max())) + 1
        n_users = int(max(people["user_id"].max(), users.max())) + 1

        self.item_count = np.bincount(items, minlength=n_items).astype(np.float64)
        sums = np.bincount(items, weights=values, minlength=n_items)
        global_mean = float(values.mean())
        self.item_mean = np.where(
            self.item_count > 0, sums / np.maximum(self.item_count, 1), global_mean
        )
        self.user_count = np.bincount(users, minlength=n_users).astype(np.float64)
        sums = np.bincount(users, weights=values, minlength=n_users)
        self.user_mean = np.where(
            self.user_count > 0, sums / np.maximum(self.user_count, 1), global_mean
        )

        genre_names = sorted({g for gs in catalogue["genres"] for g in gs})
        self.genres = np.zeros((n_items, len(genre_names)), dtype=np.float64)
        self.year = np.full(n_items, np.nan)
        for row in catalogue.itertuples():
            for g in row.genres:
                self.genres[row.item_id, genre_names.index(g)] = 1.0
            if not pd.isna(row.year):
                self.year[row.item_id] = float(row.year)
        profile = np.zeros((n_users, len(genre_names)))
        np.add.at(profile, users, self.genres[items])
        norms = np.linalg.norm(profile, axis=1, keepdims=True)
        self.profile = np.divide(profile, norms, out=np.zeros_like(profile), where=norms > 0)
        item_norms = np.linalg.norm(self.genres, axis=1, keepdims=True)
        self.genres_unit = np.divide(
            self.genres, item_norms, out=np.zeros_like(self.genres), where=item_norms > 0
        )
        years = np.nan_to_num(self.year[items], nan=0.0)
        known = (~np.isnan(self.year[items])).astype(np.float64)
        year_sum = np.bincount(users, weights=years, minlength=n_users)
        year_n = np.bincount(users, weights=known, minlength=n_users)
        self.user_year = np.where(year_n > 0, year_sum / np.maximum(year_n, 1), np.nan)

        occupations = sorted(people["occupation"].unique())
        self.age = np.full(n_users, np.nan)
        self.gender = np.full(n_users, -1.0)
        self.occupation = np.full(n_users, -1.0)
        self.age[people["user_id"]] = people["age"]
        self.gender[people["user_id"]] = (people["gender"] == "M").astype(float)
        self.occupation[people["user_id"]] = [occupations.index(o) for o in people["occupation"]]

    def matrix(self, user: int, top: TopK) -> np.ndarray:
        """One row of FEATURES per retrieved item of ``top`` (retrieval order)."""
        items = np.asarray(top.item_ids, dtype=np.int64)
        scores = np.asarray([s.score for s in top.items], dtype=np.float64)
        n = len(items)
        inside = items < len(self.item_count)
        safe = np.where(inside, items, 0)
        u = user if user < len(self.user_count) else 0
        year = np.where(inside, self.year[safe], np.nan)
        return np.column_stack(
            [
                scores,
                np.arange(n, dtype=np.float64),
                scores - (scores[0] if n else 0.0),
                np.log1p(np.where(inside, self.item_count[safe], 0.0)),
                self.item_mean[safe],
                year,
                np.full(n, np.log1p(self.user_count[u])),
                np.full(n, self.user_mean[u]),
                np.full(n, self.age[u]),
                np.full(n, self.gender[u]),
                np.full(n, self.occupation[u]),
                self.genres_unit[safe] @ self.profile[u],
                np.abs(year - self.user_year[u]),
            ]
        )


class Reranker:
    """A fitted ranker over one engine's retrieved candidates."""

    def __init__(self, model: Any, config: RankingConfig, engine: str, trained_at: str | None):
        self.model = model
        self.config = config
        self.engine = engine
        self.trained_at = trained_at
        self._tables: dict[str, FeatureTables] = {}

    def tables(self, view: HistoryView | None) -> FeatureTables:
        view = view or HistoryView.none()
        if view.holdout not in self._tables:
            self._tables[view.holdout] = FeatureTables(view)
        return self._tables[view.holdout]

    @classmethod
    def fit(cls, rec: Any, split: Split, config: RankingConfig) -> Reranker:
        """Fit on the valid view: the engine's top-N with train masked, labels = valid items."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        view = HistoryView.from_split(split, "valid")
        tables = FeatureTables(view)
        targets = split.per_user("valid")
        tops = rec.top_k_all_users(k=min(config.candidates, MAX_K), view=view)
        rows, labels = [], []
        for user, wanted in targets.items():
            top = tops.get(user)
            if top is None or not top.items:
                continue
            rows.append(tables.matrix(user, top))
            labels.append(np.isin(top.item_ids, list(wanted)))
        x, y = np.vstack(rows), np.concatenate(labels).astype(int)
        categorical = [name in CATEGORICAL for name in FEATURES]
        model = HistGradientBoostingClassifier(
            max_iter=config.max_iter,
            learning_rate=config.learning_rate,
            max_leaf_nodes=config.max_leaf_nodes,
            min_samples_leaf=config.min_samples_leaf,
            l2_regularization=config.l2_regularization,
            categorical_features=categorical,
            random_state=config.seed,
        )
        model.fit(np.nan_to_num(x, nan=-1.0), y)
        log.info("ranker fitted on %d candidates (%d positives)", len(y), int(y.sum()))
        ranker = cls(model, config, rec.model, rec.trained_at)
        ranker._tables["valid"] = tables
        return ranker

    def rerank(self, user: int, top: TopK, k: int, view: HistoryView | None = None) -> TopK:
        """The k best of ``top``'s items by the ranker's probability (ties: retrieval order)."""
        if not top.items or top.fallback:
            return TopK(top.user_id, top.items[:k], top.fallback, top.reason, top.model)
        x = np.nan_to_num(self.tables(view).matrix(user, top), nan=-1.0)
        prob = self.model.predict_proba(x)[:, 1]
        order = np.lexsort((np.arange(len(prob)), -prob))[:k]
        items = [ScoredItem(top.items[i].item_id, float(prob[i])) for i in order]
        return TopK(top.user_id, items, model=f"{top.model}+ranker")

    # --- persistence ------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(
                {
                    "model": self.model,
                    "engine": self.engine,
                    "trained_at": self.trained_at,
                    "config": self.config.digest(),
                },
                fh,
            )
        tmp.replace(path)

    @classmethod
    def load_or_fit(cls, settings: Settings, rec: Any, config: RankingConfig) -> Reranker:
        """The cached ranker of ``rec``'s checkpoint and this config, else a fresh fit."""
        from recagents.recommender.train import split_path

        path = settings.engine_dir(rec.model) / RANKER_NAME
        if path.is_file():
            with open(path, "rb") as fh:  # our own file, written by save()
                saved = pickle.load(fh)  # noqa: S301
            if saved.get("trained_at") == rec.trained_at and saved.get("config") == config.digest():
                return cls(saved["model"], config, rec.model, rec.trained_at)
        ranker = cls.fit(rec, Split.load(split_path(settings, rec.model)), config)
        ranker.save(path)
        return ranker


class TwoStage:
    """An engine (or its Qdrant collection) with the ranking stage after it: ``top_k`` retrieves
    ``candidates`` items and the ranker keeps the best k; everything else is the engine's."""

    def __init__(self, base: Any, ranker: Reranker) -> None:
        self.base = base
        self.ranker = ranker

    def top_k(
        self,
        user_id: Any,
        k: int = 10,
        candidates: Collection[Any] | None = None,
        exclude_seen: bool = True,
        view: HistoryView | None = None,
        **kwargs: Any,
    ) -> TopK:
        k = check_k(k, MAX_K)
        n = max(k, min(self.ranker.config.candidates, MAX_K))
        top = self.base.top_k(user_id, n, candidates, exclude_seen, view, **kwargs)
        return self.ranker.rerank(int(user_id), top, k, view)

    def __getattr__(self, name: str) -> Any:
        if name in ("base", "ranker"):
            raise AttributeError(name)
        return getattr(self.base, name)


def rank_all(
    ranker: Reranker, rec: Any, users: list[int], view: HistoryView, k: int
) -> Mapping[int, list[int]]:
    """The two-stage top-k of each user (eval): the engine's top-N under ``view``, re-ranked."""
    n = max(k, min(ranker.config.candidates, MAX_K))
    tops = rec.top_k_all_users(k=n, view=view)
    return {u: ranker.rerank(u, tops[u], k, view).item_ids for u in users}
