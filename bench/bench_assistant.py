"""The assistant on the peer project's 50 tool-use queries, in plan mode, per local model.

A thin wrapper over ``recagents.eval.tool_use`` (the same run as ``recagents eval tools``; the
metrics are documented in ``recagents.eval.tool_use_metrics``): for each query of
../shared/data/recsys-agent-eval (easy + medium + hard) a fresh thread runs the plan and its
execution (the answer writer only for the first ``--full`` queries). Recommendations use the engine
alone (``--via agents`` for the agents; their cost is measured by bench_arag.py). Printed and
saved (bench/out/assistant.json, assistant_quality.png); nothing is asserted.

    .venv/bin/python bench/bench_assistant.py                       # 1.5B and 0.5B, 50 queries
    .venv/bin/python bench/bench_assistant.py --models qwen2.5-coder-0.5b --limit 10
Needs the built stores (`recagents setup` with the enrichment) and the weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recagents.eval.tool_use import (
    DEFAULT_MODELS,
    DEFAULT_SUITE,
    mismatches,
    plot_quality,
    run_tool_use,
    table,
)
from recagents.settings import get_settings
from recagents.vocabulary import RECOMMEND_PATHS

OUT_DIR = Path(__file__).resolve().parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--limit", type=int, default=None, help="First N queries only.")
    parser.add_argument("--full", type=int, default=0, help="First N queries with the answer.")
    parser.add_argument("--via", choices=RECOMMEND_PATHS, default="engine")
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    args = parser.parse_args()
    if not args.suite.is_dir():
        sys.exit(f"the peer suite is not at {args.suite} (../shared/data/recsys-agent-eval)")
    report = run_tool_use(
        get_settings(), args.suite, args.models, mode="plan", recommend_via=args.via,
        limit=args.limit, full=args.full,
    )  # fmt: skip
    results = report["models"]
    print("\n" + table(results))
    print(mismatches(results))
    out = OUT_DIR / "assistant.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"saved: {out}")
    print(f"plot: {plot_quality(results, OUT_DIR / 'assistant_quality.png')}")


if __name__ == "__main__":
    main()
