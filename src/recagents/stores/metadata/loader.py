"""Idempotent load of the catalog, users and ratings into the metadata store.

The whole load runs in one transaction and records a fingerprint of its inputs last: a re-run
with the same inputs is a no-op, a changed input (or ``force``) replaces everything, and a crash
rolls back to the previous complete state — never half-written.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, delete, insert, inspect, select
from tqdm import tqdm

from recagents.stores.metadata.models import (
    SCHEMA_VERSION,
    TABLES_IN_LOAD_ORDER,
    Base,
    BuildInfo,
    Credit,
    Genre,
    Item,
    ItemGenre,
    Person,
    Rating,
    Role,
    User,
)

CHUNK = 5_000
_ITEM_COLUMNS = [c.key for c in Item.__table__.columns]


@dataclass(frozen=True)
class LoadReport:
    loaded: bool
    reason: str
    rows: dict[str, int]
    seconds: float


def fingerprint(catalog: list[dict], users: pd.DataFrame, ratings: pd.DataFrame) -> str:
    digest = hashlib.sha256(f"schema={SCHEMA_VERSION}".encode())
    digest.update(json.dumps(catalog, sort_keys=True, default=str).encode())
    digest.update(pd.util.hash_pandas_object(users, index=False).values.tobytes())
    digest.update(pd.util.hash_pandas_object(ratings, index=False).values.tobytes())
    return digest.hexdigest()


def read_build_info(engine: Engine) -> dict[str, str]:
    if not inspect(engine).has_table(BuildInfo.__tablename__):
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(select(BuildInfo.key, BuildInfo.value)).all())


def _rows(catalog: list[dict], users: pd.DataFrame, ratings: pd.DataFrame) -> dict:
    genre_ids = {
        name: i for i, name in enumerate(sorted({g for it in catalog for g in it["genres"]}), 1)
    }
    person_ids: dict[str, int] = {}
    credits, item_genres = [], []
    for item in catalog:
        for genre in item["genres"]:
            item_genres.append({"item_id": item["item_id"], "genre_id": genre_ids[genre]})
        for role, key in (
            (Role.director, "directors"),
            (Role.writer, "writers"),
            (Role.actor, "actors"),
        ):
            for position, name in enumerate(item[key]):
                pid = person_ids.setdefault(name, len(person_ids) + 1)
                credits.append(
                    {
                        "item_id": item["item_id"],
                        "person_id": pid,
                        "role": role,
                        "position": position,
                    }
                )
    return {
        Genre: [{"genre_id": i, "name": n} for n, i in genre_ids.items()],
        Person: [{"person_id": i, "name": n} for n, i in person_ids.items()],
        Item: [{k: item[k] for k in _ITEM_COLUMNS} for item in catalog],
        ItemGenre: item_genres,
        Credit: credits,
        User: users.to_dict("records"),
        Rating: ratings.to_dict("records"),
    }


def load_metadata(
    engine: Engine,
    catalog: list[dict],
    users: pd.DataFrame,
    ratings: pd.DataFrame,
    *,
    extra_info: dict[str, str] | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> LoadReport:
    """Create the schema if needed and (re)load everything unless the fingerprint is unchanged."""
    start = time.perf_counter()
    info = read_build_info(engine)
    if info and info.get("schema_version") != str(SCHEMA_VERSION):
        Base.metadata.drop_all(engine)  # a schema from another version: rebuild from scratch
        info = {}
    Base.metadata.create_all(engine)
    print_ = fingerprint(catalog, users, ratings)
    if not force and info.get("fingerprint") == print_:
        return LoadReport(
            False, "unchanged inputs: nothing to load", {}, time.perf_counter() - start
        )

    rows = _rows(catalog, users, ratings)
    total = sum(len(r) for r in rows.values())
    counts = {model.__tablename__: len(rows[model]) for model in TABLES_IN_LOAD_ORDER}
    with (
        engine.begin() as conn,
        tqdm(total=total, desc="metadata store", unit="row", disable=not show_progress) as bar,
    ):
        conn.execute(delete(BuildInfo))
        for model in reversed(TABLES_IN_LOAD_ORDER):
            conn.execute(delete(model))
        for model in TABLES_IN_LOAD_ORDER:
            batch = rows[model]
            for start_row in range(0, len(batch), CHUNK):
                chunk = batch[start_row : start_row + CHUNK]
                conn.execute(insert(model), chunk)
                bar.update(len(chunk))
        facts = {"schema_version": str(SCHEMA_VERSION), "fingerprint": print_, **(extra_info or {})}
        facts["loaded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        conn.execute(insert(BuildInfo), [{"key": k, "value": str(v)} for k, v in facts.items()])
    return LoadReport(True, "loaded", counts, time.perf_counter() - start)
