"""Replay the peer benchmark's data-only tool calls through our tools and compare the data.

The suite (recsys-agent's ``evaluation_{easy,medium,hard}.json``) records, per query, the
expected chain of tool calls with the result the peer's system returned. Every data-only call
(filters, item/user metadata, interactions, popularity, like percentage) is a pure function of
the data, so ours must return the same ``data``; calls that depend on a trained model or an
embedding model (top-k recommendations, vector search) are not replayed.

Each call is translated (``peer_compat.translate_call``), run through the real LangChain tool
(``run_tool_call``, so argument schemas and candidate-set handles are exercised) with
``peer_compat.peer_service_options`` and the peer's item universe, rendered in the peer's format and
compared (see ``peer_compat`` for the per-tool rules and the deliberate differences).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from tqdm import tqdm

from recagents.errors import DataError
from recagents.eval import peer_compat as pc
from recagents.services import ServiceContext, ServiceOptions
from recagents.settings import Settings
from recagents.stores.metadata import MetadataStore
from recagents.stores.metadata.models import Credit, Item, Person
from recagents.tools import TOOLS_BY_NAME, run_tool_call
from recagents.tools.candidates import resolve_handle

SUITE_FILES = ("evaluation_easy.json", "evaluation_medium.json", "evaluation_hard.json")
_SHOW = 12  # list elements kept when a mismatch's expected/got value is abbreviated


@dataclass(frozen=True)
class SuiteCall:
    example: str  # "<level>/<example id>"
    index: int  # position in the example's tool chain
    tool: str
    arguments: dict
    result: dict


@dataclass
class ReplayReport:
    match_rate: float
    calls: int
    matches: int
    per_tool: dict[str, dict[str, int]]
    mismatches: list[dict] = field(default_factory=list)
    # interaction lists equal up to the order of equal timestamps (counted as matches)
    matched_up_to_ties: list[dict] = field(default_factory=list)
    universe_size: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def suite_files(suite_dir: Path) -> Iterator[tuple[Path, str, dict]]:
    """``(path, level, examples)`` of each suite file (easy, medium, hard), parsed."""
    for name in SUITE_FILES:
        path = Path(suite_dir) / name
        if not path.is_file():
            raise DataError(
                f"{path} not found: --suite must be the folder with {', '.join(SUITE_FILES)}"
            )
        try:
            examples = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{path} is not readable JSON ({exc})") from exc
        yield path, name.removeprefix("evaluation_").removesuffix(".json"), examples


def load_suite(suite_dir: Path) -> list[SuiteCall]:
    """Every tool call of the suite, in file order."""
    calls: list[SuiteCall] = []
    for path, level, examples in suite_files(suite_dir):
        for example_id, entry in examples.items():
            for index, call in enumerate(entry.get("tool_calls", [])):
                try:
                    calls.append(
                        SuiteCall(
                            f"{level}/{example_id}",
                            index,
                            call["tool_name"],
                            call.get("arguments") or {},
                            call["result"],
                        )
                    )
                except KeyError as exc:
                    raise DataError(
                        f"{path} {example_id} call {index} lacks {exc}: not a peer suite file"
                    ) from exc
    return calls


def items_with_text_line_breaks(store: MetadataStore) -> set[int]:
    """Items with a line break in any text field before ``storyline``.

    The peer's loader split the enrichment file on physical lines and skipped records whose
    quoted text spans several lines; among the enriched items this is exactly that set.
    """
    columns = (Item.title, Item.country, Item.age_rating, Item.description)
    people = select(Credit.item_id).join(Person).where(Person.name.contains("\n"))
    query = select(Item.item_id).where(
        or_(*(c.contains("\n") for c in columns), Item.item_id.in_(people))
    )
    with store.session() as session:
        return set(session.scalars(query))


def peer_universe(store: MetadataStore) -> frozenset[int]:
    """The items the peer's tools could see: enriched, no line break in their text fields."""
    return frozenset(store.enriched_item_ids() - items_with_text_line_breaks(store))


def _timestamps(ctx: ServiceContext, arguments: dict) -> dict[int, int]:
    """item → rating time for the user of a recent_interactions call."""
    return {r["item_id"]: r["timestamp"] for r in ctx.history(int(arguments["user_id"]))}


