"""Session fixtures that build small REAL stores once and share them.

- ``enrichment_file``: the IMDb-enriched metadata from ../shared (tests may read it there), or
  ``RECAGENTS_TEST_ENRICHMENT``.
- ``catalog``: the 1,682-item catalog built from it.
- ``metadata_url`` / ``metadata_store``: parametrized over SQLite (always) and MariaDB/MySQL
  (marker ``mysql``; URL from ``RECAGENTS_TEST_MYSQL_URL``, default root@127.0.0.1:3306).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment
from recagents.data.movielens import load_ratings, load_users
from recagents.settings import PROJECT_ROOT, Settings
from recagents.stores.metadata import MetadataStore, check_connection, load_metadata, make_engine

DEFAULT_MYSQL_URL = "mysql+pymysql://root:@127.0.0.1:3306/recagents_test"
SHARED_ENRICHMENT = PROJECT_ROOT.parent / "shared" / "data" / "ml-100k" / "final_ml-100k.csv"


def mysql_url() -> str:
    return os.environ.get("RECAGENTS_TEST_MYSQL_URL", DEFAULT_MYSQL_URL)


@pytest.fixture(scope="session")
def enrichment_file() -> Path:
    path = Path(os.environ.get("RECAGENTS_TEST_ENRICHMENT", SHARED_ENRICHMENT))
    if not path.is_file():
        pytest.fail(f"enrichment test data not found at {path}: set RECAGENTS_TEST_ENRICHMENT")
    return path


@pytest.fixture(scope="session")
def catalog(enrichment_file: Path) -> list[dict]:
    return build_catalog(parse_enrichment(enrichment_file))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory, catalog) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "meta.sqlite"
    url = f"sqlite:///{path}"
    load_metadata(make_engine(url), catalog, load_users(), load_ratings(), show_progress=False)
    return url


@pytest.fixture(scope="session")
def mariadb_url(catalog) -> str:
    url = mysql_url()
    engine = make_engine(url)
    check_connection(engine, create_database=True)
    load_metadata(engine, catalog, load_users(), load_ratings(), show_progress=False)
    engine.dispose()
    return url


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)],
)
def metadata_url(request) -> str:
    """A loaded metadata database URL, once per backend."""
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'mariadb'}_url")


@pytest.fixture(scope="session")
def metadata_store(metadata_url) -> MetadataStore:
    """The agent-side (read-only) store over a loaded database."""
    store = MetadataStore(make_engine(metadata_url, read_only=True))
    yield store
    store.close()


@pytest.fixture
def tmp_settings(tmp_path) -> Settings:
    """Settings whose data_dir is a fresh temp folder (nothing touches the repo's data/)."""
    return Settings(data_dir=tmp_path / "data", _env_file=None)
