"""MovieLens-100k as shipped inside the pinned ``recbole`` wheel (atomic files, tab-separated)."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import pandas as pd

from recagents.errors import DataError

N_ITEMS = 1682
N_USERS = 943
N_RATINGS = 100_000


def recbole_ml100k_dir() -> Path:
    """Folder of RecBole's bundled ml-100k atomic files."""
    path = Path(str(files("recbole"))) / "dataset_example" / "ml-100k"
    if not (path / "ml-100k.inter").exists():
        raise DataError(
            f"MovieLens-100k not found at {path}: reinstall recbole "
            "(`pip install --no-deps recbole==1.2.1`)."
        )
    return path


def _read_atomic(name: str) -> pd.DataFrame:
    """Read one RecBole atomic file; headers like ``user_id:token`` become ``user_id``."""
    path = recbole_ml100k_dir() / f"ml-100k.{name}"
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    frame.columns = [c.split(":", 1)[0] for c in frame.columns]
    return frame


@lru_cache(maxsize=1)
def load_items() -> pd.DataFrame:
    """1,682 items: ``item_id`` (int), ``title`` (str), ``year`` (Int64, may be NA), ``genres`` (list)."""
    raw = _read_atomic("item")
    items = pd.DataFrame(
        {
            "item_id": raw["item_id"].astype(int),
            "title": raw["movie_title"].str.strip(),
            "year": pd.to_numeric(raw["release_year"], errors="coerce").astype("Int64"),
            "genres": raw["class"].str.split().map(lambda g: sorted(set(g)) if g else []),
        }
    )
    return items.sort_values("item_id", ignore_index=True)


@lru_cache(maxsize=1)
def load_users() -> pd.DataFrame:
    """943 users: ``user_id``, ``age`` (int), ``gender`` (M/F), ``occupation``, ``zip_code``."""
    raw = _read_atomic("user")
    users = pd.DataFrame(
        {
            "user_id": raw["user_id"].astype(int),
            "age": raw["age"].astype(int),
            "gender": raw["gender"].str.strip(),
            "occupation": raw["occupation"].str.strip(),
            "zip_code": raw["zip_code"].str.strip(),
        }
    )
    return users.sort_values("user_id", ignore_index=True)


@lru_cache(maxsize=1)
def load_ratings() -> pd.DataFrame:
    """100,000 ratings: ``user_id``, ``item_id``, ``rating`` (int 1–5), ``timestamp`` (int, unix s)."""
    raw = _read_atomic("inter")
    return pd.DataFrame(
        {
            "user_id": raw["user_id"].astype(int),
            "item_id": raw["item_id"].astype(int),
            "rating": raw["rating"].astype(float).astype(int),
            "timestamp": raw["timestamp"].astype(float).astype("int64"),
        }
    )
