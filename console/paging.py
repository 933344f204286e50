"""Paged lists: a `limit` and an opaque cursor (keyset on the list's order),
answered as `{"items": [...], "total": N, "next_cursor": ...}`."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import HTTPException, Query, Response
from pydantic import BaseModel, Field

from store.register import COUNT_CAP

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})")]
Cursor = Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the page before; none for the first page")]


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description=(
        f"The items matching the filters across all pages, counted up to {COUNT_CAP:,}: when more match, "
        f"{COUNT_CAP + 1:,} and `total_capped` is true (an exact count would cost more the larger the register)."))
    total_capped: bool = Field(description=f"More than {COUNT_CAP:,} items match: `total` is a lower bound")
    next_cursor: str | None
    """Pass as `cursor` for the next page; none on the last."""


def answer(page: PageOut) -> Response:
    """The page as JSON, built once: a route that returns a model has FastAPI
    validate it again against its response model, for every item."""
    return Response(page.model_dump_json(), media_type="application/json")


def encode(key: tuple) -> str:
    raw = json.dumps([v.isoformat() if hasattr(v, "isoformat") else v for v in key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None, parse: Callable[[list], tuple]) -> tuple | None:
    """The key a cursor holds, as `parse` makes it from the decoded list; a
    cursor this API did not give out is refused, 422."""
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list):
            raise ValueError("not a list")
        return parse(values)
    except (ValueError, TypeError, IndexError, binascii.Error, UnicodeDecodeError):
        raise HTTPException(422, "cursor: not one this list gave out; ask for the first page again without it") from None
