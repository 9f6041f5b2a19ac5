"""An on-disk LLM answer cache for evaluations: a ``langchain_core.caches.BaseCache`` on sqlite3.

The key is (prompt, llm_string) as LangChain builds them: the serialized messages and the chat
model's serialized configuration plus the call's parameters (model name, temperature, max
tokens, response format / JSON schema, ...). Transport-only fields (API key, timeout, retries,
the ephemeral loopback port of the embedded server) are dropped from ``llm_string`` first, so a
restarted local server still hits. A re-run of an evaluation is then free and identical.

Attach it to one handle only (``cached_handle``), never globally (``set_llm_cache`` would cache
every model of the process). ``stats()`` counts hits and misses; ``hit_seconds`` sums the
latency the cached answers took when they were computed; ``remember``/``recall`` keep the
timings of the run that computed a whole request, so a cached re-run can still report them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation

_TRANSPORT_KEYS = ("openai_api_key", "api_key", "request_timeout", "timeout", "max_retries",
                   "client_kwargs", "callbacks", "stream_usage")  # fmt: skip
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_cache (
    key TEXT PRIMARY KEY,
    model TEXT,
    llm_string TEXT NOT NULL,
    answer TEXT NOT NULL,
    seconds REAL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_usage (
    key TEXT PRIMARY KEY,
    usage TEXT NOT NULL
)
"""


def _strip_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname in _LOOPBACK:
        return urlunsplit((parts.scheme, "loopback", parts.path, "", ""))
    return url


def normalize_llm_string(llm_string: str) -> tuple[str, str | None]:
    """(llm_string without transport-only fields, model name if found)."""
    head, sep, params = llm_string.partition("---")
    try:
        data = json.loads(head)
    except json.JSONDecodeError:
        return llm_string, None
    kwargs = data.get("kwargs") if isinstance(data, dict) else None
    if not isinstance(kwargs, dict):
        return llm_string, None
    for key in _TRANSPORT_KEYS:
        kwargs.pop(key, None)
    for key in ("openai_api_base", "base_url"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = _strip_port(kwargs[key])
    model = kwargs.get("model_name") or kwargs.get("model")
    return json.dumps(data, sort_keys=True) + sep + params, model


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    hit_seconds: float = 0.0  # what the answers served from the cache took when computed

    def minus(self, before: CacheStats) -> CacheStats:
        return CacheStats(
            self.hits - before.hits,
            self.misses - before.misses,
            self.hit_seconds - before.hit_seconds,
        )


class SQLiteLLMCache(BaseCache):
    """Thread-safe (one connection, one lock): agent nodes call the LLM from threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False)
        self._conn.executescript(_SCHEMA)
        self._conn.commit()
        self._lock = threading.Lock()
        self._stats = CacheStats()
        self._pending: dict[str, float] = {}  # key -> when its miss happened

    @staticmethod
    def key(prompt: str, llm_string: str) -> tuple[str, str, str | None]:
        normalized, model = normalize_llm_string(llm_string)
        digest = hashlib.sha256(f"{normalized}\x00{prompt}".encode()).hexdigest()
        return digest, normalized, model

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        key, _, _ = self.key(prompt, llm_string)
        with self._lock:
            row = self._conn.execute(
                "SELECT answer, seconds FROM llm_cache WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self._stats.misses += 1
                self._pending[key] = time.perf_counter()
                return None
            self._stats.hits += 1
            self._stats.hit_seconds += float(row[1] or 0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loads() is marked beta
            return [
                loads(g, allowed_objects=[ChatGeneration, Generation, AIMessage])
                for g in json.loads(row[0])
            ]

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        key, normalized, model = self.key(prompt, llm_string)
        answer = json.dumps([dumps(g) for g in return_val])
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            started = self._pending.pop(key, None)
            seconds = None if started is None else time.perf_counter() - started
            self._conn.execute(
                "INSERT OR REPLACE INTO llm_cache VALUES (?, ?, ?, ?, ?, ?)",
                (key, model, normalized, answer, seconds, now),
            )
            self._conn.commit()

    def clear(self, **kwargs: Any) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM llm_cache")
            self._conn.commit()

    def remember(self, key: str, usage: dict) -> None:
        """Keep the usage (timings) of the run that computed the answers for ``key``."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO run_usage VALUES (?, ?)", (key, json.dumps(usage))
            )
            self._conn.commit()

    def recall(self, key: str) -> dict | None:
        with self._lock:
            row = self._conn.execute("SELECT usage FROM run_usage WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def stats(self) -> CacheStats:
        with self._lock:
            return replace(self._stats)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def cached_handle(handle: Any, cache: BaseCache) -> Any:
    """A copy of an ``LLMHandle`` whose chat model answers from ``cache`` first (the original
    handle, and every other model of the process, stay uncached)."""
    return replace(handle, chat_model=handle.chat_model.model_copy(update={"cache": cache}))
