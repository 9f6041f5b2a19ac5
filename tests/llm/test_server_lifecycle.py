"""The managed server's lifecycle: stop, restart, atexit, SIGTERM, and death of the parent.

The library installs no signal handlers: a parent killed by SIGTERM dies by the default action
and its server follows it through the child's own parent-death protection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from recagents.llm.factory import make_chat_model
from recagents.llm.structured import structured_call

pytestmark = pytest.mark.llm

SMALL = {"local_ctx_size": 1024, "local_parallel": 1}  # a distinct, quick-to-load server


def gone(pid: int, within_s: float = 10.0) -> bool:
    """True once ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                return True
        except (OSError, IndexError):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


class Tiny(BaseModel):
    word: str = Field(min_length=1, max_length=40)


def test_stop_restart_and_recovery(llm_data_dir, make_settings):
    handle = make_chat_model(make_settings(data_dir=llm_data_dir, **SMALL))
    server = handle.server
    try:
        first, url = server.pid, server.base_url
        assert server.healthy()
        server.stop()
        assert gone(first) and not server.is_alive() and not server.healthy()
        server.start()  # on demand again: a new child, same URL (old handles keep working)
        assert server.healthy() and server.pid != first and server.base_url == url
        crashed = server.pid
        os.kill(crashed, signal.SIGKILL)  # a crash while idle
        assert gone(crashed)
        result = structured_call(handle, Tiny, "Reply with one English word.")
        assert result.value.word.strip()  # the helper restarted the server and retried
        assert server.is_alive() and server.pid != crashed and server.base_url == url
    finally:
        server.stop()


def test_host_lifespan_start_and_stop(llm_data_dir, make_settings):
    """What a host's lifespan does: start the server up front, share it, stop it at the end."""
    from recagents.llm import start_local_server, stop_all_local_servers

    settings = make_settings(data_dir=llm_data_dir, local_ctx_size=768, local_parallel=1)
    server = start_local_server(settings)
    try:
        assert server.healthy()
        handle = make_chat_model(settings)
        assert handle.server is server and handle.server.pid == server.pid  # shared, not a second
        pid = server.pid
        stop_all_local_servers()
        assert gone(pid) and not server.is_alive()
    finally:
        server.stop()


_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    from recagents.settings import Settings
    from recagents.llm.factory import make_chat_model
    before = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    s = Settings(_env_file=None, data_dir=sys.argv[1], llm_provider="local",
                 openai_api_key=None, local_model_path=None, local_model="qwen2.5-coder-0.5b",
                 local_ctx_size=1024, local_parallel=1)
    handle = make_chat_model(s)
    after = {n: signal.getsignal(n) for n in before}
    print(handle.server.pid, after == before, flush=True)
    if sys.argv[2] == "exit":
        sys.exit(0)
    time.sleep(300)
    """
)


def _start_parent(data_dir: Path, mode: str) -> tuple[subprocess.Popen, int, bool]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(data_dir), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=240)
    if not line or not line[0].strip():
        proc.kill()
        pytest.fail("the parent process did not report its server's pid")
    pid, handlers_untouched = line[0].split()
    return proc, int(pid), handlers_untouched == "True"


@pytest.mark.parametrize("mode", ["exit", "sigterm", "sigkill"])
def test_server_never_outlives_its_parent(llm_data_dir, mode):
    parent, child, handlers_untouched = _start_parent(llm_data_dir, mode)
    try:
        assert handlers_untouched, "starting the local server changed the process's signal handlers"
        if mode == "sigterm":
            assert not gone(child, within_s=0.5)
            parent.send_signal(signal.SIGTERM)
        elif mode == "sigkill":
            assert not gone(child, within_s=0.5)
            parent.kill()  # no atexit, no handlers: the child must notice by itself
        parent.wait(timeout=60)
        assert gone(child), f"server pid {child} survived its parent ({mode})"
        if mode == "sigterm":
            assert parent.returncode == -signal.SIGTERM  # default action kept after cleanup
    finally:
        if parent.poll() is None:
            parent.kill()
        if not gone(child, within_s=0):
            os.kill(child, signal.SIGKILL)
