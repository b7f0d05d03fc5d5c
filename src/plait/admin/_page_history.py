"""An object's history page: every logged change of one row."""

from __future__ import annotations

from plait import Request, Response
from plait.admin._bound import (
    get_object,
)
from plait.admin._history import recent
from plait.admin._options import object_label
from plait.admin._page_base import HISTORY_LIMIT, Denied, PageBase

__all__ = ["HistoryPage"]


class HistoryPage(PageBase):
    """``{prefix}/<model>/<pk>/history/``."""

    async def history(self, request: Request, model: str, pk: str) -> Response:
        """``{prefix}/<model>/<pk>/history/``: every logged change of one object."""
        try:
            model_admin = await self.authorize(request, "view", model)
        except Denied as denied:
            return denied.response
        async with self.site.db.session() as session:
            obj = await get_object(session, model_admin, pk)
            entries = await recent(
                session, models=[model_admin.slug], object_id=pk, limit=HISTORY_LIMIT
            )
            if obj is None and not entries:
                return self.error(request, 404, f"No {model_admin.label} with the key {pk!r}.")
            label = object_label(obj) if obj is not None else entries[0].object_repr
        context = {
            "title": "Change history",
            "object_label": label,
            "model": model_admin,
            "entries": list(reversed(entries)),
            "change_url": self.site.url(request, model_admin.slug, pk, "change")
            if obj is not None
            else None,
            "breadcrumbs": self.crumbs(request, model_admin),
        }
        return self.page(request, "object_history.html", context)
