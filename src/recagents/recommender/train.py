"""Train a RecBole general recommender (the engine) and export a self-contained checkpoint.

The config is ``configs/recbole.yaml`` (dataset, split, seed, training loop: shared, so every
engine sees the SAME split) with ``configs/engines/<name>.yaml`` layered over it. BPR is the
default engine; LightGCN, EASE, ItemKNN, MultiVAE ship a YAML, and any other RecBole general
recommender can be named (RecBole's defaults then apply). Everything is written under
``settings.engine_dir(name)`` (``<data_dir>/bpr`` for BPR, ``<data_dir>/ease`` for EASE, …)::

    <name>.pth         the exported model: the full user x item score matrix, item vectors
                       (fold-in), id maps, all 100k interactions
    metrics.json       valid/test metrics of the engine and of RecBole's Pop on the same split
    split.npz          RecBole's train/valid/test pairs (external ids): the holdout views
    logs/*.log         RecBole's log lines
    tensorboard/<run>/ RecBole's TensorBoard events
    recbole/           RecBole's own best-epoch checkpoint (pickled Config; see compat)

The ``.pth`` holds only tensors, ints, strings and lists, so the inference service loads it
with ``torch.load(weights_only=True)`` and without importing RecBole, whatever the engine.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from recagents.errors import DataError, InvalidArgumentError
from recagents.recommender import compat
from recagents.recommender.export import export_state, external_pairs
from recagents.recommender.split import SPLIT_NAME, Split
from recagents.settings import ENGINES, TWO_TOWER, Settings, engine_name

CHECKPOINT_FORMAT = "recagents.engine/1"
METRICS_NAME = "metrics.json"
METRIC_KEYS = ("ndcg@10", "recall@10", "mrr@10", "hit@10", "precision@10")
CONFIG_KEYS = (
    "learning_rate",
    "train_batch_size",
    "epochs",
    "stopping_step",
    "train_neg_sample_args",
    "eval_args",
    "valid_metric",
    "seed",
)


def _dir(settings: Settings, engine: str | None) -> Path:
    return settings.engine_dir(engine or settings.recommender)


def checkpoint_path(settings: Settings, engine: str | None = None) -> Path:
    """The engine's exported checkpoint (default: the active engine's)."""
    name = engine_name(engine or settings.recommender)
    return _dir(settings, name) / f"{name.lower()}.pth"


def metrics_path(settings: Settings, engine: str | None = None) -> Path:
    return _dir(settings, engine) / METRICS_NAME


def split_path(settings: Settings, engine: str | None = None) -> Path:
    return _dir(settings, engine) / SPLIT_NAME


def shared_config(settings: Settings) -> Path:
    """The RecBole YAML every engine shares (validated settings always name one)."""
    if settings.recbole_config is None:
        raise DataError("no RecBole config: set RECAGENTS_RECBOLE_CONFIG.")
    return Path(settings.recbole_config)


def config_files(settings: Settings, engine: str) -> list[Path]:
    """The YAMLs an engine is trained from: the shared one, then its own if it has one."""
    shared = shared_config(settings)
    if not shared.is_file():
        raise DataError(f"RecBole config {shared} not found; set RECAGENTS_RECBOLE_CONFIG.")
    own = settings.engine_config(engine)
    return [shared, own] if own.is_file() else [shared]


def read_metrics(settings: Settings, engine: str | None = None) -> dict[str, Any] | None:
    """The metrics of the engine's last finished training run, or None if there is none."""
    path = metrics_path(settings, engine)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is unreadable ({exc}); re-run `recagents train`.") from exc


def _atomic_write_bytes(path: Path, write: Any) -> None:
    """Write via a temporary sibling + rename, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _metrics(result: Mapping[str, Any] | None) -> dict[str, float]:
    result = result or {}
    return {key: round(float(result[key]), 4) for key in METRIC_KEYS if key in result}


def _plain(value: Any) -> Any:
    """Config values as JSON-able plain data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _rb_config(
    settings: Settings, model: str, overrides: Mapping[str, Any] | None, engine: str
) -> Any:
    """RecBole's Config of ``model`` from ``engine``'s YAMLs (Pop is evaluated with the
    engine's files, so on its split)."""
    config_dict = {
        **dict(overrides or {}),
        "checkpoint_dir": str(settings.engine_dir(engine) / "recbole"),
        "show_progress": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "log_wandb": False,
    }
    return compat.build_config(model, config_files(settings, engine), config_dict)


