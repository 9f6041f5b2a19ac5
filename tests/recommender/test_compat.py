"""RecBole shims: numpy aliases, argv guard, side-effect-free Config, exact Pop counts."""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
import yaml

from recagents.recommender import compat
from recagents.settings import DEFAULT_CONFIG_DIR

SHARED_YAML = DEFAULT_CONFIG_DIR / "recbole.yaml"
BPR_YAML = DEFAULT_CONFIG_DIR / "engines" / "bpr.yaml"


def test_numpy_aliases_are_restored():
    compat.restore_numpy_aliases()
    assert np.float_ is np.float64 and np.long is np.int_ and np.bool8 is np.bool_


def test_argv_guard_hides_and_restores_arguments(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog", "--epochs=3"])
    with compat.argv_guard():
        assert sys.argv == ["prog"]
    assert sys.argv == ["prog", "--epochs=3"]


def test_build_config_ignores_argv_and_keeps_environment(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["prog", "--embedding_size=7"])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "sentinel")
    config = compat.build_config("BPR", [SHARED_YAML, BPR_YAML], {"learning_rate": 0.01})
    assert config["embedding_size"] == yaml.safe_load(BPR_YAML.read_text())["embedding_size"]
    assert config["learning_rate"] == 0.01  # config_dict beats the YAMLs
    assert config["seed"] == yaml.safe_load(SHARED_YAML.read_text())["seed"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "sentinel"


class _FakePop:
    n_items = 5
    item_cnt = torch.zeros(5, 1, dtype=torch.long)
    max_cnt = None


class _FakeDataset:
    iid_field = "item_id"

    def __init__(self, items):
        self.inter_feat = {"item_id": torch.tensor(items)}


def test_exact_pop_counts_count_repeats():
    pop = _FakePop()
    compat.set_exact_pop_counts(pop, _FakeDataset([1, 1, 1, 2, 4, 4]))
    assert pop.item_cnt.view(-1).tolist() == [0, 3, 1, 0, 2]
    assert pop.max_cnt.tolist() == [3]
