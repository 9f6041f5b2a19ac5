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
    enriched = [c for c in catalog if c["enriched"]]
    plain = [c for c in catalog if not c["enriched"]]
    assert len(enriched) == 1591 and len(plain) == 91
    # un-enriched items still have a title, ML year and genres, and no invented IMDb values
    for item in plain:
        assert item["title"] and item["imdb_rating"] is None and item["actors"] == []
    # only a video release without any year in either source (1412) lacks a year
    assert [c["item_id"] for c in catalog if c["year"] is None] == [1412]


def test_catalog_without_enrichment():
    catalog = build_catalog(None)
    assert len(catalog) == N_ITEMS and not any(c["enriched"] for c in catalog)
    assert catalog[0]["title"] == "Toy Story (1995)"


def test_documents_use_what_exists(catalog):
    toy = item_document(catalog[0])
    assert toy.startswith("Toy Story (1995)") and "Buzz Lightyear" in toy
    plain = next(c for c in catalog if not c["enriched"])
    assert item_document(plain).startswith(plain["title"])
