"""End to end: `recagents setup` then `recagents status --json` on a fresh data dir, as a user runs
them (subprocesses, real stores, short BPR schedule)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from recagents.settings import DEFAULT_CONFIG_DIR

pytestmark = pytest.mark.slow
STEP_NAMES = ("enrichment", "metadata", "recommender", "vectors", "graph_text")


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
    config = yaml.safe_load((DEFAULT_CONFIG_DIR / "recbole.yaml").read_text())
    config["epochs"] = 8
    short = data_dir.parent / "recbole-short.yaml"
    short.write_text(yaml.safe_dump(config))
    dropped = ("RECAGENTS_", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return keep | {
        "RECAGENTS_DATA_DIR": str(data_dir),
        "RECAGENTS_ENRICHMENT_PATH": str(enrichment_file),
        "RECAGENTS_RECBOLE_CONFIG": str(short),
    }  # no HF_HUB_OFFLINE: the embedding model loads from the wheel's folder without it


@pytest.fixture(scope="module")
def first_setup(env) -> subprocess.CompletedProcess:
    return recagents(env, "setup", "--json")


@pytest.fixture(scope="module")
def built(first_setup) -> dict:
    return last_json(first_setup.stdout)


def test_setup_terminal_output_is_bars_and_one_line_per_step(first_setup, env):
    err = first_setup.stderr
    summary = re.compile(rf"^({'|'.join(STEP_NAMES)}) +(built|up to date) +[0-9.]+s  \S")
    summaries = [line for line in err.splitlines() if summary.match(line)]
    assert [line.split()[0] for line in summaries] == list(STEP_NAMES)
    assert "INFO" not in err  # no log lines on a healthy run: bars and summaries only
    assert "BPR epochs" in err  # the progress bar
    # RecBole's own INFO lines (config dump, per-epoch losses) go to the log, not the terminal
    for recbole_line in ("Hyper Parameters", "train loss", "valid result"):
        assert recbole_line not in err
    logs = list((Path(env["RECAGENTS_DATA_DIR"]) / "bpr" / "logs").glob("*.log"))
    assert logs and "Hyper Parameters" in logs[0].read_text()


def test_status_reports_what_is_built(env, built):
    assert [s["name"] for s in built["steps"]] == list(STEP_NAMES)
    assert all(s["done"] for s in built["steps"])
    status = last_json(recagents(env, "status", "--json").stdout)
    assert status["items"] == 1682 and status["users"] == 943 and status["ratings"] == 100_000
    assert status["vectors"] == 1682
    test = status["recommender"]["test"]
    assert 0 < test["ndcg@10"] < 1 and 0 < test["recall@10"] < 1
    assert status["enrichment"] == "setting" and status["ready"] is True
    split = status["split"]  # RecBole's split, saved beside the checkpoint
    assert set(split) == {"train", "valid", "test"} and sum(split.values()) == 100_000
    assert split["train"] > split["valid"] > 0 and split["test"] > 0
    data_dir = Path(env["RECAGENTS_DATA_DIR"])
    assert not {"saved", "log", "log_tensorboard"} & {p.name for p in data_dir.iterdir()}


def test_second_setup_skips_finished_steps(env, built):
    again = last_json(recagents(env, "setup", "--json").stdout)
    steps = {s["name"]: s for s in again["steps"]}
    assert not steps["metadata"]["done"] and not steps["recommender"]["done"]
    assert not steps["vectors"]["done"]
    assert not steps["graph_text"]["done"]  # its fingerprint (texts, ratings, layers) held


def test_changed_recbole_yaml_retrains_once(env, built):
    short = Path(env["RECAGENTS_RECBOLE_CONFIG"])
    original = short.read_text()
    config = yaml.safe_load(original)
    config["epochs"] = 3
    short.write_text(yaml.safe_dump(config))
    try:
        changed = last_json(recagents(env, "setup", "--step", "recommender", "--json").stdout)
        assert [(s["name"], s["done"]) for s in changed["steps"]] == [("recommender", True)]
        again = last_json(recagents(env, "setup", "--step", "recommender", "--json").stdout)
        assert [(s["name"], s["done"]) for s in again["steps"]] == [("recommender", False)]
    finally:
        short.write_text(original)
        recagents(env, "setup", "--step", "recommender")  # back to the module's model


def test_status_while_the_app_holds_the_vectors(env, built):
    hold = (
        "import sys\nfrom qdrant_client import QdrantClient\n"
        "c = QdrantClient(path=sys.argv[1])\nprint('ready', flush=True)\nsys.stdin.read()\n"
    )
    folder = Path(env["RECAGENTS_DATA_DIR"]) / "qdrant"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        proc = recagents(env, "status", "--json", check=False)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    status = last_json(proc.stdout)
    assert status["vectors"] == "held by a running process"
    assert status["ready"] is True and proc.returncode == 0
    assert status["items"] == 1682


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
