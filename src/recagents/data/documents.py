"""One text document per item, the input of the plot embeddings (title, year, genres, plot)."""

from __future__ import annotations

from collections.abc import Mapping


def item_document(item: Mapping) -> str:
    """Compose the embedding text of one catalog row from whatever fields exist."""
    parts = [str(item["title"])]
    if item.get("genres"):
        parts.append("Genres: " + ", ".join(item["genres"]) + ".")
    description = item.get("description")
    storyline = item.get("storyline")
    if storyline and description and storyline.startswith(description):
        description = None  # the storyline usually repeats the description verbatim
    for text in (description, storyline):
        if text:
            parts.append(str(text).strip())
    return "\n".join(parts)
