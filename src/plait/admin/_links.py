"""The changelist's links: column sorting, page numbers and filters, as query strings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from plait.admin._options import ModelAdmin
from plait.admin._queries import sortable

__all__ = ["filter_links", "header_links", "link", "page_links"]


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


def page_links(params: Mapping[str, str], page: int, pages: int) -> list[dict[str, Any]]:
    """Links to the first, last and nearby pages, ``None`` numbers where some are skipped."""
    if pages <= 1:
        return []
    wanted = {1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)}
    links: list[dict[str, Any]] = []
    previous = 0
    for number in sorted(wanted):
        if number > previous + 1:
            links.append({"number": None})
        url = link(params, p=str(number))
        links.append({"number": number, "url": url, "current": number == page})
        previous = number
    return links


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
