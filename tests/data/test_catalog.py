import pytest

from recagents.data.catalog import CATALOG_COLUMNS, build_catalog
from recagents.data.documents import item_document
from recagents.data.movielens import N_ITEMS, N_RATINGS, N_USERS, load_ratings, load_users


def test_movielens_counts():
    assert len(load_users()) == N_USERS
    ratings = load_ratings()
    assert len(ratings) == N_RATINGS
    assert ratings["rating"].between(1, 5).all()
    assert not ratings.duplicated(["user_id", "item_id"]).any()


def test_catalog_keeps_every_item(catalog):
    assert len(catalog) == N_ITEMS
    assert [c["item_id"] for c in catalog] == list(range(1, N_ITEMS + 1))
    assert all(set(item) == set(CATALOG_COLUMNS) for item in catalog)
    plain = [c for c in catalog if not c["enriched"]]
    assert plain and len(plain) < N_ITEMS
    # un-enriched items still have a title, ML year and genres, and no invented IMDb values
    for item in plain:
        assert item["title"] and item["imdb_rating"] is None and item["actors"] == []
    # "unknown" never survives as a value
    for item in catalog:
        assert "unknown" not in (item["country"], item["age_rating"], *item["genres"])


@pytest.mark.real_enrichment
def test_catalog_counts_of_the_real_enrichment(catalog):
    enriched = [c for c in catalog if c["enriched"]]
    assert len(enriched) == 1591 and N_ITEMS - len(enriched) == 91
    # only a video release without any year in either source (1412) lacks a year
    assert [c["item_id"] for c in catalog if c["year"] is None] == [1412]


def test_recbole_misspelled_unknown_title_is_restored():  # RecBole: "unkonwn"
    catalog = build_catalog(None)
    assert catalog[266]["item_id"] == 267 and catalog[266]["title"] == "unknown"


def test_catalog_without_enrichment():
    catalog = build_catalog(None)
    assert len(catalog) == N_ITEMS and not any(c["enriched"] for c in catalog)
    assert catalog[0]["title"] == "Toy Story (1995)"


def test_documents_use_what_exists(catalog):
    toy = item_document(catalog[0])
    assert toy.startswith("Toy Story (1995)") and catalog[0]["storyline"][:40] in toy
    plain = next(c for c in catalog if not c["enriched"])
    assert item_document(plain).startswith(plain["title"])


@pytest.mark.real_enrichment
def test_real_plot_reaches_the_document(catalog):
    assert "Buzz Lightyear" in item_document(catalog[0])
