"""The REST API under load, on loopback, against real uvicorn servers (one subprocess each).

1. Throughput: requests/s of ``GET /items/{id}`` and ``POST /recommend?llm=false`` (known
   users, BPR retrieval) against a bare FastAPI hello endpoint measured in the same run, from a
   bounded load generator (httpx async client, ``--concurrency`` requests in flight, ``--seconds``
   per endpoint after a warm-up). Goal: each ≥ 50 % of bare.
2. The LLM: p50/p95 of ``POST /recommend`` through the ARAG agents with the embedded model
   (``--model``, ``--llm-requests`` sequential requests of ``--limit`` items for known users,
   candidate pool ``--pool``, ``RECAGENTS_LLM_TIMEOUT_S`` = ``--llm-timeout``).
3. Non-blocking: ``GET /items/{id}`` latency while idle and while an LLM request is in flight.

Printed, saved to bench/out/api.json and bench/out/api.png (``--name``); nothing is asserted.

    .venv/bin/python bench/bench_api.py                                   # 0.5B, 3 LLM requests
    .venv/bin/python bench/bench_api.py --model qwen2.5-coder-1.5b --llm-requests 2
    .venv/bin/python bench/bench_api.py --skip-llm                       # throughput only
    .venv/bin/python bench/bench_api.py --skip-llm --skip-bare --only-recommend \
        --concurrency 20 --seconds 300 --name api-load   # 5 minutes at 20 clients, server RSS
Needs the built stores (`recagents setup`); the API server runs with chat=False.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path

import httpx
from plots import OUT_DIR, grouped_bars, plt

USERS = range(1, 944)
ITEMS = range(1, 1683)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


# --- the servers (subprocesses of this script) --------------------------------------------------
def build_app(kind: str):
    """The app one server subprocess serves: ``bare`` (FastAPI + one hello route) or ``api``."""
    if kind == "bare":
        from fastapi import FastAPI

        bare = FastAPI()

        @bare.get("/hello")
        async def hello() -> dict:
            return {"hello": "world"}

        return bare
    from recagents.settings import get_settings
    from recagents.web.host import create_app

    model = os.environ.get("BENCH_MODEL") or None
    app = create_app(get_settings(), chat=False, warm_llm=bool(model), model=model)
    if pool := os.environ.get("BENCH_POOL"):
        from recagents.agents import AgentsConfig

        config = AgentsConfig.load(get_settings())
        retrieval = config.retrieval.model_copy(update={"pool_size": int(pool)})
        app.state.agents_config = config.model_copy(update={"retrieval": retrieval})
    return app


def serve(kind: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(kind), host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind: str, *, model: str | None = None, pool: int | None = None, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **env, "BENCH_MODEL": model or "", "BENCH_POOL": str(pool or "")}
        cmd = [sys.executable, __file__, "--serve", kind, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=env)
        self.ready_path = "/hello" if kind == "bare" else "/healthz"

    def wait(self, timeout_s: float = 120.0, llm: bool = False) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode})")
            try:
                r = httpx.get(self.url + self.ready_path, timeout=2)
                llm_ok = not llm or r.json()["components"]["llm"]["status"] == "ok"
                if r.status_code == 200 and llm_ok:
                    return
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.5)
        raise SystemExit(f"the server at {self.url} was not ready within {timeout_s:.0f} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# --- the load generator -------------------------------------------------------------------------
def request_for(name: str, rng: random.Random) -> tuple[str, str, dict | None]:
    if name == "bare hello":
        return "GET", "/hello", None
    if name == "GET /items/{id}":
        return "GET", f"/items/{rng.choice(ITEMS)}", None
    return "POST", "/recommend?llm=false", {"user_id": rng.choice(USERS), "limit": 10}


async def load(url: str, name: str, seconds: float, concurrency: int, warmup: float) -> dict:
    """``concurrency`` workers send back-to-back requests for ``warmup + seconds``; only the
    last ``seconds`` count."""
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def worker() -> None:
            nonlocal errors
            while (now := time.perf_counter()) < stop_at:
                method, path, body = request_for(name, rng)
                r = await client.request(method, path, json=body)
                done = time.perf_counter()
                if now >= measure_from:
                    latencies.append(done - now)
                    errors += r.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": 1000 * pct(latencies, 50),
        "p95_ms": 1000 * pct(latencies, 95),
        "requests": len(latencies),
        "errors": errors,
    }


class MemorySampler:
    """The server's resident memory (MiB) every ``every`` seconds, in a thread."""

    def __init__(self, pid: int, every: float) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            rss = self.proc.memory_info().rss / 2**20
            self.samples.append((round(time.perf_counter() - start, 1), round(rss, 1)))
            self._stop.wait(self.every)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def throughput(args) -> dict:
    results = {}
    api_names = ["GET /items/{id}", "POST /recommend?llm=false"]
    if args.only_recommend:
        api_names = ["POST /recommend?llm=false"]
    plan = (
        [("api", api_names)] if args.skip_bare else [("bare", ["bare hello"]), ("api", api_names)]
    )
    for kind, names in plan:
        server = Server(kind)
        try:
            server.wait()
            for name in names:
                sampler = (
                    MemorySampler(server.proc.pid, args.memory_every) if kind == "api" else None
                )
                with sampler or nullcontext():
                    r = asyncio.run(load(server.url, name, args.seconds, args.concurrency, 1.0))
                if sampler is not None:
                    r["memory_mib"] = sampler.samples
                    mem = [m for _, m in sampler.samples]
                    print(
                        f"  server RSS: start {mem[0]:.0f} MiB, after 1/4 {mem[len(mem) // 4]:.0f},"
                        f" 1/2 {mem[len(mem) // 2]:.0f}, 3/4 {mem[3 * len(mem) // 4]:.0f}, "
                        f"end {mem[-1]:.0f}, max {max(mem):.0f} ({len(mem)} samples)"
                    )
                results[name] = r
                print(
                    f"{name:<22} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
                    f"p95 {r['p95_ms']:6.1f} ms  ({r['requests']} requests, {r['errors']} errors)"
                )
        finally:
            server.stop()
    if "bare hello" in results:
        bare = results["bare hello"]["rps"]
        for name in api_names:
            results[name]["vs_bare"] = results[name]["rps"] / bare
            print(f"{name}: {100 * results[name]['vs_bare']:.0f} % of bare (goal ≥ 50 %)")
    return results


