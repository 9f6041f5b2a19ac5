"""A real host process for the browser tests: ``recagents serve`` in a subprocess over copies
of the session's test stores, talking to the session's ONE local LLM
server (as an OpenAI-compatible backend), and a headless Debian Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from recagents.settings import DEFAULT_CONFIG_DIR, PROJECT_ROOT

CHROMIUM = os.environ.get("RECAGENTS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVE = [sys.executable, "-m", "recagents", "serve", "--no-setup"]  # the stores are built
CHAT_SECRET = "recagents-test-secret-" + "0" * 40  # Chainlit's JWT secret (tests only)
CHAT_PASSWORD = "browser-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HostProcess:
    """The host app in a subprocess; ``restart()`` stops it and starts a new one (same data)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostProcess:
        out = self.log.open("a")
        self.proc = subprocess.Popen(
            [*SERVE, "--port", str(self.port)],
            env=self.env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"the host exited ({self.proc.returncode}): {self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/chat/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"the host did not answer in 180 s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self) -> HostProcess:
        self.stop()
        return self.start()


@pytest.fixture(scope="session")
def host_env(tmp_path_factory, tool_settings, agent_services, sqlite_url, local_handle) -> dict:
    """Settings of the app under test: copies of the test stores, the session's LLM server."""
    root = tmp_path_factory.mktemp("chat-host")
    data = root / "data"
    shutil.copytree(tool_settings.data_dir, data, ignore=shutil.ignore_patterns(".lock"))
    shutil.copyfile(make_url(sqlite_url).database, data / "recagents.sqlite")
    configs = root / "configs"
    shutil.copytree(DEFAULT_CONFIG_DIR, configs)
    (configs / "assistant.yaml").write_text(
        yaml.safe_dump({"arag_pool_size": 6, "recommend_via": "agents"}), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECAGENTS_", "CHAINLIT_"))}
    env.update(
        {
            "RECAGENTS_DATA_DIR": str(data),
            "RECAGENTS_CONFIG_DIR": str(configs),
            "RECAGENTS_LLM_PROVIDER": "openai-compatible",
            "RECAGENTS_LLM_BASE_URL": local_handle.base_url,
            # the embedded server answers only its own per-process key
            "RECAGENTS_LLM_API_KEY": local_handle.api_key or "",
            "RECAGENTS_LLM_MODEL": local_handle.model,
            "RECAGENTS_LLM_TIMEOUT_S": "600",
            "RECAGENTS_LLM_MAX_TOKENS": "300",
            "RECAGENTS_TORCH_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture(scope="module")  # closed after its module: sync Playwright keeps an event loop
def browser():  # running in this thread, and later tests call asyncio.run
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"browser tests need Debian's chromium at {CHROMIUM} (`apt-get install chromium`; "
            "`.ci/run` installs it) or deselect them: -m 'not browser'",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
