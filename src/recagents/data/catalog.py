"""The item catalog: ML-100k items merged with the optional IMDb enrichment, one row per item.

All 1,682 ML-100k items are kept; the 91 without enrichment get ``None`` / empty lists for the
IMDb fields and ``enriched=False``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from recagents.data.movielens import load_items
from recagents.vocabulary import ITEM_FIELDS

CATALOG_COLUMNS = ("item_id", *ITEM_FIELDS, "enriched")
"""One row's keys: the id, every field an item shows (``vocabulary.ITEM_FIELDS``), the flag."""


# Not a typo here: RecBole's ml-100k.item spells item 267's title "unkonwn" (MovieLens: "unknown").
RECBOLE_MISSPELLED_UNKNOWN = "unkonwn"


def _ml_title(title: str, year: int | None) -> str:
    """ML titles come without the year in RecBole's files: restore the ``Title (1995)`` form
    (and MovieLens' own "unknown" for the title RecBole misspells)."""
    if title == RECBOLE_MISSPELLED_UNKNOWN:
        return "unknown"
    return f"{title} ({year})" if year is not None else title


def _none_if_na(value: object) -> object:
    return None if not isinstance(value, list) and pd.isna(value) else value


def build_catalog(enrichment: pd.DataFrame | None) -> list[dict]:
    """Merge ML-100k items with the parsed enrichment (see ``enrichment.parse_enrichment``).

    Returns one plain dict per item (keys: ``CATALOG_COLUMNS``), ``None`` for missing values.
    """
    items = load_items()
    rows = []
    extra = {} if enrichment is None else enrichment.set_index("item_id").to_dict("index")
    for item in items.itertuples(index=False):
        ml_year = None if pd.isna(item.year) else int(item.year)
        genres = [g for g in item.genres if g != "unknown"]
        row: dict[str, Any] = {
            "item_id": int(item.item_id),
            "title": _ml_title(item.title, ml_year),
            "ml_year": ml_year,
            "imdb_year": None,
            "genres": genres,
            "directors": [],
            "writers": [],
            "actors": [],
            "enriched": False,
        }
        for key in CATALOG_COLUMNS:
            row.setdefault(key, None)
        imdb = extra.get(row["item_id"])
        if imdb is not None:
            imdb = {k: _none_if_na(v) for k, v in imdb.items()}
            row.update(
                {k: imdb[k] for k in imdb if k not in ("title", "genres", "year")},
                imdb_year=None if imdb["year"] is None else int(imdb["year"]),
                enriched=True,
            )
            row["title"] = imdb["title"] or row["title"]
            row["genres"] = imdb["genres"] or genres
        row["year"] = row["imdb_year"] if row["imdb_year"] is not None else ml_year
        for key in ("release_month", "duration_min", "imdb_num_reviews"):
            row[key] = None if row[key] is None else int(row[key])
        rows.append(row)
    return rows
