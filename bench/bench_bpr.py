"""Train BPR on the full schedule and compare with RecBole's published ML-100k figures.

    .venv/bin/python bench/bench_bpr.py [--data-dir DIR] [--set key=JSON ...]

Without --data-dir it trains into a temporary folder (the repo's data/ is left alone).
Selection is on validation NDCG@10 (early stopping); the test split is only reported.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from recagents.recommender.train import train_bpr
from recagents.settings import Settings

PUBLISHED = {"ndcg@10": 0.292, "recall@10": 0.2523}  # RecBole results page, BPR on ml-100k
GOAL = {"ndcg@10": 0.29, "recall@10": 0.25, "train_seconds": 60.0}


def _override(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    if not key or not value:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def plot(test: dict, pop: dict, train_seconds: float):
    from plots import grouped_bars, save, subplots

    keys = ["ndcg@10", "recall@10"]
    fig, (ax,) = subplots(figsize=(6, 3.5))
    series = {
        f"our BPR ({train_seconds:.0f} s)": [test[k] for k in keys],
        "RecBole published": [PUBLISHED[k] for k in keys],
        "popularity": [pop[k] for k in keys],
    }
    grouped_bars(ax, ["NDCG@10", "Recall@10"], series, unit="test split, ML-100k")
    ax.set_title("BPR test quality vs published anchor and popularity", fontsize=9)
    return save(fig, "bpr_quality")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="where to write bpr/ (default: temp dir)")
    parser.add_argument(
        "--set",
        type=_override,
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="RecBole config override, e.g. --set weight_decay=1e-5",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-bpr-") as tmp:
        settings = Settings(data_dir=args.data_dir or Path(tmp))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        metrics = train_bpr(settings, overrides=dict(args.set) or None, show_progress=True)
        total_wall, total_cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    test, pop = metrics["test"], metrics["popularity_test"]
    per_epoch = metrics["train_seconds"] / max(1, metrics["epochs_run"])
    print(f"config: {settings.recbole_config}  overrides: {dict(args.set) or '-'}")
    print(
        f"{'metric':<12}{'BPR test':>10}{'published':>11}{'goal':>8}{'Pop test':>10}{'BPR valid':>11}"
    )
    for key in ("ndcg@10", "recall@10", "mrr@10", "hit@10", "precision@10"):
        published = f"{PUBLISHED[key]:.4f}" if key in PUBLISHED else "-"
        goal = f">={GOAL[key]:.2f}" if key in GOAL else "-"
        print(
            f"{key:<12}{test[key]:>10.4f}{published:>11}{goal:>8}{pop[key]:>10.4f}"
            f"{metrics['valid'][key]:>11.4f}"
        )
    print(
        f"best epoch {metrics['best_epoch']}, epochs run {metrics['epochs_run']}, "
        f"train {metrics['train_seconds']:.1f} s ({per_epoch:.2f} s/epoch, fit incl. validation), "
        f"whole run {total_wall:.1f} s wall / {total_cpu:.1f} s CPU"
    )
    met = all(test[k] >= GOAL[k] for k in ("ndcg@10", "recall@10"))
    fast = metrics["train_seconds"] <= GOAL["train_seconds"]
    print(
        f"goal (>=0.29 / >=0.25 in <=60 s): quality {'met' if met else 'NOT met'}, "
        f"time {'met' if fast else 'NOT met'}"
    )
    print(f"plot: {plot(test, pop, metrics['train_seconds'])}")
    print(
        json.dumps(
            {
                "test": test,
                "valid": metrics["valid"],
                "popularity_test": pop,
                "published": PUBLISHED,
                "best_epoch": metrics["best_epoch"],
                "epochs_run": metrics["epochs_run"],
                "train_seconds": metrics["train_seconds"],
                "seconds_per_epoch": round(per_epoch, 3),
                "run_wall_seconds": round(total_wall, 1),
                "run_cpu_seconds": round(total_cpu, 1),
                "config": metrics["config"],
            }
        )
    )


if __name__ == "__main__":
    main()
