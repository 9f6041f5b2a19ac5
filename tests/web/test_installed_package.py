"""The installed package serves the chat: `pip install .` (a built wheel, not the source tree)
into a fresh venv, `recagents serve` started from another folder, and the chat page loads with
the package's own Chainlit config and callbacks.

The venv reuses the project venv's third-party packages through a ``.pth`` line (nothing is
downloaded), after its own site-packages, so ``recagents`` itself is the installed copy. The
build runs on a copy of the files a clone has (tracked and new, not ignored), so nothing is
written into the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from recagents.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 240


def clone_files(dest: Path) -> Path:
    """The files a clone of the working tree has (tracked or new, not ignored), copied."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source, target = PROJECT_ROOT / name, dest / name
        if source.is_symlink():  # (src/recagents/configs points at the top-level configs/)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(os.readlink(source))
        elif source.is_file():  # (a deleted file is still listed until the index drops it)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def make_venv(venv: Path) -> Path:
    """A fresh venv without recagents, seeing the project venv's third-party packages."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    own = subprocess.run(
        [venv_python(venv), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shared = sysconfig.get_paths()["purelib"]  # this venv's site-packages (plain path: its
    (Path(own) / "project-venv-packages.pth").write_text(shared + "\n")  # .pth files stay off)
    return venv


@pytest.fixture(scope="module")
def built_data(tmp_path_factory, tool_settings, sqlite_url, tool_recommender, tool_vectors):
    """A copy of the session's built test stores (metadata, engine, vectors)."""
    data = tmp_path_factory.mktemp("installed") / "data"
    shutil.copytree(tool_settings.data_dir, data, ignore=shutil.ignore_patterns(".lock"))
    shutil.copyfile(make_url(sqlite_url).database, data / "recagents.sqlite")
    return data


def test_the_installed_package_serves_the_chat_from_another_folder(tmp_path, built_data):
    source = clone_files(tmp_path / "source")
    venv = make_venv(tmp_path / "venv")
    python = venv_python(venv)
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RECAGENTS_", "CHAINLIT_", "PYTHON")) and k != "OPENAI_API_KEY"
    }
    env.update({"RECAGENTS_DATA_DIR": str(built_data), "HF_HUB_OFFLINE": "1"})
    where = subprocess.run(
        [python, "-c", "import recagents.settings as s; print(s.__file__, s.DEFAULT_CONFIG_DIR)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(venv), f"recagents imported from {where[0]}"
    assert list(Path(where[1]).glob("*.yaml")), f"the installed package has no YAML in {where[1]}"

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                venv / "bin" / "recagents",
                "serve",
                "--no-setup",
                "--no-warm-llm",
                "--port",
                str(port),
            ],
            cwd=elsewhere,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        page = wait_for(f"{url}/chat/", proc, log)
        assert '<div id="root">' in page.text and "<title>recagents</title>" in page.text
        project = httpx.get(f"{url}/chat/project/settings", timeout=30)
        assert project.status_code == 200, project.text
        settings = project.json()
        assert settings["ui"]["name"] == "recagents"  # the package's config, not a default
        assert not settings["features"]["spontaneous_file_upload"]["enabled"]
        assert "Recommend to a user" in [s["label"] for s in settings["starters"]]
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert list(elsewhere.iterdir()) == []  # nothing written into the working directory
    assert (built_data / "chainlit" / ".chainlit" / "config.toml").is_file()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"recagents serve exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"recagents serve did not answer in {START_TIMEOUT_S} s: {log.read_text()[-3000:]}")
