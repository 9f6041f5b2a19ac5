"""Typed results of the services (pydantic: the API serialises them as they are)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScoredItem(Result):
    item_id: int
    title: str | None
    score: float


class FilteredItems(Result):
    item_ids: list[int]
    conditions: list[str]  # each condition in words, e.g. "genre=Comedy", "imdb_rating > 7"


class Recommendation(Result):
    user_id: int
    items: list[ScoredItem]
    fallback: bool = False  # True: the model does not know the user (popularity ranking)
    reason: str | None = None
    model: str = "BPR"

    @property
    def item_ids(self) -> list[int]:
        return [i.item_id for i in self.items]


class PlotHit(Result):
    item_id: int
    title: str | None
    year: int | None
    genres: list[str]
    score: float


class PopularItem(Result):
    item_id: int
    title: str | None
    ratings: int


class PopularItems(Result):
    user_group: list[str] | None
    items: list[PopularItem]


class LikePercentage(Result):
    like_percentage: float
    users: int
    total_users: int
    items: int
    min_rating: int | None


class UserProfile(Result):
    """The fields asked for (others are None)."""

    user_id: int
    age: int | None = None
    age_group: str | None = None
    gender: str | None = None
    occupation: str | None = None
    zip_code: str | None = None
    n_ratings: int | None = None


class RatedItem(Result):
    item_id: int
    title: str | None
    rating: int
    timestamp: int
    date: str


class History(Result):
    user_id: int
    total: int  # the user's visible ratings
    items: list[RatedItem]  # newest first


class SimilarUser(Result):
    user_id: int
    similarity: float
    common_items: int
    age_group: str
    gender: str
    occupation: str


class FavouriteItem(Result):
    item_id: int
    title: str | None
    score: float
    liked_by: int


class Favourites(Result):
    user_id: int
    neighbours: list[int]
    items: list[FavouriteItem]


ItemDetails = dict[str, Any]  # the asked fields of one item; None means unknown