# --- the LLM ---------------------------------------------------------------------------------------
def items_latency(url: str, seconds: float, rng: random.Random, stop=None) -> list[float]:
    out = []
    end = time.perf_counter() + seconds
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.perf_counter() < end and not (stop and stop()):
            t0 = time.perf_counter()
            client.get(f"/items/{rng.choice(ITEMS)}").raise_for_status()
            out.append(time.perf_counter() - t0)
            time.sleep(0.05)
    return out


def with_llm(args) -> dict:
    server = Server(
        "api", model=args.model, pool=args.pool, RECAGENTS_LLM_TIMEOUT_S=str(args.llm_timeout)
    )
    rng = random.Random(11)
    try:
        server.wait(timeout_s=600, llm=True)
        idle = items_latency(server.url, 3.0, rng)
        seconds, statuses, during = [], [], []
        with httpx.Client(base_url=server.url, timeout=3600) as client:
            for n in range(args.llm_requests):
                body = {"user_id": rng.choice(USERS), "limit": args.limit}
                box: dict = {}

                def send(body=body, box=box) -> None:
                    t0 = time.perf_counter()
                    box["r"] = client.post("/recommend", json=body)
                    box["s"] = time.perf_counter() - t0

                worker = threading.Thread(target=send)
                worker.start()
                time.sleep(0.5)  # the request is in the LLM's hands
                during += items_latency(
                    server.url, 3600, rng, stop=lambda w=worker: not w.is_alive()
                )
                worker.join()
                statuses.append(box["r"].status_code)
                seconds.append(box["s"])
                usage = box["r"].json().get("usage", {}) if box["r"].status_code == 200 else {}
                print(
                    f"LLM request {n + 1}/{args.llm_requests}: HTTP {box['r'].status_code}, "
                    f"{box['s']:.1f} s, {usage.get('llm_calls')} LLM calls, "
                    f"{usage.get('tokens_in')} tokens in / {usage.get('tokens_out')} out"
                )
    finally:
        server.stop()
    result = {
        "model": args.model,
        "pool": args.pool,
        "limit": args.limit,
        "requests": len(seconds),
        "statuses": statuses,
        "p50_s": pct(seconds, 50),
        "p95_s": pct(seconds, 95),
        "items_idle_p50_ms": 1000 * pct(idle, 50),
        "items_idle_p95_ms": 1000 * pct(idle, 95),
        "items_during_llm_p50_ms": 1000 * pct(during, 50),
        "items_during_llm_p95_ms": 1000 * pct(during, 95),
        "items_during_llm_max_ms": 1000 * max(during, default=float("nan")),
        "items_during_llm_n": len(during),
    }
    print(
        f"/recommend with {args.model} (pool {args.pool}): p50 {result['p50_s']:.1f} s, "
        f"p95 {result['p95_s']:.1f} s over {len(seconds)} requests\n"
        f"GET /items/{{id}} idle p50 {result['items_idle_p50_ms']:.1f} ms / p95 "
        f"{result['items_idle_p95_ms']:.1f} ms; during the LLM request p50 "
        f"{result['items_during_llm_p50_ms']:.1f} ms / p95 {result['items_during_llm_p95_ms']:.1f}"
        f" ms / max {result['items_during_llm_max_ms']:.1f} ms ({len(during)} requests)"
    )
    return result


