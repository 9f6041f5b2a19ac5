"""`recagents setup`: build every store and model, skipping finished steps.

Steps: enrichment → metadata store → recommender (the active engine, BPR by default) → vector
index → graph-enhanced text embeddings (``graph_text``: one Qdrant collection per history view of
``configs/graph_text.yaml``'s ``setup_views``, skipped while its fingerprint matches). Each step is idempotent and checks whether its output is already up to date; ``force``
redoes it. Heavy libraries (torch, RecBole, sentence-transformers) are imported inside the steps
that need them, so ``status`` stays quick.

An engine counts as up to date when its checkpoint and metrics exist AND were trained from the
same YAMLs (content fingerprint in ``<data_dir>/<engine>/config.sha256``, written after each
training run, like the metadata load's fingerprint): editing ``recbole.yaml`` or
``engines/<engine>.yaml`` makes the next setup retrain.
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
from recagents.data.enrichment import keep_copy, parse_enrichment, resolve_enrichment
from recagents.data.movielens import load_ratings, load_users
from recagents.errors import DataError
from recagents.settings import Settings, engine_name

log = logging.getLogger(__name__)

STEPS = ("enrichment", "metadata", "recommender", "vectors", "graph_text")


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


# --- the engine: retrain when the YAMLs (or the overrides) it was trained from changed ----------
FINGERPRINT_NAME = "config.sha256"


def fingerprint_path(settings: Settings, engine: str | None = None) -> Path:
    return settings.engine_dir(engine or settings.recommender) / FINGERPRINT_NAME


def engine_fingerprint(
    settings: Settings, engine: str | None = None, overrides: Mapping[str, Any] | None = None
) -> str:
    """sha256 of the engine's name, checkpoint format, YAMLs' content and any overrides
    (``recagents train --epochs``)."""
    from recagents.recommender.train import CHECKPOINT_FORMAT, config_files

    name = engine_name(engine or settings.recommender)
    digest = hashlib.sha256(f"{name}\n{CHECKPOINT_FORMAT}\n".encode())
    for path in config_files(settings, name):
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise DataError(f"config {path} cannot be read ({exc}).") from exc
    if overrides:
        digest.update(json.dumps(dict(overrides), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def engine_is_built(settings: Settings, engine: str | None = None) -> bool:
    from recagents.recommender.train import checkpoint_path, metrics_path

    return checkpoint_path(settings, engine).is_file() and metrics_path(settings, engine).is_file()


def engine_stale_reason(settings: Settings, engine: str | None = None) -> str | None:
    """Why the engine must be (re)trained, or None when its checkpoint matches its YAMLs."""
    if not engine_is_built(settings, engine):
        return "no checkpoint"
    try:
        recorded = fingerprint_path(settings, engine).read_text().strip()
    except OSError:
        return "checkpoint of unknown config"
    if recorded != engine_fingerprint(settings, engine):
        return "its YAML changed since the last training"
    return None


def train_and_record(
    settings: Settings,
    engine: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    show_progress: bool = True,
) -> dict:
    """Train the engine (``recommender.train.train_engine``; default: the active one) and
    record the config fingerprint beside it."""
    from recagents.recommender.train import train_engine

    fingerprint = engine_fingerprint(settings, engine, overrides)
    metrics = train_engine(settings, engine, overrides=overrides, show_progress=show_progress)
    fingerprint_path(settings, engine).write_text(fingerprint + "\n")
    return metrics


DOWNGRADE_NOTE = (
    "kept the enriched build: no enrichment was found this time, and setup never replaces an "
    "enriched store with a poorer one (set RECAGENTS_ENRICHMENT_PATH, or `recagents setup "
    "--force` to rebuild without it)"
)


def _built_enriched(settings: Settings) -> bool:
    """Whether the metadata store was built WITH an enrichment (so a build without it would
    lose directors, actors and plots)."""
    from recagents.stores.metadata import make_engine, read_build_info

    engine = make_engine(settings.sqlalchemy_url)
    try:
        info = read_build_info(engine)
    except Exception:  # noqa: BLE001 - no database yet (or unreachable: the metadata step says so)
        return False
    finally:
        engine.dispose()
    return info.get("enrichment", "none") != "none"


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
        kept = ""
        if origin == "setting" and settings.enrichment_path is not None:
            copied = keep_copy(Path(settings.enrichment_path), settings.default_enrichment_file)
            kept = f"; copy kept in {settings.default_enrichment_file}" if copied else ""
        state["downgrade"] = origin == "none" and not force and _built_enriched(settings)
        return True, f"{enriched}/{len(catalog)} items enriched (source: {origin}){kept}"

    def metadata():
        from recagents.stores.metadata import check_connection, load_metadata, make_engine

        if state["downgrade"]:
            return False, DOWNGRADE_NOTE
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

    def recommender():
        name = settings.recommender
        reason = engine_stale_reason(settings)
        if reason is None and not force:
            return False, f"{name} checkpoint in {settings.checkpoint_dir} matches its YAMLs"
        if reason is not None and reason != "no checkpoint":
            log.info("retraining %s: %s", name, reason)
        metrics = train_and_record(settings)
        test = metrics["test"]
        return True, (
            f"{name}: test ndcg@10={test['ndcg@10']:.4f} recall@10={test['recall@10']:.4f}"
        )

    def vectors():
        from recagents.stores.vectors import VectorStore

        if state["downgrade"]:
            return False, DOWNGRADE_NOTE
        store = VectorStore.open(settings)
        try:
            result = store.index_catalog(state["catalog"], force=force)
        finally:
            store.close()
        changed = result.upserted + result.deleted
        upgraded = " (older schema rebuilt with keyword vectors)" if result.upgraded else ""
        return bool(changed), (
            f"{result.embedded} embedded, {result.reused} unchanged, {result.deleted} deleted"
            f"{upgraded}"
        )

    def graph_text():
        from recagents.recommender.graph_text import GraphTextConfig
        from recagents.resources import open_services
        from recagents.services.graph_text import build_graph_text

        config = GraphTextConfig.load(settings)
        built, details = False, []
        for view in config.setup_views:
            ctx = open_services(settings, holdout=view)
            try:
                done, detail = build_graph_text(ctx, config, force=force)
            finally:
                ctx.close()
            built, details = built or done, [*details, detail]
        return built, "; ".join(details) or "no view in setup_views"

    actions = {
        "enrichment": enrichment,
        "metadata": metadata,
        "recommender": recommender,
        "vectors": vectors,
        "graph_text": graph_text,
    }
    for name in STEPS:
        if name in steps or (name == "enrichment" and {"metadata", "vectors"} & set(steps)):
            report.steps.append(_timed(name, actions[name], on_step))
    return report
