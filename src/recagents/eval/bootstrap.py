"""Bootstrap confidence intervals over users (numpy, fixed seed).

Per-user metric values are resampled with replacement; the interval is the percentile interval
of the resampled means. One index matrix (``resample_indices``) is drawn per evaluation and
shared by every method and metric, so paired differences resample the same users together.

    idx = resample_indices(n_users, resamples=1000, seed=0)
    mean_ci(values, idx)           # {"mean", "lo", "hi"} of one method's per-user values
    paired_diff(a, b, idx)         # {"mean", "lo", "hi"} of a - b per user (same users, same order)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recagents.errors import InvalidArgumentError

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95


def resample_indices(n: int, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, n) user indices drawn with replacement; (resamples, 0) when n is 0."""
    if n < 0 or resamples < 1:
        raise InvalidArgumentError(f"need n >= 0 and resamples >= 1, got {n}, {resamples}")
    rng = np.random.default_rng(seed)
    return rng.integers(0, max(n, 1), size=(resamples, n), dtype=np.int64)


def _interval(
    values: Sequence[float] | np.ndarray, idx: np.ndarray, level: float
) -> dict[str, float | None]:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise InvalidArgumentError(f"per-user values must be 1-d, got shape {x.shape}")
    if x.size == 0:
        return {"mean": None, "lo": None, "hi": None}
    if idx.shape[1] != x.size:
        raise InvalidArgumentError(
            f"{x.size} per-user values but resample indices for {idx.shape[1]} users"
        )
    means = x[idx].mean(axis=1)
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {"mean": float(x.mean()), "lo": float(lo), "hi": float(hi)}


def mean_ci(
    values: Sequence[float] | np.ndarray, idx: np.ndarray, level: float = DEFAULT_LEVEL
) -> dict[str, float | None]:
    """The mean of ``values`` (one per user) and its bootstrap percentile interval."""
    return _interval(values, idx, level)


def paired_diff(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    idx: np.ndarray,
    level: float = DEFAULT_LEVEL,
) -> dict[str, float | None]:
    """Mean of ``a - b`` (per user, same users in the same order) with its bootstrap interval;
    ``significant``: the interval excludes 0."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise InvalidArgumentError(f"paired values need equal shapes, got {x.shape} and {y.shape}")
    out: dict = _interval(x - y, idx, level)
    out["significant"] = out["lo"] is not None and (out["lo"] > 0 or out["hi"] < 0)
    return out
