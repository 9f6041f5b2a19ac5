"""One short-schedule BPR, trained once per session into a temporary data dir and shared."""

from __future__ import annotations

import contextlib
import csv
import importlib.resources
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recagents.recommender.inference import Recommender
from recagents.recommender.train import train_bpr
from recagents.settings import DEFAULT_CONFIG_DIR, Settings

SHORT_EPOCHS = 15
MAX_K = 100


@dataclass
class BprRun:
    settings: Settings
    metrics: dict[str, Any]
    cwd_after: list[str]


def make_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, config_dir=DEFAULT_CONFIG_DIR)


@pytest.fixture(scope="session")
def bpr_run(tmp_path_factory: pytest.TempPathFactory) -> BprRun:
    """Train BPR for SHORT_EPOCHS epochs from an empty working directory.

    RecBole reads ``--key=value`` from sys.argv: the fake flags below would shorten training
    to 2 epochs if the argv guard failed.
    """
    settings = make_settings(tmp_path_factory.mktemp("bpr-data"))
    workdir = tmp_path_factory.mktemp("bpr-cwd")
    saved_argv = sys.argv
    sys.argv = [saved_argv[0], "--epochs=2", "--learning_rate=0.5"]
    try:
        with contextlib.chdir(workdir):
            metrics = train_bpr(settings, overrides={"epochs": SHORT_EPOCHS}, show_progress=False)
    finally:
        sys.argv = saved_argv
    return BprRun(settings, metrics, sorted(p.name for p in workdir.iterdir()))


@pytest.fixture(scope="session")
def recommender(bpr_run: BprRun) -> Recommender:
    return Recommender.load(bpr_run.settings)


@pytest.fixture(scope="session")
def ml100k_ratings() -> dict[int, set[int]]:
    """user -> rated items, read straight from the ml-100k.inter file RecBole ships."""
    path = importlib.resources.files("recbole") / "dataset_example" / "ml-100k" / "ml-100k.inter"
    ratings: dict[int, set[int]] = defaultdict(set)
    with path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)
        for row in reader:
            ratings[int(row[0])].add(int(row[1]))
    return dict(ratings)
