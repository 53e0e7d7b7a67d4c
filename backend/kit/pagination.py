"""Page requests and results for every list (search, filters and paging)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
# Far beyond any list a person pages through, and small enough that the row offset
# (page - 1) * size always fits the database's 64-bit integer.
MAX_PAGE = 1_000_000


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def clamp(cls, page: int | None, size: int | None) -> PageRequest:
        """Whatever a page's query string asked for, within the bounds every list keeps."""
        return cls(
            page=min(MAX_PAGE, max(1, page or 1)),
            size=min(MAX_PAGE_SIZE, max(1, size or DEFAULT_PAGE_SIZE)),
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.request.size))

    @property
    def has_next(self) -> bool:
        return self.request.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.request.page > 1
