"""The chat in a real browser: page load, time to the first visible step, to the first streamed
answer token and to the full answer, per turn kind (recommendation through the ARAG agents, a
filter question, a metadata question), with the configured local model (default the 1.5B).

Starts the host process (`create_app`, the built stores in data/) on a free port, drives
headless Chromium with Playwright (a fresh chat per question), prints the figures and saves
bench/out/chat.json and bench/out/chat_latency.png. Nothing is asserted.

    .venv/bin/python bench/bench_chat.py                   # 1.5B, one turn per kind
    .venv/bin/python bench/bench_chat.py --model qwen2.5-coder-0.5b --repeat 2
Run it while nothing else computes (2 cores: the LLM server is the whole cost).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from plots import grouped_bars, save, subplots

ROOT = Path(__file__).resolve().parent.parent
TURNS = {  # kind -> question (not from the peer's benchmark suite)
    "recommendation": "Recommend some movies to user 4.",
    "filtered recommendation": "Recommend 3 horror movies to user 3.",
    "filter question": "Which dramas released in 1994 have an IMDb rating above 8?",
    "metadata question": "Who directed Fargo, and what is it about?",
}
LAUNCH = (
    "import sys, uvicorn\n"
    "from recagents.web.host import create_app\n"
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"
)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
FIRST_TEXT = """() => {
  const m = [...document.querySelectorAll('[data-step-type="assistant_message"]')];
  return m.length > 0 && m[m.length - 1].innerText.trim().length > 0;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_host(model: str | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RECAGENTS_LLM_TIMEOUT_S": "900", "HF_HUB_OFFLINE": "1"}
    if model:
        env["RECAGENTS_LOCAL_MODEL"] = model
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(port)], env=env, cwd=ROOT,
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(360):
        try:
            if httpx.get(f"{url}/chat/", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the host did not start: see {log}")


def one_turn(browser, url: str, question: str) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    started = time.perf_counter()
    page.goto(f"{url}/chat")
    page.wait_for_selector("#chat-input")
    load_s = time.perf_counter() - started
    page.fill("#chat-input", question)
    t0 = time.perf_counter()
    page.click("#chat-submit")
    page.wait_for_selector('[data-step-type="llm"], [data-step-type="tool"]', timeout=900_000)
    first_step = time.perf_counter() - t0
    page.wait_for_function(FIRST_TEXT, timeout=900_000, polling=100)
    first_token = time.perf_counter() - t0
    page.wait_for_function(
        "() => document.body.innerText.includes('LLM call')", timeout=900_000, polling=100
    )
    full = time.perf_counter() - t0
    page.close()
    return {"load_s": load_s, "first_step_s": first_step, "first_token_s": first_token,
            "full_s": full}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="local model (default: settings, 1.5B)")
    parser.add_argument("--repeat", type=int, default=1, help="turns per kind")
    parser.add_argument("--kinds", nargs="+", choices=list(TURNS), default=list(TURNS),
                        help="turn kinds to run (default all)")  # fmt: skip
    args = parser.parse_args()
    turns = {kind: TURNS[kind] for kind in args.kinds}
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    proc, url = start_host(args.model, out / "chat_host.log")
    from playwright.sync_api import sync_playwright

    rows: dict[str, list[dict]] = {kind: [] for kind in turns}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            one_turn(browser, url, "hello")  # warm: the LLM server loads its model
            for _ in range(args.repeat):
                for kind, question in turns.items():
                    rows[kind].append(one_turn(browser, url, question))
                    print(kind, {k: round(v, 2) for k, v in rows[kind][-1].items()}, flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(60)
    keys = ("first_step_s", "first_token_s", "full_s")
    summary = {
        kind: {k: round(statistics.median(r[k] for r in runs), 2) for k in ("load_s", *keys)}
        for kind, runs in rows.items()
    }
    model = args.model or "settings' local model (qwen2.5-coder-1.5b)"
    (out / "chat.json").write_text(json.dumps({"model": model, "median": summary, "runs": rows},
                                              indent=2))  # fmt: skip
    print(f"\nmodel: {model}; medians of {args.repeat} turn(s) per kind")
    print(f"{'turn kind':24} {'load':>6} {'1st step':>9} {'1st token':>10} {'full':>8}")
    for kind, s in summary.items():
        print(f"{kind:24} {s['load_s']:6.2f} {s['first_step_s']:9.1f} {s['first_token_s']:10.1f} "
              f"{s['full_s']:8.1f}")  # fmt: skip
    fig, (ax,) = subplots(figsize=(7, 3.8))
    grouped_bars(
        ax, list(summary),
        {"first step": [s["first_step_s"] for s in summary.values()],
         "first answer token": [s["first_token_s"] for s in summary.values()],
         "full answer": [s["full_s"] for s in summary.values()]},
        unit="seconds",
    )  # fmt: skip
    ax.set_title(f"chat latency per turn kind ({model})", fontsize=9)
    print(f"plot: {save(fig, 'chat_latency')}")


if __name__ == "__main__":
    main()
