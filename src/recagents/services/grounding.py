"""Never show an invented item: find the movies an answer names and drop what the tools did not
return.

``TitleIndex`` knows every catalogue title in the forms people write them ("Firm, The (1993)",
"The Firm (1993)", "The Firm"). ``ground(text, allowed)`` removes each sentence that names a
catalogue movie outside ``allowed`` or a "Some Title (1994)" that is no catalogue movie at all,
and returns the allowed movies the remaining text names, in order.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_ARTICLE = re.compile(r"^(.*), (the|a|an|les|la|le|il|el|das|der|die)$", re.IGNORECASE)
# "Some Title (1994)" as a model writes it: capitalised words, then a year in parentheses
_TITLE_WITH_YEAR = re.compile(r"([A-Z0-9][^\n()*\"“”]{0,80}?)\s*\(((?:18|19|20)\d\d)\)")
# a sentence ends at . ! ? and a space, but not after an abbreviation inside a title
# ("People vs. Larry Flynt", "Mr. Holland's Opus", "Dr. Strangelove", "St. Elmo's Fire")
NOT_AN_END = (
    r"(?<!\bvs\.)(?<!\bVs\.)(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bJr\.)"
)
_SENTENCE = re.compile(NOT_AN_END + r"(?<=[.!?])\s+|\n")
# a title written without its year counts from this length (not "Heat", "Big", "It", "Contact")
_MIN_BARE_WORD, _MIN_BARE_WORDS = 8, 7


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s&'-]", " ", text.lower())).strip()


def title_forms(title: str) -> tuple[set[str], str | None]:
    """The normalised ways to write ``title``, and its year."""
    match = _YEAR.search(title)
    year = match[1] if match else None
    name = title[: match.start()] if match else title
    forms = {name.strip()}
    moved = _ARTICLE.match(name.strip())
    if moved:
        forms.add(f"{moved[2]} {moved[1]}")
    return {_norm(f) for f in forms if f.strip()}, year


@dataclass
class Grounded:
    text: str
    items: list[int]  # allowed catalogue items the text names, in order of mention
    removed: list[str] = field(default_factory=list)  # the sentences dropped, and why


class TitleIndex:
    def __init__(self, titles: Mapping[int, str]) -> None:
        self.titles = dict(titles)
        self.by_form: dict[str, set[int]] = {}
        self.by_form_year: dict[tuple[str, str], set[int]] = {}
        for item_id, title in self.titles.items():
            forms, year = title_forms(title or "")
            for form in forms:
                self.by_form.setdefault(form, set()).add(item_id)
                if year:
                    self.by_form_year.setdefault((form, year), set()).add(item_id)
        bare = sorted(
            (
                f
                for f in self.by_form
                if len(f) >= (_MIN_BARE_WORDS if " " in f else _MIN_BARE_WORD)
            ),
            key=len,
            reverse=True,
        )
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, bare)) + r")\b")

    def mentions(self, text: str) -> list[set[int]]:
        """The catalogue movies ``text`` names, each as the set of items its words could be."""
        found = [self.by_form[m[1]] for m in self._pattern.finditer(_norm(text))]
        for m in _TITLE_WITH_YEAR.finditer(text):
            ids = self._with_year(m[1], m[2])
            found.append(ids if ids else {-1})  # -1: a titled-and-dated movie we do not have
        return found

    def _with_year(self, words: str, year: str) -> set[int]:
        # the model may prefix words ("Watch Heat (1995)"): try each suffix of the phrase
        tokens = _norm(words).split()
        for start in range(len(tokens)):
            ids = self.by_form_year.get((" ".join(tokens[start:]), year))
            if ids:
                return ids
        return set()

    def ground(self, text: str, allowed: Collection[int]) -> Grounded:
        allowed = set(allowed)
        kept, removed, items = [], [], []
        for part in _split(text):
            named = self.mentions(part)
            bad = [ids for ids in named if not ids & allowed]
            if bad:
                what = ", ".join(
                    "an unknown title" if -1 in ids else self.titles[min(ids)] for ids in bad
                )
                removed.append(f"{part.strip()} [names {what}, which no tool returned]")
                if "\n" in part:
                    kept.append("\n")
                continue
            kept.append(part)
            for ids in named:
                for item_id in sorted(ids & allowed):
                    if item_id not in items:
                        items.append(item_id)
        return Grounded(_join(kept), items, removed)


_LIST_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")


def drop_title_lists(text: str, index: TitleIndex) -> str:
    """``text`` without list lines that name movies (the reply lists its movies itself)."""
    kept = [
        line for line in text.splitlines() if not (_LIST_LINE.match(line) and index.mentions(line))
    ]
    return _join(["\n".join(kept).replace(":\n\n\n", ":\n")])


def _split(text: str) -> list[str]:
    """Sentences and lines, each keeping its trailing separator."""
    parts, last = [], 0
    for m in _SENTENCE.finditer(text):
        parts.append(text[last : m.end()])
        last = m.end()
    if last < len(text):
        parts.append(text[last:])
    return parts


def _join(parts: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "".join(parts)).strip()
