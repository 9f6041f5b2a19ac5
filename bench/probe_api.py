"""Hostile-input probe of the REST API (issue 20): one real uvicorn server, request classes that
schemathesis does not generate, and per class how many requests were tried and how many failed.

A request FAILS when it gets a 5xx, a body that is not JSON, a success where a refusal is due,
or (per class) leaks what it must not: personal fields to a read token, paths or URLs on the
public ``/healthz``, a 422 that echoes a huge body. Nothing is asserted; the table is printed
and saved to ``bench/out/probe.json`` (``--name``).

    .venv/bin/python bench/probe_api.py                    # the checkout's code
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/probe_api.py --name probe-before

Needs the built stores (`recagents setup`). The server runs with ``RECAGENTS_API_TOKENS=read-tok``
and ``RECAGENTS_API_PERSONAL_TOKENS=personal-tok`` (an older build ignores the second), no chat,
and an LLM endpoint that refuses connections (nothing here may need an LLM).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

OUT_DIR = Path(__file__).resolve().parent / "out"
READ = {"Authorization": "Bearer read-tok"}
JSON = {"Content-Type": "application/json"}
BODY_ROUTES = [
    "/recommend?llm=false",
    "/recommend/user?llm=false",
    "/recommend/item?llm=false",
    "/users/1/recommend?llm=false",
    "/items/1/recommend?llm=false",
    "/chat",
]
PERSONAL = ("zip_code", "age", "gender", "occupation", "age_group")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "RECAGENTS_API_TOKENS": "read-tok",
        "RECAGENTS_API_PERSONAL_TOKENS": "personal-tok",
        # high enough for the probe's own pace; the profile limit (default 30/minute) stays
        "RECAGENTS_API_RATE_LIMIT": "100000/minute",
        "RECAGENTS_LLM_PROVIDER": "openai-compatible",
        "RECAGENTS_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "RECAGENTS_LLM_MAX_RETRIES": "0",
    }
    cmd = [sys.executable, "-m", "recagents", "serve", "--no-chat", "--no-warm-llm"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode})")
        try:
            if httpx.get(url + "/openapi.json", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start")


class Probe:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=60)
        self.tried: dict[str, int] = defaultdict(int)
        self.failed: dict[str, int] = defaultdict(int)
        self.examples: dict[str, list[str]] = defaultdict(list)

    def send(self, cls: str, method: str, path: str, *, content=None, headers=None, check=None):
        """One request; ``check(response, seconds)`` returns a failure reason or None (the
        defaults: no 5xx, a JSON body, a 4xx)."""
        headers = {**READ, **JSON, **(headers or {})}
        headers = {k: v for k, v in headers.items() if v is not None}
        self.tried[cls] += 1
        t0 = time.perf_counter()
        try:
            r = self.client.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            return self._fail(cls, method, path, f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - t0
        reason = None
        if r.status_code >= 500:
            reason = f"HTTP {r.status_code}"
        elif "json" not in r.headers.get("content-type", ""):
            reason = f"HTTP {r.status_code}, not JSON ({r.headers.get('content-type')})"
        elif check is not None:
            reason = check(r, seconds)
        elif not 400 <= r.status_code < 500:
            reason = f"HTTP {r.status_code} where a 4xx is due"
        if reason:
            self._fail(cls, method, path, reason)
        return r

    def _fail(self, cls: str, method: str, path: str, reason: str) -> None:
        self.failed[cls] += 1
        if len(self.examples[cls]) < 4:
            self.examples[cls].append(f"{method} {path}: {reason}")


def body_for(route: str, field: str, raw: str) -> str:
    """A body for ``route`` with ``field`` set to the raw JSON text ``raw``."""
    if route == "/chat":
        if field in ("text", "message"):
            return f'{{"message": {raw}}}'
        return f'{{"message": "hi", "{field}": {raw}}}'
    return f'{{"{field}": {raw}}}'


def run(url: str) -> Probe:
    p = Probe(url)
    # 1. NaN / Infinity literals (not JSON) in every number field
    for route in BODY_ROUTES:
        for literal in ("NaN", "Infinity", "-Infinity"):
            p.send("nan_infinity", "POST", route, content=body_for(route, "limit", literal))
    for literal in ("NaN", "Infinity"):
        history = '{"history": [{"item_id": 1, "event_value": %s}], "limit": 2}' % literal  # noqa: UP031
        p.send("nan_infinity", "POST", "/recommend?llm=false", content=history)
        cond = '{"limit": 2, "filters": {"imdb_rating": {"request": "higher", "threshold": %s}}}'
        p.send("nan_infinity", "POST", "/recommend?llm=false", content=cond % literal)
    # 2. lone surrogates in strings
    for route in BODY_ROUTES:
        for raw in ('"\\ud800"', '"abc\\udfff"', '"\\udc00\\ud800"'):
            p.send("lone_surrogate", "POST", route, content=body_for(route, "text", raw))
    p.send(
        "lone_surrogate",
        "POST",
        "/recommend?llm=false",
        content='{"limit": 2, "filters": {"actors": ["\\ud800"]}}',
    )
    # 3. ids that are not ASCII digits in range
    for raw in ('"\\u00b2"', '"\\u2460"', '"\\u0665\\u0660"', '"\\u0663"', '"' + "9" * 5000 + '"'):
        body = '{"history": [{"item_id": %s, "event_value": 5}], "limit": 2}' % raw  # noqa: UP031
        p.send("unicode_ids", "POST", "/recommend?llm=false", content=body)
        p.send("unicode_ids", "POST", "/recommend/item?llm=false", content=body)
        p.send("unicode_ids", "POST", "/recommend?llm=false", content='{"user_id": %s}' % raw)  # noqa: UP031
    for raw in ("true", "false", "1.0", '"1_0"', '" 1"', '"+1"', '"0x1"'):
        p.send("unicode_ids", "POST", "/recommend?llm=false", content='{"user_id": %s}' % raw)  # noqa: UP031
        p.send("unicode_ids", "POST", "/recommend/item?llm=false", content='{"item_id": %s}' % raw)  # noqa: UP031
    for path in ("1_0", "%C2%B2", "%E2%91%A0", "%D9%A5%D9%A0", "+1", "%201", "0x1", "9" * 5000):
        p.send("unicode_ids", "GET", f"/items/{path}")
        p.send("unicode_ids", "GET", f"/users/{path}")
        p.send("unicode_ids", "POST", f"/items/{path}/recommend?llm=false")
    # 4. huge integers
    for raw in ("1" + "0" * 30, "1" + "0" * 400, "9" * 5000):
        p.send("huge_ints", "POST", "/recommend?llm=false", content='{"limit": %s}' % raw)  # noqa: UP031
        p.send("huge_ints", "POST", "/recommend?llm=false", content='{"user_id": %s}' % raw)  # noqa: UP031
        body = '{"history": [{"item_id": %s, "event_value": 5}], "limit": 2}' % raw  # noqa: UP031
        p.send("huge_ints", "POST", "/recommend?llm=false", content=body)
        body = '{"history": [{"item_id": 1, "event_value": %s}], "limit": 2}' % raw  # noqa: UP031
        p.send("huge_ints", "POST", "/recommend?llm=false", content=body)
        p.send("huge_ints", "GET", f"/users/1?history_limit={raw}")
        p.send("huge_ints", "POST", f"/users/1/recommend?llm=false&limit={raw}")
    # 5. 2 MB bodies, with and without a token
    big = json.dumps({"text": "x" * (2 << 20), "limit": 2})
    big_list = json.dumps({"limit": 2, "history": [{"item_id": 1}] * 150_000})

    def small_refusal(r, _s):
        if r.status_code not in (401, 403, 413):
            return f"HTTP {r.status_code} where 413 (or 401 without a token) is due"
        if len(r.content) > 10_000:
            return f"a {len(r.content)}-byte answer"
        return None

    for route in BODY_ROUTES:
        p.send("big_body", "POST", route, content=big, check=small_refusal)
        p.send("big_body", "POST", route, content=big_list, check=small_refusal)
        no_token = {"Authorization": None}
        r = p.send("big_body", "POST", route, content=big, headers=no_token, check=small_refusal)
        if r is not None and r.status_code != 401:
            p._fail("big_body", "POST", route, f"no token: HTTP {r.status_code}, not 401")

    # 6. long name lists: bounded and fast
    def quick_refusal(r, seconds):
        if seconds > 2.0:
            return f"took {seconds:.1f} s"
        if not 400 <= r.status_code < 500:
            return f"HTTP {r.status_code}"
        return None

    for n in (10, 100, 1000):
        for role in ("actors", "directors", "writers"):
            names = [f"Nobody Person{i} Zzq" for i in range(n)]
            body = json.dumps({"limit": 2, "filters": {role: names}})
            p.send("name_lists", "POST", "/recommend?llm=false", content=body, check=quick_refusal)
    # 7. event value / datetime ranges
    for value in ("-5", "0", "6", "1e308", "false", "true", '"5"', '"NaN"'):
        body = '{"history": [{"item_id": 1, "event_value": %s}], "limit": 2}' % value  # noqa: UP031
        p.send("event_ranges", "POST", "/recommend?llm=false", content=body)
    for when in ('"garbage"', '"2000-13-45T99:00:00"', "12", '"' + "9" * 300 + '"'):
        body = '{"history": [{"item_id": 1, "event_datetime": %s}], "limit": 2}' % when  # noqa: UP031
        p.send("event_ranges", "POST", "/recommend?llm=false", content=body)

    # 8. personal data with a read token
    def no_personal(r, _s):
        if r.status_code == 403 and "dates=true" in str(r.request.url):
            return None  # refused: dates need the personal scope
        if r.status_code != 200:
            return f"HTTP {r.status_code}"
        body = r.json()
        leaked = [k for k in PERSONAL if body.get(k) is not None]
        if any(h.get("event_datetime") for h in body.get("history", [])):
            leaked.append("event_datetime")
        return f"read token got {leaked}" if leaked else None

    for uid in (1, 2, 100, 500, 943):
        p.send("personal_data", "GET", f"/users/{uid}", check=no_personal)
        p.send("personal_data", "GET", f"/users/{uid}?dates=true", check=no_personal)

    # 9. public health: no internals
    def no_internals(r, _s):
        text = r.text
        found = [m for m in ("sqlite", "mysql", "/tmp", "/work", "http://", "qdrant") if m in text]
        return f"public /healthz shows {found}" if found else None

    for _ in range(3):
        p.send(
            "public_health", "GET", "/healthz", headers={"Authorization": None}, check=no_internals
        )

    # 10. auth variants on every protected route
    protected = [("GET", "/items/1"), ("GET", "/users/1"), ("POST", "/recommend?llm=false")]
    protected += [("POST", r) for r in BODY_ROUTES[1:]]
    for method, path in protected:
        for auth in (None, "Bearer", "Bearer wrong", "Basic cmVhZC10b2s=", "bearer  read-tok x"):
            p.send("auth", method, path, content="{}", headers={"Authorization": auth})

    # 11. bulk export: 300 user profiles in a burst with one token get 429s
    statuses = []
    for uid in range(1, 301):
        r = p.client.get(f"/users/{uid}", headers=READ)
        statuses.append(r.status_code)
    p.tried["rate_limit"] += 1
    if 429 not in statuses:
        p._fail("rate_limit", "GET", "/users/1..300", "no 429 in a 300-profile burst")
    elif any(s >= 500 for s in statuses):
        p._fail("rate_limit", "GET", "/users/1..300", "5xx in the burst")
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="Probe a running server instead of starting one.")
    ap.add_argument("--name", default="probe", help="bench/out/NAME.json")
    args = ap.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_server()
    try:
        probe = run(url)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)
    rows = {
        cls: {
            "tried": probe.tried[cls],
            "failures": probe.failed[cls],
            "examples": probe.examples[cls],
        }
        for cls in probe.tried
    }
    print(f"{'class':<16} {'tried':>6} {'failures':>9}  first failures")
    for cls, row in rows.items():
        print(f"{cls:<16} {row['tried']:>6} {row['failures']:>9}  {'; '.join(row['examples'][:2])}")
    total = sum(r["tried"] for r in rows.values()), sum(r["failures"] for r in rows.values())
    print(f"{'total':<16} {total[0]:>6} {total[1]:>9}")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{args.name}.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
