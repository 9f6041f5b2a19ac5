"""The only place that knows RecBole 1.2.1's quirks on this stack.

RecBole 1.2.1 predates numpy 2 and torch >= 2.6 and assumes it owns the process: it reads
``--key=value`` from ``sys.argv``, sets ``CUDA_VISIBLE_DEVICES`` and writes ``log/`` and
``log_tensorboard/`` into the working directory. Everything else in recagents reaches RecBole
through :func:`import_recbole`, :func:`build_config`, :func:`redirect_tensorboard` and
:func:`load_recbole_checkpoint`, so nothing in site-packages needs editing.

``recbole.quick_start`` is never imported: it imports ray, which is not installed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

# numpy 2 removed these aliases; RecBole's own Config.compatibility_settings reads
# np.float_/np.complex_/np.unicode_ and its metrics use np.float/np.bool/np.long. A Config
# unpickled from a checkpoint skips RecBole's alias code, so they are restored at import.
_NUMPY_ALIASES = {
    "float_": "float64",
    "complex_": "complex128",
    "unicode_": "str_",
    "bool8": "bool_",
    "float": "float64",
    "int": "int_",
    "bool": "bool_",
    "object": "object_",
    "str": "str_",
    "complex": "complex128",
    "long": "int_",
    "unicode": "str_",
}


def restore_numpy_aliases() -> None:
    """Give numpy 2 back the aliases RecBole 1.2.1 uses (idempotent, no-op on numpy 1)."""
    for alias, target in _NUMPY_ALIASES.items():
        if alias not in np.__dict__:
            setattr(np, alias, getattr(np, target))


def restore_dok_update() -> None:
    """Give scipy's ``dok_matrix`` back ``_update`` (a bulk dict update, removed in scipy 1.12),
    which RecBole 1.2.1's graph models (LightGCN, NGCF, GCMC, NCL, SpectralCF) call to build
    their adjacency matrix. Idempotent; no-op where scipy still has it."""
    import scipy.sparse as sp

    if hasattr(sp.dok_matrix, "_update"):
        return

    def _update(self: Any, data: Mapping[Any, Any]) -> None:
        self._dict.update(data)

    sp.dok_matrix._update = _update


_recbole: SimpleNamespace | None = None


def import_recbole() -> SimpleNamespace:
    """Import the RecBole parts recagents uses, after the numpy shims; cached.

    Returns a namespace with ``Config, Interaction, create_dataset, data_preparation,
    get_model, get_trainer, init_seed, set_color``.
    """
    global _recbole
    if _recbole is None:
        restore_numpy_aliases()
        restore_dok_update()
        from recbole.config import Config
        from recbole.data import create_dataset, data_preparation
        from recbole.data.interaction import Interaction
        from recbole.utils import get_model, get_trainer, init_seed, set_color

        _recbole = SimpleNamespace(
            Config=Config,
            Interaction=Interaction,
            create_dataset=create_dataset,
            data_preparation=data_preparation,
            get_model=get_model,
            get_trainer=get_trainer,
            init_seed=init_seed,
            set_color=set_color,
        )
    return _recbole


@contextmanager
def argv_guard() -> Iterator[None]:
    """Hide the process's command-line arguments from RecBole while a Config is built.

    RecBole parses every ``--key=value`` in ``sys.argv`` into its config (pytest's and the
    CLI's flags included), and command-line values beat ``config_dict``.
    """
    saved = sys.argv
    sys.argv = saved[:1] if saved else ["recagents"]
    try:
        yield
    finally:
        sys.argv = saved


def build_config(
    model: str,
    config_files: Path | str | Sequence[Path | str],
    config_dict: Mapping[str, Any] | None = None,
) -> Any:
    """A RecBole ``Config`` from YAML files (later ones win) plus overrides, without side
    effects.

    ``sys.argv`` is hidden and ``CUDA_VISIBLE_DEVICES`` (which RecBole overwrites with its
    ``gpu_id``) is restored afterwards, so building a config changes nothing process-wide.
    """
    rb = import_recbole()
    saved_cuda = os.environ.get("CUDA_VISIBLE_DEVICES")
    try:
        with argv_guard():
            return rb.Config(
                model=model,
                config_file_list=[
                    str(f)
                    for f in (
                        [config_files] if isinstance(config_files, Path | str) else config_files
                    )
                ],
                config_dict=dict(config_dict or {}),
            )
    finally:
        if saved_cuda is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = saved_cuda


@contextmanager
def redirect_tensorboard(log_dir: Path) -> Iterator[None]:
    """Make RecBole trainers write their TensorBoard events into ``log_dir``.

    RecBole's ``get_tensorboard`` hard-codes ``./log_tensorboard``; trainers import it by
    name, so the name in ``recbole.trainer.trainer`` is swapped for the duration.
    """
    import_recbole()
    import recbole.trainer.trainer as trainer_module
    from torch.utils.tensorboard import SummaryWriter

    original = trainer_module.get_tensorboard

    def _writer(_logger: Any) -> Any:
        return SummaryWriter(str(log_dir))

    trainer_module.get_tensorboard = _writer
    try:
        yield
    finally:
        trainer_module.get_tensorboard = original


def load_recbole_checkpoint(path: Path | str) -> dict[str, Any]:
    """Load a checkpoint written by a RecBole trainer (it pickles its Config).

    torch >= 2.6 defaults to ``weights_only=True``, which refuses the pickled Config; these
    files are our own, written moments earlier by the trainer, so full unpickling is safe.
    """
    import torch

    restore_numpy_aliases()
    return torch.load(str(path), map_location="cpu", weights_only=False)


_ANSI = re.compile(r"\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])")


class _StripColor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _ANSI.sub("", str(record.msg))
        return True


class _NotFromRecBole(logging.Filter):
    """Keeps RecBole's records (it logs through the root logger itself) off other handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" or record.name.startswith("recbole"))


@contextmanager
def capture_recbole_logs(log_file: Path) -> Iterator[logging.Logger]:
    """Send RecBole's log lines (it logs to the root logger) into ``log_file`` only.

    Replaces RecBole's ``init_logger``, which hard-codes ``./log/`` and installs handlers on
    the root logger for good. The handlers already on the root logger (the CLI's stderr
    handler, a host's) get a filter for the duration, so RecBole's per-epoch INFO lines reach
    the file and not the terminal; everything else still reaches them. Handler, filters and
    level are removed/restored on exit.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s  %(message)s"))
    handler.addFilter(_StripColor())
    others = list(root.handlers)
    muzzle = _NotFromRecBole()
    for other in others:
        other.addFilter(muzzle)
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(min(saved_level, logging.INFO) if saved_level else logging.INFO)
    try:
        yield root
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        for other in others:
            other.removeFilter(muzzle)
        handler.close()


def set_exact_pop_counts(pop_model: Any, train_dataset: Any) -> None:
    """Give RecBole's ``Pop`` the true item counts of the training split.

    RecBole 1.2.1's ``Pop.calculate_loss`` does ``item_cnt[item] = item_cnt[item] + 1`` with
    fancy indexing, so an item seen k times in one batch is counted once: the popular items
    saturate at the number of batches and the ranking depends on the shuffle. The counts are
    recomputed from the split itself, which is what Pop is meant to rank by.
    """
    import torch

    items = train_dataset.inter_feat[train_dataset.iid_field].long()
    counts = torch.bincount(items, minlength=pop_model.n_items).view(-1, 1)
    pop_model.item_cnt = counts.to(pop_model.item_cnt.device)
    pop_model.max_cnt = counts.max(dim=0)[0]


@contextmanager
def quiet_recbole_warnings() -> Iterator[None]:
    """Silence RecBole's FutureWarnings about pandas/torch APIs (harmless on pandas 2.x)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"recbole(\.|$)")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"recbole(\.|$)")
        yield
