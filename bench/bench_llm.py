"""Local LLM speed: a ~650-token ranking prompt → a ~150-token JSON answer (schema-constrained).

For each embedded model: start the managed xllamacpp server, run the request ``--repeat`` times
(each with a different first line, so llama.cpp's prompt cache cannot skip the prompt), and print
prompt tokens/s (prompt tokens / time to first token), generation tokens/s (later tokens / rest
of the request) and latency. Figures only; nothing is asserted.

    .venv/bin/python bench/bench_llm.py                       # 0.5B and 1.5B, 2 threads
    .venv/bin/python bench/bench_llm.py --models qwen2.5-coder-0.5b --threads 1 2
    RECAGENTS_DATA_DIR=/tmp/x .venv/bin/python bench/bench_llm.py   # models under /tmp/x/models
The 1.5B needs `scripts/install.sh --llm` (pyproject's `llm` extra).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time

from pydantic import BaseModel, Field

from recagents.llm.factory import make_chat_model
from recagents.llm.structured import constrain_ids, structured_call
from recagents.settings import Settings

MOVIES = [
    (1, "Toy Story (1995)", "Animation, Children's, Comedy", "toys come alive when people leave"),
    (50, "Star Wars (1977)", "Action, Adventure, Sci-Fi", "a farm boy joins a rebellion"),
    (56, "Pulp Fiction (1994)", "Crime, Drama", "interlocking tales of Los Angeles criminals"),
    (82, "Jurassic Park (1993)", "Action, Adventure, Sci-Fi", "cloned dinosaurs escape a park"),
    (89, "Blade Runner (1982)", "Film-Noir, Sci-Fi", "a detective hunts rogue androids"),
    (98, "The Silence of the Lambs (1991)", "Drama, Thriller", "an FBI trainee meets a killer"),
    (100, "Fargo (1996)", "Crime, Drama, Thriller", "a botched kidnapping in Minnesota"),
    (127, "The Godfather (1972)", "Action, Crime, Drama", "a crime family's heir takes over"),
    (183, "Alien (1979)", "Action, Horror, Sci-Fi, Thriller", "a crew is stalked by a creature"),
    (204, "Back to the Future (1985)", "Comedy, Sci-Fi", "a teenager travels back to 1955"),
    (313, "Titanic (1997)", "Action, Drama, Romance", "a romance aboard the doomed liner"),
]
HISTORY = "Alien (5/5), Blade Runner (5/5), 2001: A Space Odyssey (4/5), Titanic (2/5), Fargo (3/5)"


class Pick(BaseModel):
    item_id: int = Field(description="id of a candidate movie")
    reason: str = Field(description="why it fits the user, at most 10 words")


class Ranking(BaseModel):
    """The three best candidates for the user, best first."""

    picks: list[Pick] = Field(min_length=3, max_length=3)


def build_messages(nonce: int) -> list[tuple[str, str]]:
    lines = "\n".join(f"- id {i}: {t} [{g}] {p}." for i, t, g, p in MOVIES)
    system = (
        f"Session {nonce}. You are the ranking step of a movie recommender. You receive the "
        "user's rating history and a list of candidate movies with ids, genres and plots. Rank "
        "the candidates for this user and return exactly three picks, best first. Use only ids "
        "from the candidate list; never invent an id. Prefer movies close to the user's highly "
        "rated ones in genre and tone, avoid those similar to low-rated ones, and keep each "
        "reason short and specific to the user's history."
    )
    user = (
        f"Rating history: {HISTORY}.\n"
        "The user says: I want something smart and atmospheric, ideally science fiction, not "
        "a children's film and not a romance.\n"
        f"Candidates:\n{lines}\n"
        "Return the three best picks."
    )
    return [("system", system), ("user", user)]


def bench_model(settings: Settings, model: str, repeat: int) -> list[dict]:
    t0 = time.perf_counter()
    handle = make_chat_model(settings, provider="local", model=model)
    startup = time.perf_counter() - t0
    schema = constrain_ids(Ranking, [m[0] for m in MOVIES])
    rows = []
    for n in range(repeat):
        result = structured_call(handle, schema, build_messages(n), stream=True)
        call = result.usage.per_call[-1]  # the last (valid) attempt
        ttft = call.first_token_s or float("nan")
        rows.append(
            {
                "model": model,
                "threads": settings.local_threads,
                "startup_s": startup,
                "prompt_tokens": call.input_tokens,
                "output_tokens": call.output_tokens,
                "prompt_tps": call.input_tokens / ttft,
                "gen_tps": (call.output_tokens - 1) / max(1e-9, call.latency_s - ttft),
                "latency_s": result.usage.llm_wall_seconds,
                "attempts": result.attempts,
            }
        )
        print(f"  {model} t={settings.local_threads} run {n + 1}: {rows[-1]}", file=sys.stderr)
    handle.server.stop()
    return rows


def plot(medians: dict[str, dict]):
    from plots import grouped_bars, save, subplots

    fig, axes = subplots(3, figsize=(11, 3.5))
    panels = [
        ("prompt_tps", "prompt tok/s"),
        ("gen_tps", "generation tok/s"),
        ("latency_s", "latency s (whole request)"),
    ]
    for ax, (key, unit) in zip(axes, panels, strict=True):
        grouped_bars(ax, list(medians), {unit: [m[key] for m in medians.values()]}, unit=unit)
        ax.set_title(f"{unit}, median", fontsize=9)
    return save(fig, "llm_speed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
    ap.add_argument("--threads", nargs="+", type=int, default=[None])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    base = Settings()
    results = []
    for model in args.models:
        for threads in args.threads:
            settings = base.model_copy(update={"local_threads": threads or base.local_threads})
            results.extend(bench_model(settings, model, args.repeat))
    header = (
        f"{'model':<20} {'thr':>3} {'start s':>7} {'prompt tok':>10} {'out tok':>7} "
        f"{'prompt tok/s':>12} {'gen tok/s':>9} {'latency s':>9} {'tries':>5}"
    )
    print(header)
    print("-" * len(header))
    medians = {}
    keys = sorted({(r["model"], r["threads"]) for r in results}, key=lambda k: (k[0], k[1]))
    for model, threads in keys:
        rows = [r for r in results if r["model"] == model and r["threads"] == threads]
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k not in ("model",)}
        medians[f"{model.removeprefix('qwen2.5-coder-')}\n{threads} threads"] = med
        print(
            f"{model:<20} {threads:>3} {med['startup_s']:>7.1f} {med['prompt_tokens']:>10.0f} "
            f"{med['output_tokens']:>7.0f} {med['prompt_tps']:>12.1f} {med['gen_tps']:>9.1f} "
            f"{med['latency_s']:>9.1f} {med['attempts']:>5.0f}"
        )
    print(f"(median of {args.repeat} runs; load average {os.getloadavg()[0]:.1f})")
    print(f"plot: {plot(medians)}")


if __name__ == "__main__":
    main()