def _abbreviate(value: Any) -> Any:
    if isinstance(value, list) and len(value) > _SHOW:
        return [*value[:_SHOW], f"... {len(value) - _SHOW} more"]
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "..."
    if isinstance(value, list):
        return [_abbreviate(v) for v in value]
    if isinstance(value, dict):
        return {k: _abbreviate(v) for k, v in value.items()}
    return value


def replay(
    ctx: ServiceContext,
    calls: list[SuiteCall],
    *,
    show_progress: bool = True,
) -> ReplayReport:
    """Replay the data-only calls with ``ctx`` (build it with ``peer_service_options``)."""
    sets: dict = {}  # the conversation's candidate sets, as a graph state would hold them
    selected = [c for c in calls if c.tool in pc.PEER_DATA_ONLY]
    skipped = Counter(c.tool for c in calls if c.tool not in pc.PEER_DATA_ONLY)
    per_tool: dict[str, dict[str, int]] = {}
    mismatches: list[dict] = []
    tie_equivalent: list[dict] = []
    for call in tqdm(selected, desc="tools replay", unit="call", disable=not show_progress):
        stats = per_tool.setdefault(call.tool, {"calls": 0, "matches": 0})
        stats["calls"] += 1
        got_data: Any = None
        try:
            name, arguments = pc.translate_call(call.tool, call.arguments)
            out = run_tool_call(TOOLS_BY_NAME[name], arguments, ctx, sets)
            result, sets = out.result, out.candidate_sets
            got_data = pc.to_peer_data(
                call.tool, result, lambda h, known=sets: resolve_handle(known, h), call.arguments
            )
            stamps = _timestamps(ctx, arguments) if name == "recent_interactions" else None
            reason = pc.compare(call.tool, call.result, result["status"], got_data, stamps)
            if reason and result["status"] != "success":
                reason += f" ({result['message'][:200]})"
        except pc.UntranslatableCall as exc:
            reason = f"untranslatable: {exc}"
        if reason is None or reason.startswith(pc.TIE_EQUIVALENT):
            stats["matches"] += 1
            if reason is not None:
                tie_equivalent.append({"example": call.example, "tool": call.tool, "note": reason})
            continue
        mismatches.append(
            {
                "example": call.example,
                "tool": call.tool,
                "arguments": _abbreviate(call.arguments),
                "expected": _abbreviate(call.result.get("data")),
                "got": _abbreviate(got_data),
                "reason": reason,
            }
        )
    total = sum(s["calls"] for s in per_tool.values())
    matches = sum(s["matches"] for s in per_tool.values())
    return ReplayReport(
        match_rate=round(matches / total, 4) if total else 0.0,
        calls=total,
        matches=matches,
        per_tool=per_tool,
        mismatches=mismatches,
        matched_up_to_ties=tie_equivalent,
        universe_size=None if ctx.options.universe is None else len(ctx.options.universe),
        skipped=dict(skipped),
    )


def run_replay(
    settings: Settings,
    suite_dir: Path,
    *,
    full_catalog: bool = False,
    our_semantics: bool = False,
    show_progress: bool = True,
) -> ReplayReport:
    """Open the built metadata store from ``settings`` (read-only) and replay the suite.

    ``full_catalog`` lets our tools see every item (the match rate then shows the effect of the
    peer's dropped records); ``our_semantics`` runs our default semantics (plain top-k
    popularity, MovieLens year fallback) to show what those choices change.
    """
    calls = load_suite(suite_dir)
    store = MetadataStore.open(settings)
    try:
        universe = None if full_catalog else peer_universe(store)
        if our_semantics:
            options = ServiceOptions(universe=universe)
        else:
            options = pc.peer_service_options(universe)
        ctx = ServiceContext(settings=settings, store=store, options=options)
        return replay(ctx, calls, show_progress=show_progress)
    finally:
        store.close()


def print_report(report: ReplayReport) -> None:
    """The per-tool match table and one line per mismatch, on the terminal."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tools replay: {report.matches}/{report.calls} = {report.match_rate:.1%}")
    for column in ("peer tool", "calls", "matches"):
        table.add_column(column)
    for tool, stats in report.per_tool.items():
        table.add_row(tool, str(stats["calls"]), str(stats["matches"]))
    console = Console()
    console.print(table)
    for m in report.mismatches:
        console.print(f"[yellow]{m['example']}[/] {m['tool']}: {m['reason']}", markup=True)
