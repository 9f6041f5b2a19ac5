"""The package's layer diagram, written once and checked over every import.

``LAYERS`` lists the top-level parts of ``recagents`` from the top (what a person starts) to the
bottom (what everything may use). Every import in ``src/recagents``, module-level or inside a
function, must point to the same layer or one below it; ``SUBLAYERS`` does the same inside a
package. A new top-level module or package fails here until it is placed in the diagram.

Also: the peer benchmark (the tool-use suite ``recagents eval tools`` runs) is known only to
``eval/``; no other file of the package mentions it.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "recagents"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),  # python -m recagents
    ("cli",),  # the `recagents` commands
    ("web", "eval"),  # the host (API + chat); the offline evaluation
    ("resources", "build", "status"),  # the system as a whole: open it, build it, inspect it
    ("assistant",),  # the chat assistant: plan mode, tools mode, memory
    ("agents", "tools"),  # the ARAG agents; the LangChain tools over the services
    ("services",),  # the typed operations, under the holdout view
    ("stores", "recommender", "llm"),  # storage, the recommender engines, the LLM backends
    ("data",),  # MovieLens files, the enrichment, the documents for embedding
    ("settings", "errors", "vocabulary", "__init__"),  # configuration, errors, closed sets
)

# Inside a package: its parts, top to bottom (``__init__`` may import any of them).
SUBLAYERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "web": (("host",), ("api", "chat")),  # the host wires api/ and chat/; they never import it
}

# (importing module, imported module) pairs that break the order today, each with its reason;
# remove an entry when its import goes.
ALLOWED: dict[tuple[str, str], str] = {}

# (file, text on the line) outside eval/ that may name the peer project, each with its reason.
ALLOWED_MENTIONS: dict[tuple[str, str], str] = {
    ("settings.py", "raw.githubusercontent.com/tommasocarraro-sony/recsys-agent/"): (
        "the pinned download URL of the IMDb enrichment file, which lives in that project's "
        "repository (data provenance, not the benchmark)"
    ),
}
MENTION = re.compile(r"(?<![a-z])peer|recsys[-_ ]?agent", re.IGNORECASE)


def module_name(path: Path) -> str:
    parts = ("recagents", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) of every recagents import in the file, function-local ones included;
    ``from X import name`` counts as ``X.name`` where that is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in modules() else base))
    return [(line, name) for line, name in found if name.split(".")[0] == "recagents"]


def part(module: str, depth: int = 1) -> str:
    """The part of ``module`` at ``depth`` below recagents (``__init__`` for the package)."""
    names = module.split(".")
    return names[depth] if len(names) > depth else "__init__"


def rank(layers: tuple[tuple[str, ...], ...], name: str) -> int:
    """The layer index of ``name`` (0 = top)."""
    found = next((i for i, layer in enumerate(layers) if name in layer), None)
    assert found is not None, f"{name!r} is in no layer: place it (tests/test_layers.py)"
    return found


def test_every_top_level_module_is_in_the_diagram():
    placed = {name for layer in LAYERS for name in layer}
    missing = sorted({part(m) for m in modules()} - placed)
    assert not missing, f"place {missing} in LAYERS (tests/test_layers.py)"
    for package, layers in SUBLAYERS.items():
        inner = {part(m, 2) for m in modules() if part(m) == package} - {"__init__"}
        missing = sorted(inner - {name for layer in layers for name in layer})
        assert not missing, f"place {missing} in SUBLAYERS[{package!r}] (tests/test_layers.py)"


def points_up(module: str, target: str) -> bool:
    """True when ``module`` importing ``target`` goes against LAYERS (or SUBLAYERS)."""
    src, dst = part(module), part(target)
    if src != dst:
        return rank(LAYERS, dst) < rank(LAYERS, src)
    inner_src, inner_dst = part(module, 2), part(target, 2)
    if src not in SUBLAYERS or "__init__" in (inner_src, inner_dst):
        return False
    return rank(SUBLAYERS[src], inner_dst) < rank(SUBLAYERS[src], inner_src)


def test_imports_point_down_the_layers():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line} {module} -> {target}"
        for module, path in modules().items()
        for line, target in imported_modules(module, path)
        if (module, target) not in ALLOWED and points_up(module, target)
    ]
    assert not found, "imports against the layer order:\n" + "\n".join(found)


def test_allowed_exceptions_are_still_needed():
    imports = {(m, t) for m, p in modules().items() for _, t in imported_modules(m, p)}
    stale = sorted(set(ALLOWED) - imports)
    assert not stale, f"remove from ALLOWED (the import is gone): {stale}"


@pytest.mark.parametrize(
    ("module", "target", "up"),
    [("recagents.stores.vectors", "recagents.services.context", True),
     ("recagents.web.api.deps", "recagents.web.host", True),
     ("recagents.web.chat.handlers", "recagents.web.host", True),
     ("recagents.services", "recagents.cli.main", True),
     ("recagents.web.host", "recagents.web.api", False),
     ("recagents.stores.engine_vectors", "recagents.recommender.topk", False),
     ("recagents.cli.eval", "recagents.eval.tools_replay", False)],
)  # fmt: skip
def test_the_check_tells_up_from_down(module, target, up):
    assert points_up(module, target) is up


def test_only_eval_knows_the_peer_benchmark():
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not path.is_file() or relative.startswith("eval/") or "__pycache__" in relative:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if not MENTION.search(line):
                continue
            if any(f == relative and fragment in line for f, fragment in ALLOWED_MENTIONS):
                continue
            found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "the peer benchmark belongs in recagents/eval/:\n" + "\n".join(found)
