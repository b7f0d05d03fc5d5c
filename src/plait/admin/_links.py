"""The changelist's links: column sorting, page numbers and filters, as query strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from plait.admin._dates import DateHierarchy, hierarchy_params
from plait.admin._keyset import CURSORS
from plait.admin._options import ModelAdmin
from plait.admin._queries import ChangeList, sortable

__all__ = ["CHEAP_OFFSET", "date_links", "filter_links", "header_links", "link", "page_links"]


def link(params: Mapping[str, str], **changes: str | None) -> str:
    """This page's query string with ``changes`` (``None`` removes a parameter)."""
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return "?" + query if query else "?"


def header_links(
    model_admin: ModelAdmin, params: Mapping[str, str], order: str
) -> list[dict[str, Any]]:
    """The column headings; sortable ones link to their order (reversed once sorted)."""
    columns = sortable(model_admin)
    headers = []
    for entry in model_admin.list_display:
        header: dict[str, Any] = {
            "label": model_admin.display_label(entry),
            "url": None,
            "sorted": None,
        }
        if isinstance(entry, str) and entry in columns:
            direction = "asc" if order == entry else "desc" if order == f"-{entry}" else None
            target = f"-{entry}" if direction == "asc" else entry
            header.update(url=link(params, o=target, p=None), sorted=direction)
        headers.append(header)
    return headers


def page_links(params: Mapping[str, str], page: ChangeList, per_page: int) -> list[dict[str, Any]]:
    """Links to the first, last and nearby pages, ``None`` numbers where some are skipped.

    The next and previous pages' links carry a key (``after``/``before``) when the order has
    a keyset; other pages are linked by number only where their offset from the nearer end
    is cheap (``CHEAP_OFFSET`` rows), so every page linked answers fast at any depth.
    """
    if page.pages <= 1:
        return []
    numbers = {1, page.pages, *range(max(1, page.page - 2), min(page.pages, page.page + 2) + 1)}
    plain = {k: v for k, v in params.items() if k not in CURSORS}
    links: list[dict[str, Any]] = []
    previous = 0
    for number in sorted(numbers):
        if number == page.page + 1 and page.next_key is not None:
            url = link(plain, p=str(number), after=page.next_key)
        elif number == page.page - 1 and page.previous_key is not None and number > 1:
            url = link(plain, p=str(number), before=page.previous_key)
        elif number == page.page or not page.keyset or _cheap(page, number, per_page):
            url = link(plain, p=str(number))
        else:
            continue
        if number > previous + 1:
            links.append({"number": None})
        links.append({"number": number, "url": url, "current": number == page.page})
        previous = number
    return links


CHEAP_OFFSET = 10_000
"""Rows a page link may make the database skip (``OFFSET``); deeper pages are reached by key."""


def _cheap(page: ChangeList, number: int, per_page: int) -> bool:
    """Page ``number`` is read with an offset of at most ``CHEAP_OFFSET`` rows."""
    from_start = (number - 1) * per_page
    if number == page.pages:
        return True  # read from the end, with no offset
    from_end = page.count - number * per_page if not page.approximate else from_start
    return min(from_start, from_end) <= CHEAP_OFFSET


def filter_links(
    params: Mapping[str, str], param: str, choices: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """ "All", then one link per choice of a filter (each back on the first page)."""
    selected = params.get(param)
    every = link(params, **{param: None, "p": None})
    links = [{"label": "All", "url": every, "selected": selected is None}]
    for value, label in choices:
        url = link(params, **{param: value, "p": None})
        links.append({"label": label, "url": url, "selected": selected == value})
    return links


def date_links(params: Mapping[str, str], dates: DateHierarchy | None) -> dict[str, Any] | None:
    """The date hierarchy's links: up a level, and each year, month or day below (every
    other parameter kept, back on the first page)."""
    if dates is None:
        return None

    def url(values: tuple[int, ...]) -> str:
        return link(params, p=None, **hierarchy_params(dates.name, values))

    back = dates.back
    return {
        "back": {"label": back[1], "url": url(back[0])} if back is not None else None,
        "links": [{"label": label, "url": url(values)} for values, label in dates.choices],
        "current": dates.current,
    }
