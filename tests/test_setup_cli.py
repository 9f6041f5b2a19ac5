"""End to end: `recagents setup` then `recagents status --json` on a fresh data dir, as a user runs
them (subprocesses, real stores, short BPR schedule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from recagents.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def recagents(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "recagents", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=env["RECAGENTS_DATA_DIR"],  # nothing may be written into the working directory
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"recagents {args} exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return proc


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def env(tmp_path_factory, enrichment_file) -> dict:
    data_dir = tmp_path_factory.mktemp("app") / "data"
    data_dir.mkdir()
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "bpr.yaml").read_text())
    config["epochs"] = 8
    short = data_dir.parent / "bpr-short.yaml"
    short.write_text(yaml.safe_dump(config))
    keep = {k: v for k, v in os.environ.items() if not k.startswith("RECAGENTS_")}
    return keep | {
        "RECAGENTS_DATA_DIR": str(data_dir),
        "RECAGENTS_ENRICHMENT_PATH": str(enrichment_file),
        "RECAGENTS_BPR_CONFIG": str(short),
        "HF_HUB_OFFLINE": "1",
    }


@pytest.fixture(scope="module")
def built(env) -> dict:
    first = recagents(env, "setup", "--json")
    return last_json(first.stdout)


def test_status_reports_what_is_built(env, built):
    assert [s["name"] for s in built["steps"]] == ["enrichment", "metadata", "bpr", "vectors"]
    assert all(s["done"] for s in built["steps"])
    status = last_json(recagents(env, "status", "--json").stdout)
    assert status["items"] == 1682 and status["users"] == 943 and status["ratings"] == 100_000
    assert status["vectors"] == 1682
    test = status["bpr"]["test"]
    assert 0 < test["ndcg@10"] < 1 and 0 < test["recall@10"] < 1
    assert status["enrichment"] == "setting" and status["ready"] is True
    data_dir = Path(env["RECAGENTS_DATA_DIR"])
    assert not {"saved", "log", "log_tensorboard"} & {p.name for p in data_dir.iterdir()}


def test_second_setup_skips_finished_steps(env, built):
    again = last_json(recagents(env, "setup", "--json").stdout)
    steps = {s["name"]: s for s in again["steps"]}
    assert not steps["metadata"]["done"] and not steps["bpr"]["done"]
    assert not steps["vectors"]["done"]


def test_status_on_nothing_built_names_the_fix(tmp_path, env):
    empty = env | {"RECAGENTS_DATA_DIR": str(tmp_path)}
    proc = recagents(empty, "status", "--json", check=False)
    assert proc.returncode == 1
    status = last_json(proc.stdout)
    assert status["ready"] is False and status["items"] is None
    assert all("recagents setup" in msg for msg in status["errors"].values())


def test_bad_database_url_is_one_clear_line(tmp_path, env):
    bad = env | {
        "RECAGENTS_DATA_DIR": str(tmp_path),
        "RECAGENTS_DATABASE_URL": "mysql+pymysql://nobody:pw@127.0.0.1:1/x",
    }
    proc = recagents(bad, "setup", "--step", "metadata", check=False)
    assert proc.returncode == 2
    assert "RECAGENTS_DATABASE_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_enrichment_path_is_one_clear_line(tmp_path, env):
    bad = env | {"RECAGENTS_DATA_DIR": str(tmp_path), "RECAGENTS_ENRICHMENT_PATH": "/nope.csv"}
    proc = recagents(bad, "setup", "--step", "metadata", check=False)
    assert proc.returncode == 2
    assert "RECAGENTS_ENRICHMENT_PATH" in proc.stderr and "Traceback" not in proc.stderr
