"""Setup time per step on a fresh data dir (full BPR schedule, full catalog embedding).

    .venv/bin/python bench/bench_setup.py [--database-url URL] [--enrichment PATH]

Prints a table of step → seconds, then the same for a second (idempotent) run, and saves a bar
plot to bench/out/setup_steps.png.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from recagents.build import run_setup
from recagents.settings import PROJECT_ROOT, Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    shared = PROJECT_ROOT.parent / "shared/data/ml-100k/final_ml-100k.csv"
    parser.add_argument(
        "--enrichment",
        default=str(shared) if shared.is_file() else None,
        help="final_ml-100k.csv (default: ../shared's copy, else setup's own cache/download)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=args.database_url,
            enrichment_path=args.enrichment,
            _env_file=None,
        )
        runs = []
        for label in ("fresh", "re-run"):
            start = time.perf_counter()
            report = run_setup(settings)
            runs.append((label, report, time.perf_counter() - start))
    print(f"\n{'step':<12}" + "".join(f"{label:>12}" for label, _, _ in runs))
    for i, step in enumerate(runs[0][1].steps):
        print(f"{step.name:<12}" + "".join(f"{r.steps[i].seconds:>11.1f}s" for _, r, _ in runs))
    print(f"{'total':<12}" + "".join(f"{total:>11.1f}s" for _, _, total in runs))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = PROJECT_ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3))
    steps = runs[0][1].steps
    ax.barh([s.name for s in steps], [s.seconds for s in steps])
    ax.set_xlabel("seconds (fresh setup, 2 cores)")
    fig.tight_layout()
    fig.savefig(out / "setup_steps.png", dpi=120)
    print(f"plot: {out / 'setup_steps.png'}")


if __name__ == "__main__":
    main()
