"""Train BPR with RecBole from ``configs/bpr.yaml`` and export a self-contained checkpoint.

Everything is written under ``settings.checkpoint_dir`` (``<data_dir>/bpr``)::

    bpr.pth            the exported model: embeddings, id maps, all 100k interactions
    metrics.json       valid/test metrics of BPR and of RecBole's Pop on the same split
    split.npz          RecBole's train/valid/test pairs (external ids): the holdout views
    logs/*.log         RecBole's log lines
    tensorboard/<run>/ RecBole's TensorBoard events
    recbole/           RecBole's own best-epoch checkpoint (pickled Config; see compat)

``bpr.pth`` holds only tensors, ints, strings and lists, so the inference service loads it
with ``torch.load(weights_only=True)`` and without importing RecBole.
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
from recagents.recommender.split import SPLIT_NAME, Split
from recagents.settings import Settings

CHECKPOINT_FORMAT = "recagents.bpr/1"
CHECKPOINT_NAME = "bpr.pth"
METRICS_NAME = "metrics.json"
METRIC_KEYS = ("ndcg@10", "recall@10", "mrr@10", "hit@10", "precision@10")
CONFIG_KEYS = (
    "embedding_size",
    "learning_rate",
    "weight_decay",
    "train_batch_size",
    "epochs",
    "stopping_step",
    "train_neg_sample_args",
    "eval_args",
    "valid_metric",
    "seed",
)


def checkpoint_path(settings: Settings) -> Path:
    return settings.checkpoint_dir / CHECKPOINT_NAME


def metrics_path(settings: Settings) -> Path:
    return settings.checkpoint_dir / METRICS_NAME


def split_path(settings: Settings) -> Path:
    return settings.checkpoint_dir / SPLIT_NAME


def read_metrics(settings: Settings) -> dict[str, Any] | None:
    """The metrics of the last finished training run, or None if there is none."""
    path = metrics_path(settings)
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


def _rb_config(settings: Settings, model: str, overrides: Mapping[str, Any] | None) -> Any:
    config_file = Path(settings.bpr_config)
    if not config_file.is_file():
        raise DataError(f"BPR config {config_file} not found; set RECAGENTS_BPR_CONFIG.")
    config_dict = {
        **dict(overrides or {}),
        "checkpoint_dir": str(settings.checkpoint_dir / "recbole"),
        "show_progress": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "log_wandb": False,
    }
    return compat.build_config(model, config_file, config_dict)


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
) -> dict[str, dict[str, float]]:
    """RecBole's ``Pop`` on the same split as BPR: ``{"valid": {...}, "test": {...}}``.

    ``splits`` are the (train, valid, test) loaders of a BPR run; without them the split is
    rebuilt from the same YAML and seed (RecBole's split is deterministic given the seed).
    """
    rb = compat.import_recbole()
    config = _rb_config(settings, "Pop", overrides)
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


def _export(model: Any, dataset: Any) -> dict[str, Any]:
    """The service's view of a trained BPR: external ids, embeddings, all interactions."""

    def external_ids(field: str) -> torch.Tensor:
        tokens = dataset.field2id_token[field]
        return torch.tensor([-1] + [int(t) for t in tokens[1:]], dtype=torch.long)

    inter = dataset.inter_feat
    pairs = torch.stack(
        [inter[dataset.uid_field].long(), inter[dataset.iid_field].long()], dim=1
    ).contiguous()
    return {
        "user_ids": external_ids(dataset.uid_field),
        "item_ids": external_ids(dataset.iid_field),
        "user_embedding": model.user_embedding.weight.detach().cpu().clone(),
        "item_embedding": model.item_embedding.weight.detach().cpu().clone(),
        "interactions": pairs,
    }


def _external_pairs(dataset: Any, part: Any) -> Any:
    """The (user, item) pairs of one split part in external ids, as an (n, 2) int64 array."""
    import numpy as np

    users = np.asarray(dataset.field2id_token[dataset.uid_field][1:], dtype=np.int64)
    items = np.asarray(dataset.field2id_token[dataset.iid_field][1:], dtype=np.int64)
    inter = part.inter_feat
    u = inter[dataset.uid_field].numpy().astype(np.int64)
    i = inter[dataset.iid_field].numpy().astype(np.int64)
    return np.stack([users[u - 1], items[i - 1]], axis=1)


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

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = tqdm(total=total, desc="BPR epochs", unit="ep", disable=not enabled)
        self.best = float("-inf")

    def __call__(self, epoch_idx: int, valid_score: float) -> None:
        self.best = max(self.best, float(valid_score))
        self.bar.update(1)
        self.bar.set_postfix(valid_ndcg=f"{valid_score:.4f}", best=f"{self.best:.4f}")

    def close(self) -> None:
        self.bar.total = self.bar.n  # early stopping: show the run as complete
        self.bar.refresh()
        self.bar.close()


def train_bpr(
    settings: Settings,
    *,
    overrides: Mapping[str, Any] | None = None,
    show_progress: bool = True,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Train BPR, evaluate it and Pop on the test split, write ``bpr.pth`` + ``metrics.json``.

    ``overrides`` are RecBole config keys that beat the YAML (e.g. ``{"epochs": 20}``);
    ``threads`` is torch's intra-op thread count while training (None: unchanged).
    Returns the metrics dict that is also written to ``metrics.json``.
    """
    rb = compat.import_recbole()
    out_dir = settings.checkpoint_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    config = _rb_config(settings, "BPR", overrides)
    if int(config["epochs"]) < 1:
        raise InvalidArgumentError(f"epochs must be at least 1, got {config['epochs']}.")

    with (
        compat.capture_recbole_logs(out_dir / "logs" / f"bpr-{stamp}.log") as logger,
        compat.redirect_tensorboard(out_dir / "tensorboard" / f"bpr-{stamp}"),
        compat.quiet_recbole_warnings(),
        _torch_threads(threads),
    ):
        logger.info(f"recagents: training BPR with config {settings.bpr_config}")
        logger.info(str(config))
        dataset, splits = _prepare_splits(config)
        train_data, valid_data, test_data = splits
        rb.init_seed(config["seed"], config["reproducibility"])
        model = rb.get_model("BPR")(config, train_data._dataset).to(config["device"])
        trainer = rb.get_trainer(config["MODEL_TYPE"], "BPR")(config, model)
        trainer.saved_model_file = str(out_dir / "recbole" / "BPR-best.pth")

        bar = _EpochBar(int(config["epochs"]), show_progress)
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
        test_result = trainer.evaluate(test_data, load_best_model=False)
        trainer.tensorboard.close()
        popularity = evaluate_popularity(settings, overrides=overrides, splits=splits)

    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    metrics = {
        "model": "BPR",
        "valid": _metrics(best_valid),
        "test": _metrics(test_result),
        "best_epoch": int(best["epoch"]),
        "epochs_run": len(trainer.train_loss_dict),
        "train_seconds": round(train_seconds, 2),
        "config": {key: _plain(config[key]) for key in CONFIG_KEYS},
        "popularity_test": popularity["test"],
        "popularity_valid": popularity["valid"],
        "n_users": int(dataset.user_num - 1),
        "n_items": int(dataset.item_num - 1),
        "checkpoint": str(checkpoint_path(settings)),
        "trained_at": trained_at,
    }
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": "BPR",
        "trained_at": trained_at,
        "best_epoch": metrics["best_epoch"],
        **_export(model, dataset),
    }
    _atomic_write_bytes(checkpoint_path(settings), lambda fh: torch.save(state, fh))
    split = Split(
        *(_external_pairs(dataset, loader._dataset) for loader in splits), trained_at=trained_at
    )
    split.save(split_path(settings))
    metrics["split"] = split.counts()
    payload = (json.dumps(metrics, indent=2) + "\n").encode("utf-8")
    _atomic_write_bytes(metrics_path(settings), lambda fh: fh.write(payload))
    return metrics