def _prepare_splits(config: Any) -> tuple[Any, tuple[Any, Any, Any]]:
    rb = compat.import_recbole()
    rb.init_seed(config["seed"], config["reproducibility"])
    dataset = rb.create_dataset(config)
    return dataset, rb.data_preparation(config, dataset)


def evaluate_popularity(
    settings: Settings,
    *,
    overrides: Mapping[str, Any] | None = None,
    splits: tuple[Any, Any, Any] | None = None,
    engine: str = "BPR",
) -> dict[str, dict[str, float]]:
    """RecBole's ``Pop`` on the same split as the engine: ``{"valid": {...}, "test": {...}}``.

    ``splits`` are the (train, valid, test) loaders of an engine's run; without them the split
    is rebuilt from the same YAMLs and seed (RecBole's split is deterministic given the seed).
    """
    rb = compat.import_recbole()
    config = _rb_config(settings, "Pop", overrides, engine)
    if splits is None:
        _, splits = _prepare_splits(config)
    train_data, valid_data, test_data = splits
    rb.init_seed(config["seed"], config["reproducibility"])
    model = rb.get_model("Pop")(config, train_data._dataset).to(config["device"])
    trainer = rb.get_trainer(config["MODEL_TYPE"], "Pop")(config, model)
    trainer.fit(train_data, None, verbose=False, saved=False, show_progress=False)
    compat.set_exact_pop_counts(model, train_data._dataset)
    return {
        "valid": _metrics(trainer.evaluate(valid_data, load_best_model=False)),
        "test": _metrics(trainer.evaluate(test_data, load_best_model=False)),
    }


