from pathlib import Path

import pytest

from recagents.data.enrichment import (
    parse_duration_min,
    parse_enrichment,
    parse_review_count,
    resolve_enrichment,
    sha256_of,
)
from recagents.errors import DataError
from recagents.settings import ENRICHMENT_SHA256, Settings


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("1h 41min", 101),
        ("2h", 120),
        ("45min", 45),
        ("unknown", None),
        ("1994", None),
        ("Unrated", None),
    ],
)
def test_duration(text, minutes):
    assert parse_duration_min(text) == minutes


@pytest.mark.parametrize(
    ("text", "count"),
    [("139K", 139_000), ("4.3K", 4_300), ("1.2M", 1_200_000), ("523", 523), ("unknown", None)],
)
def test_review_count(text, count):
    assert parse_review_count(text) == count


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("['Joel Coen', 'Ethan Coen', 'Joel Coen']", ["Joel Coen", "Ethan Coen"]),
        ("['nan']", []),
        ("['unknown', 'Tim Allen']", ["Tim Allen"]),
        ("Tom Hanks, Tim Allen", ["Tom Hanks", "Tim Allen"]),
    ],
)
def test_names_drop_the_placeholders_of_an_unknown_name(text, names):
    from recagents.data.enrichment import _names

    assert _names(text) == names


def test_parse_real_file(real_enrichment_file):
    assert sha256_of(real_enrichment_file) == ENRICHMENT_SHA256
    frame = parse_enrichment(real_enrichment_file)
    assert len(frame) == 1591 and frame["item_id"].is_unique
    # "unknown" never survives as a value
    for column in ("country", "age_rating", "description", "title"):
        assert not (frame[column] == "unknown").any()
    assert frame["imdb_rating"].isna().sum() == 48
    firm = frame.set_index("item_id").loc[77]
    assert firm["title"] == "Firm, The (1993)"
    assert "Tom Cruise" in firm["actors"] and firm["directors"] == ["Sydney Pollack"]
    assert firm["duration_min"] > 60 and 0 < firm["imdb_rating"] <= 10


def test_corrupted_file_names_the_setting(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("just,some\ncomma,separated\n")
    with pytest.raises(DataError, match="RECAGENTS_ENRICHMENT_PATH"):
        parse_enrichment(bad)


def test_synthetic_file_has_the_real_schema(
    synthetic_enrichment_file, enrichment_file, enrichment_is_real
):
    import pandas as pd

    header = pd.read_csv(synthetic_enrichment_file, sep="\t", nrows=0).columns.tolist()
    assert len(header) == 27
    if enrichment_is_real:  # enrichment_file is the real one: same columns, same order
        assert header == pd.read_csv(enrichment_file, sep="\t", nrows=0).columns.tolist()
    frame = parse_enrichment(synthetic_enrichment_file)
    assert 300 <= len(frame) < 1682 and frame["item_id"].is_unique
    assert frame["imdb_rating"].isna().any() and frame["duration_min"].notna().any()


def test_truncated_file_is_detected(tmp_path, enrichment_file):
    cut = tmp_path / "cut.csv"
    data = enrichment_file.read_bytes()
    cut.write_bytes(data[: len(data) // 2] + b"\n\x00\x01garbage")
    with pytest.raises(DataError):
        parse_enrichment(cut)


def test_missing_setting_path_is_a_clear_error(tmp_path):
    settings = Settings(data_dir=tmp_path, enrichment_path=tmp_path / "nope.csv", _env_file=None)
    with pytest.raises(DataError, match="does not exist"):
        resolve_enrichment(settings)


def test_unreachable_download_continues_without(tmp_path):
    settings = Settings(
        data_dir=tmp_path, enrichment_url="http://127.0.0.1:9/none.csv", _env_file=None
    )
    source = resolve_enrichment(settings)
    assert source.path is None and source.origin == "none"
    assert "WITHOUT IMDb enrichment" in source.note and "RECAGENTS_ENRICHMENT_PATH" in source.note
    assert not list(Path(tmp_path).glob("*.part"))
