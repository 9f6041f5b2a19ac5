"""RecBole's train/valid/test split, saved beside the checkpoint, and the history views over it.

Training writes ``split.npz`` next to ``bpr.pth``: the (user, item) pairs of each part in
external MovieLens ids, exactly as RecBole split them. A :class:`HistoryView` then says which
ratings the product may see:

- ``none`` (the product): every rating is history.
- ``test``: history is train + valid; the test part is hidden from everything (seen-masking,
  recent interactions, counts, Swing, popularity, like %). This is what RecBole's test
  evaluation sees.
- ``valid``: history is train only; valid + test are hidden (for tuning).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recagents.errors import DataError, InvalidArgumentError, NotBuiltError
from recagents.vocabulary import HOLDOUTS, Holdout

PARTS = ("train", "valid", "test")
HIDDEN_PARTS: dict[str, tuple[str, ...]] = {
    "none": (),
    "valid": ("valid", "test"),
    "test": ("test",),
}
SPLIT_NAME = "split.npz"
_KEY = 1_000_000  # pair key = user * _KEY + item (item ids are far below a million)


def pair_keys(users: Iterable[int] | np.ndarray, items: Iterable[int] | np.ndarray) -> np.ndarray:
    u = np.asarray(users, dtype=np.int64)
    i = np.asarray(items, dtype=np.int64)
    return u * _KEY + i


def check_holdout(value: str) -> Holdout:
    if value not in HOLDOUTS:
        raise InvalidArgumentError(f"holdout must be one of {list(HOLDOUTS)}, got {value!r}")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Split:
    """The three parts as (n, 2) arrays of external (user_id, item_id)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    trained_at: str | None = None

    def part(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def counts(self) -> dict[str, int]:
        return {name: int(len(self.part(name))) for name in PARTS}

    def per_user(self, name: str) -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        for user, item in self.part(name).tolist():
            out.setdefault(int(user), set()).add(int(item))
        return out

    def save(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                train=self.train,
                valid=self.valid,
                test=self.test,
                trained_at=np.asarray(self.trained_at or ""),
            )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Split:
        if not path.is_file():
            raise NotBuiltError(
                f"no saved train/valid/test split at {path}: run `recagents train` (or "
                "`recagents setup --force --step bpr`) to write it"
            )
        try:
            with np.load(path) as data:
                parts = {name: data[name].astype(np.int64).reshape(-1, 2) for name in PARTS}
                trained_at = str(data["trained_at"]) or None
        except Exception as exc:  # truncated or foreign file
            raise DataError(
                f"{path} is not a readable split ({exc}); re-run `recagents train`"
            ) from exc
        return cls(**parts, trained_at=trained_at)


class HistoryView:
    """Which ratings count as history under a holdout; ``HistoryView.none()`` hides nothing."""

    def __init__(self, holdout: Holdout, hidden: np.ndarray | None = None) -> None:
        self.holdout = check_holdout(holdout)
        pairs = np.empty((0, 2), np.int64) if hidden is None else np.asarray(hidden, np.int64)
        self.hidden_pairs = pairs.reshape(-1, 2)
        self._keys = np.unique(pair_keys(self.hidden_pairs[:, 0], self.hidden_pairs[:, 1]))
        self._by_user: dict[int, set[int]] | None = None

    @classmethod
    def none(cls) -> HistoryView:
        return cls("none")

    @classmethod
    def from_split(cls, split: Split, holdout: Holdout) -> HistoryView:
        parts = [split.part(p) for p in HIDDEN_PARTS[check_holdout(holdout)]]
        hidden = np.concatenate(parts) if parts else None
        return cls(holdout, hidden)

    @property
    def hides_anything(self) -> bool:
        return self._keys.size > 0

    def visible_mask(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """True where the (user, item) rating is history under this view."""
        if not self.hides_anything:
            return np.ones(len(users), dtype=bool)
        return ~np.isin(pair_keys(users, items), self._keys)

    def hidden_items(self, user_id: int) -> set[int]:
        if self._by_user is None:
            by_user: dict[int, set[int]] = {}
            for user, item in self.hidden_pairs.tolist():
                by_user.setdefault(int(user), set()).add(int(item))
            self._by_user = by_user
        return self._by_user.get(int(user_id), set())