def _model_keys(settings: Settings, name: str) -> list[str]:
    """The model's hyper-parameter names: RecBole's model YAML plus the engine's own."""
    import importlib.resources

    import yaml

    keys: set[str] = set()
    rb_yaml = importlib.resources.files("recbole") / "properties" / "model" / f"{name}.yaml"
    for source in (rb_yaml, settings.engine_config(name)):
        try:
            keys |= set(yaml.safe_load(source.read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError):
            continue
    return sorted(keys)


def _general_model(name: str) -> Any:
    """RecBole's model class of a general recommender; a clear error for anything else."""
    rb = compat.import_recbole()
    try:
        with compat.quiet_recbole_warnings():
            cls = rb.get_model(name)
    except (ValueError, ImportError, AttributeError) as exc:
        raise InvalidArgumentError(
            f"{name!r} is not a RecBole model (shipped engines: {', '.join(ENGINES)}; "
            "names are RecBole's class names)."
        ) from exc
    if not cls.__module__.startswith("recbole.model.general_recommender"):
        raise InvalidArgumentError(
            f"{name} is not a RecBole general recommender ({cls.__module__}): an engine ranks "
            f"all items for a user id (shipped: {', '.join(ENGINES)})."
        )
    return cls


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` intra-op threads (None: leave torch's setting alone).

    BPR's batches are small: one thread is as fast as two on an idle machine, and on a
    shared one two OpenMP threads spin-wait for each other (measured: 0.24 s/epoch with one
    thread vs 0.7-10 s with two under load).
    """
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


class _EpochBar:
    """A tqdm bar over epochs on stderr, fed by RecBole's per-epoch callback."""

    def __init__(self, total: int, enabled: bool, name: str = "BPR") -> None:
        self.bar = tqdm(total=total, desc=f"{name} epochs", unit="ep", disable=not enabled)
        self.best = float("-inf")

    def __call__(self, epoch_idx: int, valid_score: float) -> None:
        self.best = max(self.best, float(valid_score))
        self.bar.update(1)
        self.bar.set_postfix(valid_ndcg=f"{valid_score:.4f}", best=f"{self.best:.4f}")

    def close(self) -> None:
        self.bar.total = self.bar.n  # early stopping: show the run as complete
        self.bar.refresh()
        self.bar.close()


def _write_engine(
    settings: Settings,
    metrics: dict[str, Any],
    exported: Mapping[str, Any],
    dataset: Any,
    splits: tuple[Any, Any, Any],
) -> dict[str, Any]:
    """Write the checkpoint, ``split.npz`` and ``metrics.json`` of a trained engine."""
    name, trained_at = metrics["model"], metrics["trained_at"]
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": name,
        "trained_at": trained_at,
        "best_epoch": metrics["best_epoch"],
        **exported,
    }
    _atomic_write_bytes(checkpoint_path(settings, name), lambda fh: torch.save(state, fh))
    train_pairs, valid_pairs, test_pairs = (external_pairs(dataset, ld._dataset) for ld in splits)
    split = Split(train_pairs, valid_pairs, test_pairs, trained_at=trained_at)
    split.save(split_path(settings, name))
    metrics["split"] = split.counts()
    payload = (json.dumps(metrics, indent=2) + "\n").encode("utf-8")
    _atomic_write_bytes(metrics_path(settings, name), lambda fh: fh.write(payload))
    return metrics


def train_engine(
    settings: Settings,
    engine: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    show_progress: bool = True,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Train ``engine`` (default: the active one), evaluate it and Pop on the test split, write
    its checkpoint, ``metrics.json`` and ``split.npz`` under ``settings.engine_dir(engine)``.

    ``overrides`` are RecBole config keys that beat the YAMLs (e.g. ``{"epochs": 20}``);
    ``threads`` is torch's intra-op thread count while training (None: unchanged).
    Returns the metrics dict that is also written to ``metrics.json``.
    """
    name = engine_name(engine or settings.recommender)
    if name == TWO_TOWER:
        from recagents.recommender.two_tower_train import train_two_tower

        return train_two_tower(settings, overrides, show_progress, threads)
    _general_model(name)
    rb = compat.import_recbole()
    out_dir = settings.engine_dir(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    config = _rb_config(settings, name, overrides, name)
    if int(config["epochs"]) < 1:
        raise InvalidArgumentError(f"epochs must be at least 1, got {config['epochs']}.")

    with (
        compat.capture_recbole_logs(out_dir / "logs" / f"{name.lower()}-{stamp}.log") as logger,
        compat.redirect_tensorboard(out_dir / "tensorboard" / f"{name.lower()}-{stamp}"),
        compat.quiet_recbole_warnings(),
        _torch_threads(threads),
    ):
        logger.info(f"recagents: training {name} with {config_files(settings, name)}")
        logger.info(str(config))
        dataset, splits = _prepare_splits(config)
        train_data, valid_data, test_data = splits
        rb.init_seed(config["seed"], config["reproducibility"])
        model = rb.get_model(name)(config, train_data._dataset).to(config["device"])
        trainer = rb.get_trainer(config["MODEL_TYPE"], name)(config, model)
        trainer.saved_model_file = str(out_dir / "recbole" / f"{name}-best.pth")

        bar = _EpochBar(int(config["epochs"]), show_progress, name)
        started = time.perf_counter()
        try:
            _, best_valid = trainer.fit(
                train_data, valid_data, saved=True, show_progress=False, callback_fn=bar
            )
        finally:
            bar.close()
        train_seconds = time.perf_counter() - started

        best = compat.load_recbole_checkpoint(trainer.saved_model_file)
        model.load_state_dict(best["state_dict"])
        model.load_other_parameter(best.get("other_parameter"))
        test_result = trainer.evaluate(test_data, load_best_model=False)
        trainer.tensorboard.close()
        # Pop counts the items of each training batch; user-row loaders (Mult-VAE's) carry
        # none, so Pop then rebuilds the same split (same YAMLs and seed) with its own loaders
        item_batches = type(train_data).__name__ != "UserDataLoader"
        popularity = evaluate_popularity(
            settings, overrides=overrides, splits=splits if item_batches else None, engine=name
        )
        exported = export_state(model, dataset)

    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    model_keys = {k: _plain(config[k]) for k in _model_keys(settings, name) if k in config}
    metrics = {
        "model": name,
        "valid": _metrics(best_valid),
        "test": _metrics(test_result),
        "best_epoch": int(best["epoch"]),
        "epochs_run": len(trainer.train_loss_dict),
        "train_seconds": round(train_seconds, 2),
        "config": {**model_keys, **{key: _plain(config[key]) for key in CONFIG_KEYS}},
        "config_files": [str(p) for p in config_files(settings, name)],
        "popularity_test": popularity["test"],
        "popularity_valid": popularity["valid"],
        "n_users": int(dataset.user_num - 1),
        "n_items": int(dataset.item_num - 1),
        "checkpoint": str(checkpoint_path(settings, name)),
        "trained_at": trained_at,
    }
    return _write_engine(settings, metrics, exported, dataset, splits)


def train_bpr(settings: Settings, **kwargs: Any) -> dict[str, Any]:
    """``train_engine`` for BPR, whatever engine is active."""
    return train_engine(settings, "BPR", **kwargs)
