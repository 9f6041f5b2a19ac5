"""Optional IMDb enrichment of ML-100k items (the schema of the pinned ``final_ml-100k.csv``).

Source order: ``RECAGENTS_ENRICHMENT_PATH`` → the copy in ``<data_dir>`` (a previous download, or
the verified copy setup keeps of a file given by path; sha256-checked) → download from the
pinned URL (sha256-checked) → none (setup continues and says so, and never replaces an enriched
build with it unless forced). The file is TAB-separated;
missing values are the string ``"unknown"``; ``producer`` holds the IMDb *writers*.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
from tqdm import tqdm

from recagents.errors import DataError
from recagents.settings import Settings

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = (
    "item_id",
    "title",
    "director",
    "producer",
    "actors",
    "release_date",
    "release_month",
    "country",
    "duration",
    "age_rating",
    "imdb_rating",
    "imdb_num_reviews",
    "description",
    "storyline",
    "genres_list",
    "directors_list",
    "producers_list",
    "actors_list",
)


@dataclass(frozen=True)
class EnrichmentSource:
    path: Path | None
    origin: str  # "setting" | "cache" | "download" | "none"
    note: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, expected_sha: str, timeout_s: float) -> None:
    """Stream ``url`` to ``target`` with a progress bar; keep it only if the sha256 matches."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    digest = hashlib.sha256()
    with (
        httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as resp,
        partial.open("wb") as fh,
    ):
        resp.raise_for_status()
        total = int(resp.headers.get("content-length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc="enrichment download") as bar:
            for chunk in resp.iter_bytes(1 << 16):
                fh.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    if digest.hexdigest() != expected_sha:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"downloaded enrichment has sha256 {digest.hexdigest()}, expected {expected_sha}"
        )
    partial.replace(target)


def _sha_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _recorded_sha(path: Path) -> str | None:
    try:
        return _sha_file(path).read_text().split()[0]
    except (OSError, IndexError):
        return None


def keep_copy(source: Path, target: Path) -> bool:
    """Store a verified copy of the enrichment given by path (``RECAGENTS_ENRICHMENT_PATH``) in
    the data dir, with its sha256 beside it, so that a later setup without the variable finds
    the same file (``resolve_enrichment``: origin ``cache``) instead of building without it.
    Returns whether a copy was written (False: the same content is already there)."""
    digest = sha256_of(source)
    if target.is_file() and _recorded_sha(target) == digest and sha256_of(target) == digest:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    shutil.copyfile(source, partial)
    if sha256_of(partial) != digest:
        partial.unlink(missing_ok=True)
        raise DataError(f"copying {source} to {partial} changed its content: disk full?")
    _sha_file(target).write_text(f"{digest}  {source}\n")
    partial.replace(target)
    return True


def resolve_enrichment(settings: Settings, *, allow_download: bool = True) -> EnrichmentSource:
    """Find the enrichment file, downloading it if needed; never raises for a missing source."""
    if settings.enrichment_path is not None:
        path = Path(settings.enrichment_path).expanduser()
        if not path.is_file():
            raise DataError(
                f"RECAGENTS_ENRICHMENT_PATH={path} does not exist: fix the path or unset it."
            )
        return EnrichmentSource(
            path, "setting", f"enrichment from RECAGENTS_ENRICHMENT_PATH={path}"
        )
    cached = settings.default_enrichment_file
    if cached.is_file():
        expected = {settings.enrichment_sha256, _recorded_sha(cached)} - {None}
        actual = sha256_of(cached)
        if actual not in expected:
            raise DataError(
                f"the enrichment copy {cached} has sha256 {actual}, not the one recorded when it "
                "was stored: delete it, or set RECAGENTS_ENRICHMENT_PATH to the file to use"
            )
        return EnrichmentSource(cached, "cache", f"enrichment from {cached} (sha256 checked)")
    if allow_download:
        try:
            _download(
                settings.enrichment_url,
                cached,
                settings.enrichment_sha256,
                settings.download_timeout_s,
            )
            return EnrichmentSource(cached, "download", f"enrichment downloaded to {cached}")
        except (httpx.HTTPError, OSError, DataError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = "download disabled"
    return EnrichmentSource(
        None,
        "none",
        "continuing WITHOUT IMDb enrichment (no directors/actors/plots; vector search uses titles "
        f"and genres only) — {reason}. Set RECAGENTS_ENRICHMENT_PATH to a copy of final_ml-100k.csv "
        "and run `recagents setup --force` to add it.",
    )


# --- parsing ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*min)?\s*$")
_REVIEWS = re.compile(r"^\s*([\d.]+)\s*([KkMm]?)\s*$")


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return None if text == "" or text.lower() == "unknown" else text


def parse_duration_min(value: object) -> int | None:
    """``"1h 41min"`` → 101, ``"2h"`` → 120, ``"45min"`` → 45; anything else → None."""
    text = _text(value)
    if text is None:
        return None
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        return None
    hours, minutes = (int(g) if g else 0 for g in match.groups())
    return hours * 60 + minutes


def parse_review_count(value: object) -> int | None:
    """``"139K"`` → 139000, ``"4.3K"`` → 4300, ``"1.2M"`` → 1200000, ``"523"`` → 523."""
    text = _text(value)
    if text is None:
        return None
    match = _REVIEWS.match(text.replace(",", ""))
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2).upper()
    return round(number * {"": 1, "K": 1_000, "M": 1_000_000}[suffix])


def _int(value: object) -> int | None:
    text = _text(value)
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _float(value: object) -> float | None:
    text = _text(value)
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


_NO_NAME = frozenset({"unknown", "nan"})


def _names(value: object) -> list[str]:
    """A Python-literal list like ``"['A', 'B']"`` → ``["A", "B"]`` (deduplicated, order kept;
    the file's placeholders for an unknown name, "unknown" and pandas' "nan", are dropped)."""
    text = _text(value)
    if text is None:
        return []
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        parsed = [part.strip() for part in text.strip("[]").split(",")]
    names = [str(n).strip() for n in parsed]
    names = [n for n in names if n and n.lower() not in _NO_NAME]
    return list(dict.fromkeys(names))


def parse_enrichment(path: Path) -> pd.DataFrame:
    """Parse the enrichment file into typed columns (one row per item, ``None`` for missing)."""
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(
            f"cannot read enrichment file {path}: {exc}. Point RECAGENTS_ENRICHMENT_PATH at an "
            "intact copy of final_ml-100k.csv (tab-separated) or unset it."
        ) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(
            f"enrichment file {path} lacks columns {missing} (is it final_ml-100k.csv, "
            "tab-separated?). Fix RECAGENTS_ENRICHMENT_PATH or unset it."
        )
    ids = pd.to_numeric(raw["item_id"], errors="coerce")
    if ids.isna().any() or ids.duplicated().any():
        raise DataError(f"enrichment file {path} has missing or duplicate item_id values.")
    return pd.DataFrame(
        {
            "item_id": ids.astype(int),
            "title": raw["title"].map(_text),
            "genres": raw["genres_list"].map(_names),
            "directors": raw["directors_list"].map(_names),
            "writers": raw["producers_list"].map(_names),
            "actors": raw["actors_list"].map(_names),
            "year": raw["release_date"].map(_int),
            "release_month": raw["release_month"].map(_int),
            "country": raw["country"].map(_text),
            "duration_min": raw["duration"].map(parse_duration_min),
            "age_rating": raw["age_rating"].map(_text),
            "imdb_rating": raw["imdb_rating"].map(_float),
            "imdb_num_reviews": raw["imdb_num_reviews"].map(parse_review_count),
            "description": raw["description"].map(_text),
            "storyline": raw["storyline"].map(_text),
        }
    )
