"""Foreign keys too big for a select: search as you type, answered by the related model's
admin (its ``search_fields``, its ``view`` permission).

The form draws the foreign key as a select of the one row it holds (as Django's
autocomplete); ``admin.js`` turns it into a combobox whose typing asks
``{prefix}/<model>/autocomplete/?field=<column>&term=<text>`` through htmx (shipped in the
package, ``static/htmx``) and lists the rows that answer. A foreign key is searched this way
when the ModelAdmin lists it in ``autocomplete_fields``, or on its own when the related
model is registered with ``search_fields`` and holds more than ``autocomplete_above`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from plait import Request, Response
from plait.admin._options import ModelAdmin, object_label, related_model
from plait.admin._page_base import Denied
from plait.admin._queries import estimate_rows, filtered

if TYPE_CHECKING:
    from plait.admin._site import Admin
    from plait.admin._views import Views

__all__ = ["RESULTS", "Autocomplete", "autocomplete_target", "autocompleted", "inline_admin"]

RESULTS = 20
"""Rows listed for one search (the first ones in the related admin's search order)."""
_HEADERS = {"Cache-Control": "no-store, private", "X-Content-Type-Options": "nosniff"}


def autocomplete_target(site: Admin, model_admin: ModelAdmin, name: str) -> ModelAdmin | None:
    """The related model's admin of foreign key ``name``, when it can be searched (it is
    registered with ``search_fields``); else None."""
    column = model_admin.columns.get(name)
    related = related_model(column, model_admin.model) if column is not None else None
    if related is None:
        return None
    target = site.registry.get(related[0])
    return target if target is not None and target.search_fields else None


async def autocompleted(
    site: Admin, session: AsyncSession, model_admin: ModelAdmin, names: Iterable[str]
) -> frozenset[str]:
    """Which foreign keys among ``names`` the form searches as you type: those listed in
    ``autocomplete_fields``, and those whose related table holds more than
    ``autocomplete_above`` rows (PostgreSQL's estimate, or a count that stops there)."""
    chosen = set()
    for name in names:
        target = autocomplete_target(site, model_admin, name)
        if target is None:
            continue
        if name in model_admin.autocomplete_fields:
            chosen.add(name)
            continue
        limit = model_admin.autocomplete_above
        if limit is not None and await estimate_rows(session, target, limit) > limit:
            chosen.add(name)
    return frozenset(chosen)


def inline_admin(site: Admin, slug: str) -> ModelAdmin | None:
    """The ModelAdmin of an inline's model (not registered itself) whose URL segment is
    ``slug``: its rows' foreign keys ask the autocomplete page too."""
    for model_admin in site.registry.values():
        for inline in getattr(model_admin, "inline_instances", ()):
            if inline.admin.slug == slug:
                helper: ModelAdmin = inline.admin
                return helper
    return None


class Autocomplete:
    """``GET {prefix}/<model>/autocomplete/?field=<column>&term=<text>``: the related rows
    matching ``term`` as the listbox's options."""

    def __init__(self, site: Admin, views: Views) -> None:
        self.site, self.views = site, views

    async def __call__(self, request: Request, model: str) -> Response:
        try:
            self.views.check_staff(request)
        except Denied as denied:
            return denied.response
        source = self.site.model_admin(model) or inline_admin(self.site, model)
        name = request.query_params.get("field", "")
        target = autocomplete_target(self.site, source, name) if source is not None else None
        if source is None or target is None:
            return self.views.error(request, 404, "There is no such page in the admin.")
        if not await self.site.allowed(request, "view", target.model):
            return self.views.error(request, 403, f"You may not view {target.label_plural}.")
        column = source.columns[name]
        related = related_model(column, source.model)
        assert related is not None  # autocomplete_target found it
        key_name = related[1]
        term = request.query_params.get("term", "")[:200]
        async with self.site.db.session() as session:
            rows = await _matching(session, target, term)
        options = [(str(getattr(row, key_name)), object_label(row)) for row in rows]
        context = {"options": options, "field": name}
        return self.site.templates.render(
            request, "admin/autocomplete_options.html", context, headers=_HEADERS
        )


async def _matching(session: AsyncSession, target: ModelAdmin, term: str) -> list[Any]:
    """The first rows of ``target`` whose search fields match ``term``."""
    query, _ = filtered(target, {"q": term})
    # The first search field orders the answer: a prefix search on an indexed column then
    # reads its first rows from the index, however big the table.
    first = getattr(target.model, target.search_fields[0].removeprefix("^"))
    key = getattr(target.model, target.pk_name)
    return list(await session.scalars(query.order_by(first, key).limit(RESULTS)))
