"""`recagents setup`: build every store and model, skipping finished steps.

Steps: enrichment → metadata store → BPR → vector index. Each step is idempotent and checks
whether its output is already up to date; ``force`` redoes it. Heavy libraries (torch, RecBole,
sentence-transformers) are imported inside the steps that need them, so ``status`` stays quick.

BPR counts as up to date when its checkpoint and metrics exist AND were trained from the same
BPR YAML (content fingerprint in ``<data_dir>/bpr/config.sha256``, written after each training
run, like the metadata load's fingerprint): editing ``bpr.yaml`` makes the next setup retrain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment, resolve_enrichment
from recagents.data.movielens import load_ratings, load_users
from recagents.errors import DataError
from recagents.settings import Settings

log = logging.getLogger(__name__)

STEPS = ("enrichment", "metadata", "bpr", "vectors")


@dataclass
class StepResult:
    name: str
    done: bool  # work was done (False: skipped because up to date)
    seconds: float
    detail: str


@dataclass
class SetupReport:
    steps: list[StepResult] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"steps": [asdict(s) for s in self.steps]}


def summary_line(step: StepResult) -> str:
    """The one line a step reports when it ends."""
    state = "built" if step.done else "up to date"
    return f"{step.name:<11} {state:<10} {step.seconds:7.1f}s  {step.detail}"


def _timed(name: str, fn, on_step: Callable[[StepResult], None] | None) -> StepResult:
    start = time.perf_counter()
    done, detail = fn()
    result = StepResult(name, done, round(time.perf_counter() - start, 2), detail)
    if on_step is not None:
        on_step(result)
    else:
        log.info("%s", summary_line(result))
    return result


def load_catalog(settings: Settings, *, allow_download: bool = True) -> tuple[list[dict], str]:
    """The item catalog plus a note on where its enrichment came from."""
    source = resolve_enrichment(settings, allow_download=allow_download)
    if source.path is None:
        log.warning(source.note)
    enrichment = parse_enrichment(source.path) if source.path is not None else None
    return build_catalog(enrichment), source.origin


# --- BPR: retrain when the YAML (or the overrides) it was trained from changed ------------------
BPR_FINGERPRINT_NAME = "config.sha256"


def bpr_fingerprint_path(settings: Settings) -> Path:
    return settings.checkpoint_dir / BPR_FINGERPRINT_NAME


def bpr_fingerprint(settings: Settings, overrides: Mapping[str, Any] | None = None) -> str:
    """sha256 of the BPR YAML's content plus any overrides (``recagents train --epochs``)."""
    config = Path(settings.bpr_config)
    try:
        digest = hashlib.sha256(config.read_bytes())
    except OSError as exc:
        raise DataError(f"BPR config {config} not found; set RECAGENTS_BPR_CONFIG.") from exc
    if overrides:
        digest.update(json.dumps(dict(overrides), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def bpr_is_built(settings: Settings) -> bool:
    from recagents.recommender.train import checkpoint_path, metrics_path

    return checkpoint_path(settings).is_file() and metrics_path(settings).is_file()


def bpr_stale_reason(settings: Settings) -> str | None:
    """Why BPR must be (re)trained, or None when its checkpoint matches the current YAML."""
    if not bpr_is_built(settings):
        return "no checkpoint"
    try:
        recorded = bpr_fingerprint_path(settings).read_text().strip()
    except OSError:
        return "checkpoint of unknown config"
    if recorded != bpr_fingerprint(settings):
        return f"{Path(settings.bpr_config).name} changed since the last training"
    return None


def train_and_record(
    settings: Settings,
    *,
    overrides: Mapping[str, Any] | None = None,
    show_progress: bool = True,
) -> dict:
    """Train BPR (``recommender.train.train_bpr``) and record the config fingerprint beside it."""
    from recagents.recommender.train import train_bpr

    fingerprint = bpr_fingerprint(settings, overrides)
    metrics = train_bpr(settings, overrides=overrides, show_progress=show_progress)
    bpr_fingerprint_path(settings).write_text(fingerprint + "\n")
    return metrics


def run_setup(
    settings: Settings,
    *,
    force: bool = False,
    steps=STEPS,
    on_step: Callable[[StepResult], None] | None = None,
) -> SetupReport:
    """Build what is missing (or everything with ``force``); raises ``RecagentsError`` on failure.

    ``on_step`` receives each step's result as it ends (the CLI prints ``summary_line``);
    without it the summary is logged.
    """
    report = SetupReport()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state: dict = {}

    def enrichment():
        catalog, origin = load_catalog(settings)
        state["catalog"], state["origin"] = catalog, origin
        enriched = sum(item["enriched"] for item in catalog)
        return True, f"{enriched}/{len(catalog)} items enriched (source: {origin})"

    def metadata():
        from recagents.stores.metadata import check_connection, load_metadata, make_engine

        engine = make_engine(settings.sqlalchemy_url)
        try:
            check_connection(engine, create_database=True)
            result = load_metadata(
                engine,
                state["catalog"],
                load_users(),
                load_ratings(),
                extra_info={"enrichment": state["origin"]},
                force=force,
            )
        finally:
            engine.dispose()
        if not result.loaded:
            return False, result.reason
        rows = result.rows
        return True, (
            f"{rows['items']} items, {rows['users']} users, {rows['ratings']} ratings, "
            f"{rows['people']} people ({settings.display_database_url})"
        )

    def bpr():
        reason = bpr_stale_reason(settings)
        if reason is None and not force:
            return False, f"checkpoint in {settings.checkpoint_dir} matches {settings.bpr_config}"
        if reason is not None and reason != "no checkpoint":
            log.info("retraining BPR: %s", reason)
        metrics = train_and_record(settings)
        test = metrics["test"]
        return True, f"test ndcg@10={test['ndcg@10']:.4f} recall@10={test['recall@10']:.4f}"

    def vectors():
        from recagents.stores.vectors import VectorStore

        store = VectorStore.open(settings)
        try:
            result = store.index_catalog(state["catalog"], force=force)
        finally:
            store.close()
        changed = result.embedded + result.deleted
        return bool(changed), (
            f"{result.embedded} embedded, {result.reused} unchanged, {result.deleted} deleted"
        )

    actions = {"enrichment": enrichment, "metadata": metadata, "bpr": bpr, "vectors": vectors}
    for name in STEPS:
        if name in steps or (name == "enrichment" and {"metadata", "vectors"} & set(steps)):
            report.steps.append(_timed(name, actions[name], on_step))
    return report
