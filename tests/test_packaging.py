"""The package as others install it: declared dependencies, dev tools apart, YAML defaults inside."""

from __future__ import annotations

import importlib.resources
import re
import tomllib
from pathlib import Path

from recagents.settings import DEFAULT_CONFIG_DIR, ENGINES, Settings

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = {"pytest", "ruff", "playwright", "schemathesis", "qdrant-edge-py"}


def _pins(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_pyproject_declares_the_pinned_runtime_dependencies():
    declared = _pyproject()["dependencies"]
    assert declared == _pins(ROOT / "requirements.txt")
    assert all("==" in requirement for requirement in declared)
    names = {_name(r) for r in declared}
    assert {"fastapi", "uvicorn", "langgraph-checkpoint-sqlite", "langgraph-checkpoint-mysql"} <= (
        names
    )
    assert "recbole" not in names  # installed with --no-deps (its colorama pin), see pyproject
    # every product command runs in the venv `make run` builds: `eval ranking` plots its report
    assert "matplotlib" in names


def test_dev_tools_stay_out_of_the_runtime_set():
    runtime = {_name(r) for r in _pyproject()["dependencies"]}
    assert not runtime & DEV_TOOLS
    dev = _pyproject()["optional-dependencies"]["dev"]
    assert dev == _pins(ROOT / "requirements-dev.txt")
    assert {_name(r) for r in dev} <= DEV_TOOLS


def test_constraints_lock_every_declared_pin():
    locked = {_name(r): r for r in _pins(ROOT / "constraints.txt")}
    for requirement in _pyproject()["dependencies"] + _pyproject()["optional-dependencies"]["dev"]:
        name = _name(requirement)
        if name == "setuptools":  # `pip freeze` (scripts/lock.sh) leaves it out
            continue
        version = requirement.split("==", 1)[1]
        assert locked[name].endswith(f"=={version}"), (requirement, locked.get(name))


def test_yaml_defaults_ship_inside_the_package():
    packaged = importlib.resources.files("recagents") / "configs" / "recbole.yaml"
    assert packaged.is_file()
    assert Path(str(packaged)) == DEFAULT_CONFIG_DIR / "recbole.yaml"
    for engine in ENGINES:  # every shipped engine has its YAML in the package
        assert (
            (importlib.resources.files("recagents") / "configs" / "engines")
            .joinpath(f"{engine.lower()}.yaml")
            .is_file()
        )
    settings = Settings(_env_file=None)
    assert settings.config_dir == DEFAULT_CONFIG_DIR and Path(settings.recbole_config).is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "configs/*.yaml" in package_data["package-data"]["recagents"]
    assert "configs/engines/*.yaml" in package_data["package-data"]["recagents"]
    assert "assistant/*.yaml" in package_data["package-data"]["recagents"]  # demonstrations
    assert not (ROOT / "configs").exists()  # one copy, inside the package
