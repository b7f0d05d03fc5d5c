"""The changelist's bulk actions and CSV export, as route handlers."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from plait import Request, Response, StreamingResponse
from plait.admin._actions import actions_of, csv_rows
from plait.admin._bound import get_many
from plait.admin._history import log
from plait.admin._queries import filtered, ordered
from plait.admin._views import NONE_SELECTED, Denied

if TYPE_CHECKING:
    from plait.admin._site import Admin
    from plait.admin._views import Views

__all__ = ["BulkViews"]


class BulkViews:
    """``POST {prefix}/<model>/action/`` and ``GET {prefix}/<model>/export/``."""

    def __init__(self, site: Admin, views: Views) -> None:
        self.site = site
        self.views = views

    async def action(self, request: Request, model: str) -> Response:
        """Run the chosen action on the ticked rows (delete asks first)."""
        views = self.views
        form = await request.form()
        name = str(form.get("action", ""))
        if name == "delete_selected":
            return await views.delete_selected(request, model)
        try:
            views.check_staff(request)
            model_admin = self.site.model_admin(model)
            bulk = actions_of(model_admin).get(name) if model_admin is not None else None
            if model_admin is None or bulk is None:
                return views.error(request, 404, "There is no such action in the admin.")
            model_admin = await views.authorize(request, bulk.permission, model)
        except Denied as denied:
            return denied.response
        keys = [key for key in form.getlist("_selected") if isinstance(key, str)]
        changelist = self.site.url(request, model_admin.slug)
        async with self.site.db.session() as session:
            rows = await get_many(session, model_admin, keys)
            if not rows:
                return views.done(request, changelist, NONE_SELECTED, {"_msg": "none"}, "warning")
            message = await bulk.run(request, session, rows)
            if self.site.history:
                for row in rows:
                    session.add(log(request, model_admin, row, bulk.name))
            await session.commit()
        label = model_admin.label if len(rows) == 1 else model_admin.label_plural
        text = message or f"{bulk.description}: done on {len(rows)} {label}."
        return views.done(request, changelist, text, {"_msg": "action"})

    async def export(self, request: Request, model: str) -> Response:
        """The changelist's rows (its search and filters, all pages) as CSV."""
        try:
            model_admin = await self.views.authorize(request, "view", model)
        except Denied as denied:
            return denied.response
        params = dict(request.query_params)
        query, _ = filtered(model_admin, params)
        query = ordered(model_admin, query, params.get("o"))
        site = self.site

        async def body() -> AsyncIterator[bytes]:
            async with site.db.session() as session:
                async for chunk in csv_rows(session, model_admin, query):
                    yield chunk

        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        headers = {
            "Content-Disposition": f'attachment; filename="{model_admin.slug}-{stamp}.csv"',
            "Cache-Control": "no-store, private",
        }
        return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)
