"""Shared plotting for the bench scripts: grouped bars saved as bench/out/<name>.png (Agg backend).

The scripts run as ``.venv/bin/python bench/X.py``, so this folder is on ``sys.path`` and they
import it as ``from plots import ...``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT_DIR = Path(__file__).resolve().parent / "out"


def grouped_bars(
    ax,
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    unit: str,
    horizontal: bool = False,
    goals: dict[str, float] | None = None,
    annotate: bool = True,
) -> None:
    """One group per label, one bar per series; ``goals`` draws labelled reference lines."""
    width = 0.8 / max(1, len(series))
    positions = range(len(labels))
    for i, (name, values) in enumerate(series.items()):
        offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
        draw = ax.barh if horizontal else ax.bar
        bars = draw(offsets, list(values), width, label=name)
        if annotate:
            ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=2)
    for (name, value), style in zip((goals or {}).items(), ("--", ":", "-."), strict=False):
        line = ax.axvline if horizontal else ax.axhline
        line(value, color="grey", linestyle=style, linewidth=1, label=name)
    ticks = ax.set_yticks if horizontal else ax.set_xticks
    if not horizontal:  # long labels under narrow groups: wrap instead of overlapping
        labels = [textwrap.fill(label, 16) for label in labels]
    ticks(list(positions), list(labels), fontsize=8)
    (ax.set_xlabel if horizontal else ax.set_ylabel)(unit)
    if horizontal:
        ax.invert_yaxis()  # first label on top
        ax.margins(x=0.15)
    else:
        ax.margins(y=0.15)
    if len(series) > 1 or goals:
        ax.legend(fontsize=8)


def subplots(ncols: int = 1, *, figsize: tuple[float, float] = (6, 3.5)):
    """A figure with ``ncols`` axes side by side (always returns a list of axes)."""
    fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return fig, list(axes[0])


def save(fig, name: str) -> Path:
    """Save ``fig`` as bench/out/<name>.png, close it and return the path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
