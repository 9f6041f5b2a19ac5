"""The embedded local model as a managed child process on 127.0.0.1.

One server per (process, model file, threads, context, slots): started on demand (or ahead of time
by a host's lifespan, ``recagents.llm.start_local_server``), health-checked, reused by every later
call, and stopped by ``stop_all_local_servers`` (a host's lifespan end) or at interpreter exit
(atexit). Each server has a random API key (``LocalServer.api_key``, per process) that only
our clients send: another local process cannot use it. The module installs no signal handlers: a process killed by a signal takes its child
with it anyway, since the child dies with its parent (``PR_SET_PDEATHSIG`` plus a parent-pid
watcher, see ``server_process``). Children are spawned from one long-lived thread so that
``PR_SET_PDEATHSIG`` (which follows the spawning *thread*) fires only when the process dies.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from recagents.llm.failures import LLMUnavailableError
from recagents.llm.server_process import API_KEY_ENV

log = logging.getLogger(__name__)


class _Spawner:
    """One daemon thread that starts every child: it lives as long as the process (a pool
    worker would be joined before atexit handlers run, and its end would trigger PDEATHSIG)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        while True:
            fn, args, kwargs, future = self._jobs.get()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)

    def submit(self, fn, *args, **kwargs) -> Future:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="recagents-llm-spawner", daemon=True
                )
                self._thread.start()
        future: Future = Future()
        self._jobs.put((fn, args, kwargs, future))
        return future


_spawner = _Spawner()


@dataclass(frozen=True)
class ServerConfig:
    model_path: Path
    alias: str
    threads: int = 2
    ctx_size: int = 8192
    parallel: int = 2
    start_timeout_s: float = 180.0
    request_timeout_s: float = 600.0
    log_dir: Path | None = None


class LocalServer:
    """A running (or stopped) xllamacpp server child process."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.process: subprocess.Popen | None = None
        self.address: str | None = None
        self.log_path: Path | None = None
        self._last_port = 0  # a restart asks for the same port, so old URLs keep working
        self._lock = threading.Lock()
        # Only our clients know it (kept across restarts, so handed-out clients keep working);
        # the child gets it through its environment, never its command line.
        self.api_key = secrets.token_urlsafe(32)

    # --- state -------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL (…/v1)."""
        if not self.address:
            raise LLMUnavailableError("the local LLM server is not started", backend="local")
        return f"{self.address}/v1"

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self, timeout_s: float = 2.0) -> bool:
        if not self.address or not self.is_alive():
            return False
        try:
            with urllib.request.urlopen(f"{self.address}/health", timeout=timeout_s) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _log_tail(self, lines: int = 15) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> LocalServer:
        with self._lock:
            if self.is_alive() and self.healthy():
                return self
            self._stop_locked()
            try:
                self._start_locked(self._last_port)
            except LLMUnavailableError:
                if not self._last_port:
                    raise
                log.warning("port %d is taken; restarting on a free port", self._last_port)
                self._last_port = 0
                self._start_locked(0)
        return self

    def _start_locked(self, port: int) -> None:
        cfg = self.config
        log_dir = Path(cfg.log_dir) if cfg.log_dir else Path(cfg.model_path).parent / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        stem = f"llm-server-{cfg.alias}.{os.getpid()}.{id(self):x}"
        self.log_path = log_dir / f"{stem}.log"
        ready = log_dir / f"{stem}.ready"
        ready.unlink(missing_ok=True)
        argv = [
            sys.executable, "-m", "recagents.llm.server_process",
            "--model", str(cfg.model_path), "--alias", cfg.alias, "--port", str(port),
            "--threads", str(cfg.threads), "--ctx-size", str(cfg.ctx_size),
            "--parallel", str(cfg.parallel), "--timeout-s", str(int(cfg.request_timeout_s)),
            "--ready-file", str(ready), "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        log.info("starting local LLM server: %s (log %s)", cfg.model_path.name, self.log_path)
        env = {**os.environ, API_KEY_ENV: self.api_key}
        with open(self.log_path, "wb") as log_fh:
            self.process = _spawner.submit(
                subprocess.Popen,
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the child
            ).result()
        _register_for_cleanup(self)
        t0 = time.monotonic()
        deadline = t0 + cfg.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LLMUnavailableError(
                    f"the local LLM server for {cfg.model_path.name} exited with code "
                    f"{self.process.returncode} while loading (log {self.log_path}):\n"
                    f"{self._log_tail()}",
                    backend="local",
                    setting="RECAGENTS_LOCAL_MODEL / RECAGENTS_LOCAL_MODEL_PATH",
                )
            if self.address is None and ready.exists():
                try:
                    self.address = json.loads(ready.read_text())["address"]
                except (ValueError, KeyError, OSError):
                    self.address = None  # half-written: read it again
                else:
                    ready.unlink(missing_ok=True)
                    self._last_port = int(self.address.rsplit(":", 1)[1])
            if self.address is not None and self.healthy(timeout_s=5.0):
                elapsed = time.monotonic() - t0
                log.info("local LLM server ready at %s in %.1f s", self.address, elapsed)
                return
            time.sleep(0.1)
        self._stop_locked()
        raise LLMUnavailableError(
            f"the local LLM server for {cfg.model_path.name} was not ready within "
            f"{cfg.start_timeout_s:.0f} s: raise RECAGENTS_LOCAL_START_TIMEOUT_S or use the smaller "
            f"model (RECAGENTS_LOCAL_MODEL=qwen2.5-coder-0.5b); log {self.log_path}",
            backend="local",
            setting="RECAGENTS_LOCAL_START_TIMEOUT_S",
        )

    def stop(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            self._stop_locked(timeout_s)

    def _stop_locked(self, timeout_s: float = 10.0) -> None:
        proc, self.process, self.address = self.process, None, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        if proc.returncode in (0, -signal.SIGTERM) and self.log_path:
            self.log_path.unlink(missing_ok=True)  # clean stop: keep logs only of failures
        log.info("local LLM server (pid %s) stopped", proc.pid)


# --- registry: one server per process + model ------------------------------------------------
_servers: dict[tuple, LocalServer] = {}
_registry_lock = threading.Lock()
_atexit_installed = False


def get_local_server(config: ServerConfig) -> LocalServer:
    """The running server for ``config`` (started, or restarted if it died)."""
    key = (
        str(Path(config.model_path).resolve()),
        config.threads,
        config.ctx_size,
        config.parallel,
    )
    with _registry_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = LocalServer(config)
    return server.start()


def stop_all_local_servers() -> None:
    """Stop every server this process started (a host's lifespan calls this on shutdown; it
    also runs at interpreter exit). Later calls start fresh servers on demand."""
    with _registry_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            log.exception("stopping the local LLM server failed")


def _register_for_cleanup(_server: LocalServer) -> None:
    """Stop the servers at interpreter exit (registered once; no signal handlers)."""
    global _atexit_installed
    with _registry_lock:
        first, _atexit_installed = not _atexit_installed, True
    if first:
        atexit.register(stop_all_local_servers)
