import os

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from recagents.data.movielens import load_ratings, load_users
from recagents.errors import (
    BackendUnavailableError,
    InvalidArgumentError,
    NotBuiltError,
    UnknownItemError,
    UnknownUserError,
)
from recagents.settings import Settings
from recagents.stores.metadata import MetadataStore, check_connection, load_metadata, make_engine
from recagents.stores.metadata.database import engine_for
from recagents.stores.metadata.models import Credit, Item, Rating, Role


def test_counts(metadata_store):
    counts = metadata_store.counts()
    assert counts["items"] == 1682 and counts["users"] == 943 and counts["ratings"] == 100_000
    assert counts["genres"] == 18


def test_items_round_trip(metadata_store, catalog):
    by_id = {c["item_id"]: c for c in catalog}
    ids = [77, 1, 267, 6, 1682]
    for got in metadata_store.item_details(ids):
        want = by_id[got["item_id"]]
        for key in ("title", "year", "duration_min", "imdb_rating", "country", "storyline"):
            assert got[key] == want[key], key
        assert got["genres"] == sorted(want["genres"])
        assert got["actors"] == want["actors"]  # billing order kept
        assert got["directors"] == want["directors"] and got["writers"] == want["writers"]
    assert [i["item_id"] for i in metadata_store.item_details(ids)] == ids


def test_recent_ratings_are_most_recent_first(metadata_store):
    rows = metadata_store.user_ratings(1, limit=20)
    assert len(rows) == 20
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    ratings = load_ratings()
    assert stamps[0] == ratings[ratings.user_id == 1].timestamp.max()


def test_unknown_ids(metadata_store):
    with pytest.raises(UnknownUserError, match="unknown user id 5000"):
        metadata_store.user(5000)
    with pytest.raises(UnknownItemError, match=r"\[0, 9999\]"):
        metadata_store.item_details([1, 9999, 0])


def test_genre_filter_uses_the_join(metadata_store, catalog):
    from recagents.stores.metadata.item_filters import ItemFilter

    want = sorted(c["item_id"] for c in catalog if "Film-Noir" in c["genres"])
    genre_id, _ = metadata_store.genre_index["film-noir"]
    assert sorted(metadata_store.filter_item_ids(ItemFilter(genre_ids=(genre_id,)))) == want


def test_person_roles(metadata_store, catalog):
    item = next(c for c in catalog if c["directors"] and c["actors"])
    with metadata_store.session() as s:
        for role, key in ((Role.director, "directors"), (Role.actor, "actors")):
            n = s.scalar(
                select(func.count())
                .select_from(Credit)
                .where(Credit.role == role, Credit.item_id == item["item_id"])
            )
            assert n == len(item[key]) > 0


def test_agent_path_cannot_write(metadata_store):
    with pytest.raises(DBAPIError), metadata_store.engine.begin() as conn:
        conn.execute(text("DELETE FROM ratings WHERE user_id = 1"))
    with pytest.raises(DBAPIError), metadata_store.session() as s:
        s.add(Item(item_id=99999, title="x", enriched=False))
        s.commit()
    assert metadata_store.counts()["ratings"] == 100_000


def test_load_is_idempotent(metadata_url, catalog):
    engine = make_engine(metadata_url)
    again = load_metadata(engine, catalog, load_users(), load_ratings(), show_progress=False)
    assert not again.loaded and "unchanged" in again.reason
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Rating)) == 100_000
    engine.dispose()


def test_forced_and_changed_reload_replace_not_duplicate(tmp_path, catalog):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    users, ratings = load_users(), load_ratings().head(5_000)
    load_metadata(engine, catalog, users, ratings, show_progress=False)
    forced = load_metadata(engine, catalog, users, ratings, force=True, show_progress=False)
    assert forced.loaded
    changed = [dict(c) for c in catalog]
    changed[0]["title"] = "Toy Story, retitled (1995)"
    assert load_metadata(engine, changed, users, ratings, show_progress=False).loaded
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Rating)) == 5_000
        assert conn.scalar(select(func.count()).select_from(Item)) == 1682
        assert conn.scalar(select(Item.title).where(Item.item_id == 1)) == changed[0]["title"]
    engine.dispose()


def test_failed_load_rolls_back(tmp_path, catalog):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    users, ratings = load_users(), load_ratings().head(2_000)
    load_metadata(engine, catalog, users, ratings, show_progress=False)
    broken = ratings.copy()
    broken.loc[len(broken)] = {"user_id": 1, "item_id": 424242, "rating": 5, "timestamp": 1}
    with pytest.raises(DBAPIError):  # foreign key violation mid-load
        load_metadata(engine, catalog, users, broken, show_progress=False)
    with engine.connect() as conn:  # the previous complete load is intact
        assert conn.scalar(select(func.count()).select_from(Rating)) == 2_000
    again = load_metadata(engine, catalog, users, ratings, show_progress=False)
    assert not again.loaded
    engine.dispose()


def test_unreachable_database_is_a_clear_error():
    engine = make_engine("mysql+pymysql://nobody:pw@127.0.0.1:1/nowhere")
    with pytest.raises(BackendUnavailableError, match="RECAGENTS_DATABASE_URL"):
        check_connection(engine)


def test_malformed_url():
    with pytest.raises(InvalidArgumentError, match="RECAGENTS_DATABASE_URL"):
        make_engine("not a url")


def test_empty_database_says_run_setup(tmp_path):
    settings = Settings(data_dir=tmp_path, _env_file=None)
    with pytest.raises(NotBuiltError, match="recagents setup"):
        MetadataStore.open(settings)


def test_agent_url_is_the_readonly_one_when_set(tmp_path):
    plain = Settings(data_dir=tmp_path, _env_file=None)
    assert plain.agent_database_url == plain.sqlalchemy_url
    ro = "mysql+pymysql://recagents_ro:pw@127.0.0.1:3306/recagents"
    split = Settings(data_dir=tmp_path, database_readonly_url=ro, _env_file=None)
    assert split.agent_database_url == ro and split.sqlalchemy_url != ro
    with pytest.raises(InvalidArgumentError, match="RECAGENTS_DATABASE_READONLY_URL"):
        engine_for(Settings(database_readonly_url="not a url", _env_file=None), read_only=True)


@pytest.mark.mysql
def test_select_only_user_reads_but_cannot_write(mariadb_url):
    """Least privilege: the agent side's own SELECT-only user (CI creates it, see .ci/run)."""
    readonly_url = os.environ.get("RECAGENTS_TEST_MYSQL_READONLY_URL")
    if not readonly_url:
        pytest.skip("set RECAGENTS_TEST_MYSQL_READONLY_URL to a SELECT-only user (README 'Tests')")
    settings = Settings(
        database_url=mariadb_url, database_readonly_url=readonly_url, _env_file=None
    )
    engine = engine_for(settings, read_only=True)
    try:
        store = MetadataStore(engine)
        assert store.counts()["ratings"] == 100_000
    finally:
        engine.dispose()
    writer = make_engine(readonly_url)  # not even per-connection read-only: privileges alone
    try:
        with pytest.raises(DBAPIError, match="denied"), writer.begin() as conn:
            conn.execute(text("DELETE FROM ratings WHERE user_id = 1"))
    finally:
        writer.dispose()
