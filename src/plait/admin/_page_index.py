"""The admin's index page: the models the user may see, and their recent actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

from plait import Request, Response
from plait.admin._history import recent
from plait.admin._options import ModelAdmin
from plait.admin._page_base import Denied, PageBase

__all__ = ["IndexPage"]


class IndexPage(PageBase):
    """``{prefix}/``: the models by group, and the user's recent actions."""

    async def index(self, request: Request) -> Response:
        try:
            self.check_staff(request)
        except Denied as denied:
            return denied.response
        groups: dict[str, list[dict[str, Any]]] = {}
        visible = []
        for model_admin in self.site.registry.values():
            if not await self.site.allowed(request, "view", model_admin.model):
                continue
            visible.append(model_admin)
            can_add = await self.site.allowed(request, "add", model_admin.model)
            groups.setdefault(str(model_admin.group), []).append(
                {
                    "label": str(model_admin.label_plural).capitalize(),
                    "url": self.site.url(request, model_admin.slug),
                    "add_url": self.site.url(request, model_admin.slug, "add") if can_add else None,
                }
            )
        context = {
            "title": self.site.title,
            "groups": sorted(groups.items()),
            "recent": await self._recent(request, list(visible)),
        }
        return self.page(request, "index.html", context)

    async def _recent(self, request: Request, visible: list[ModelAdmin]) -> list[dict[str, Any]]:
        """The user's own latest actions, on the models they may still view (Django's "My
        actions"); deleted objects are not linked."""
        if not self.site.history:
            return []
        try:
            async with self.site.db.session() as session:
                entries = await recent(
                    session, models=[m.slug for m in visible], user=request.user, limit=10
                )
        except DBAPIError:  # no admin_log table yet (not migrated): the index still shows
            return []
        return [
            {
                "entry": entry,
                "url": None
                if entry.action == "delete"
                else self.site.url(request, entry.model, entry.object_id, "change"),
                "model": self.site.model_admin(entry.model),
            }
            for entry in entries
        ]
