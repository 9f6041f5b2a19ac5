"""Setup never replaces a richer build with a poorer one (issue 20): an enrichment given by path
is kept, verified, in the data dir; a later setup without the variable uses that copy; and where
no enrichment is found at all, an enriched store is kept unless ``--force``."""

from __future__ import annotations

import pytest

from recagents.build import DOWNGRADE_NOTE, run_setup
from recagents.errors import DataError
from recagents.stores.metadata import make_engine, read_build_info
from recagents.stores.metadata.models import Person

OFFLINE = "http://127.0.0.1:9/none.csv"  # the pinned download is unreachable here


def people(settings) -> int:
    from sqlalchemy import func, select

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Person)).scalar_one()
    finally:
        engine.dispose()


def info(settings) -> dict:
    engine = make_engine(settings.sqlalchemy_url)
    try:
        return read_build_info(engine)
    finally:
        engine.dispose()


def metadata_step(settings, **kwargs):
    report = run_setup(settings, steps=("metadata",), on_step=lambda _s: None, **kwargs)
    return {s.name: s for s in report.steps}


@pytest.fixture
def enriched(make_settings, enrichment_file):
    """A store built with RECAGENTS_ENRICHMENT_PATH set: (its settings, the settings of a later
    run without the variable)."""
    given = make_settings(enrichment_path=enrichment_file, enrichment_url=OFFLINE)
    steps = metadata_step(given)
    assert steps["metadata"].done and people(given) > 0
    assert given.default_enrichment_file.is_file()  # the verified copy
    assert "copy kept" in steps["enrichment"].detail
    plain = make_settings(enrichment_path=None, enrichment_url=OFFLINE)
    return given, plain


def test_a_later_setup_without_the_variable_uses_the_kept_copy(enriched):
    given, plain = enriched
    before = people(given)
    steps = metadata_step(plain)
    assert "source: cache" in steps["enrichment"].detail
    assert not steps["metadata"].done  # same inputs: nothing to load
    assert people(plain) == before


def test_without_any_enrichment_the_enriched_store_is_kept(enriched):
    given, plain = enriched
    before, built = people(given), info(given)
    plain.default_enrichment_file.unlink()  # e.g. a data dir from before copies were kept
    steps = metadata_step(plain)
    assert not steps["metadata"].done and steps["metadata"].detail == DOWNGRADE_NOTE
    assert people(plain) == before and info(plain)["loaded_at"] == built["loaded_at"]
    forced = metadata_step(plain, force=True)  # asked for: rebuilt without the enrichment
    assert forced["metadata"].done and people(plain) == 0
    assert info(plain)["enrichment"] == "none"


def test_a_changed_copy_is_refused(enriched):
    _given, plain = enriched
    with plain.default_enrichment_file.open("ab") as fh:
        fh.write(b"tampered\n")
    with pytest.raises(DataError, match="sha256"):
        metadata_step(plain)
