"""Long staff lists, a page at a time."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 25


@dataclass(frozen=True)
class ListPage:
    rows: list
    number: int
    has_next: bool


def page_of(request: HttpRequest, rows: QuerySet, *, size: int = PAGE_SIZE) -> ListPage:
    """The page of `rows` that `?page=` names (the first if it names none)."""
    page = request.GET.get("page", "")
    # ASCII digits, and not too many: "²".isdigit() but int("²") fails, and a huge page overflows OFFSET.
    number = max(int(page), 1) if page.isascii() and page.isdigit() and len(page) <= 6 else 1
    # One row more than a page tells whether there is a next page, without counting every match.
    fetched = list(rows[(number - 1) * size : number * size + 1])
    return ListPage(rows=fetched[:size], number=number, has_next=len(fetched) > size)