def plot(report: dict, name: str) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    tp = report["throughput"]
    grouped_bars(axes[0], list(tp), {"req/s": [r["rps"] for r in tp.values()]}, unit="req/s")
    axes[0].set_title(f"Throughput, {report['concurrency']} in flight (loopback, uvicorn)")
    if llm := report.get("llm"):
        labels = ["idle", "LLM request in flight"]
        series = {
            "p50": [llm["items_idle_p50_ms"], llm["items_during_llm_p50_ms"]],
            "p95": [llm["items_idle_p95_ms"], llm["items_during_llm_p95_ms"]],
        }
        grouped_bars(axes[1], labels, series, unit="ms")
        axes[1].set_title(
            f"GET /items/{{id}} latency (ms); /recommend with {llm['model']}: "
            f"p50 {llm['p50_s']:.0f} s",
            fontsize=9,
        )
    else:
        axes[1].axis("off")
    fig.tight_layout()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.png"
    fig.savefig(path, dpi=120)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--serve", choices=["bare", "api"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=5.0, help="Measured seconds per endpoint.")
    ap.add_argument("--concurrency", type=int, default=8, help="Requests in flight.")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b", help="Embedded model for part 2.")
    ap.add_argument("--llm-requests", type=int, default=3, help="Sequential LLM requests.")
    ap.add_argument("--pool", type=int, default=8, help="ARAG candidate pool for part 2.")
    ap.add_argument("--limit", type=int, default=3, help="Items per LLM request.")
    ap.add_argument(
        "--llm-timeout", type=float, default=600.0, help="RECAGENTS_LLM_TIMEOUT_S of part 2."
    )
    ap.add_argument("--skip-llm", action="store_true", help="Throughput only.")
    ap.add_argument("--skip-bare", action="store_true", help="No bare FastAPI baseline.")
    ap.add_argument(
        "--only-recommend", action="store_true", help="Throughput of POST /recommend only."
    )
    ap.add_argument("--memory-every", type=float, default=5.0, help="Server RSS sample period (s).")
    ap.add_argument("--name", default="api", help="Output files bench/out/NAME.json|png.")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    report: dict = {"concurrency": args.concurrency, "seconds": args.seconds}
    report["throughput"] = throughput(args)
    if not args.skip_llm:
        report["llm"] = with_llm(args)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{args.name}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"saved {OUT_DIR / (args.name + '.json')} and {plot(report, args.name)}")


if __name__ == "__main__":
    main()
