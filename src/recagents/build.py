"""`recagents setup`: build every store and model, skipping finished steps.

Steps: enrichment → metadata store → BPR → vector index. Each step is idempotent and checks
whether its output is already up to date; ``force`` redoes it. Heavy libraries (torch, RecBole,
sentence-transformers) are imported inside the steps that need them, so ``status`` stays quick.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field

from recagents.data.catalog import build_catalog
from recagents.data.enrichment import parse_enrichment, resolve_enrichment
from recagents.data.movielens import load_ratings, load_users
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


def _timed(name: str, fn) -> StepResult:
    start = time.perf_counter()
    done, detail = fn()
    result = StepResult(name, done, round(time.perf_counter() - start, 2), detail)
    log.info("%-10s %s in %.1fs: %s", name, "done" if done else "skipped", result.seconds, detail)
    return result


def load_catalog(settings: Settings, *, allow_download: bool = True) -> tuple[list[dict], str]:
    """The item catalog plus a note on where its enrichment came from."""
    source = resolve_enrichment(settings, allow_download=allow_download)
    if source.path is None:
        log.warning(source.note)
    enrichment = parse_enrichment(source.path) if source.path is not None else None
    return build_catalog(enrichment), source.origin


def bpr_is_built(settings: Settings) -> bool:
    from recagents.recommender.train import checkpoint_path, metrics_path

    return checkpoint_path(settings).is_file() and metrics_path(settings).is_file()


def run_setup(settings: Settings, *, force: bool = False, steps=STEPS) -> SetupReport:
    """Build what is missing (or everything with ``force``); raises ``RecagentsError`` on failure."""
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
        return result.loaded, json.dumps(result.rows) if result.loaded else result.reason

    def bpr():
        if bpr_is_built(settings) and not force:
            return False, f"checkpoint present in {settings.checkpoint_dir}"
        from recagents.recommender.train import train_bpr

        metrics = train_bpr(settings)
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
            report.steps.append(_timed(name, actions[name]))
    return report
