"""Deleting: one row from its page, or the rows ticked in the changelist."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plait import Request, Response
from plait.admin._actions import related_rows
from plait.admin._bound import (
    deleted_text,
    get_many,
    get_object,
    saved_text,
)
from plait.admin._history import log
from plait.admin._options import ModelAdmin, object_label
from plait.admin._page_base import NONE_SELECTED, Denied, PageBase

__all__ = ["DeletePage"]


class DeletePage(PageBase):
    """``{prefix}/<model>/<pk>/delete/`` and the changelist's "Delete selected"."""

    async def delete(self, request: Request, model: str, pk: str) -> Response:
        try:
            model_admin = await self.authorize(request, "delete", model)
        except Denied as denied:
            return denied.response
        error = None
        async with self.site.db.session() as session:
            obj = await get_object(session, model_admin, pk)
            if obj is None:
                return self.error(request, 404, f"No {model_admin.label} with the key {pk!r}.")
            label = object_label(obj)
            going, protected = await related_rows(session, model_admin, [obj])
            if request.method == "POST":
                if not await self._delete_rows(request, session, model_admin, [obj]):
                    error = (
                        f"The {model_admin.label} “{label}” cannot be deleted: other records "
                        "refer to it. Delete or change those first."
                    )
                else:
                    url = self.site.url(request, model_admin.slug)
                    text = saved_text(model_admin, "deleted", obj)
                    return self.done(request, url, text, {"_msg": "deleted"})
        context = {
            "title": "Are you sure?",
            "model": model_admin,
            "object_label": label,
            "error": error,
            "going": going,
            "protected": protected,
            "cancel_url": self.site.url(request, model_admin.slug, pk, "change"),
            "breadcrumbs": self.crumbs(request, model_admin),
        }
        return self.page(request, "delete_confirmation.html", context, 409 if error else 200)

    async def delete_selected(self, request: Request, model: str) -> Response:
        """The changelist's bulk action: confirm, then delete the ticked rows (POST only)."""
        try:
            model_admin = await self.authorize(request, "delete", model)
        except Denied as denied:
            return denied.response
        form = await request.form()
        keys = [key for key in form.getlist("_selected") if isinstance(key, str)]
        changelist = self.site.url(request, model_admin.slug)
        error = None
        async with self.site.db.session() as session:
            objects = await get_many(session, model_admin, keys)
            if not objects:
                return self.done(request, changelist, NONE_SELECTED, {"_msg": "none"}, "warning")
            labels = [
                (str(getattr(obj, model_admin.pk_name)), object_label(obj)) for obj in objects
            ]
            going, protected = await related_rows(session, model_admin, objects)
            if form.get("post") == "yes":
                if not await self._delete_rows(request, session, model_admin, objects):
                    error = (
                        f"These {model_admin.label_plural} cannot be deleted: other records "
                        "refer to some of them. Delete or change those first."
                    )
                else:
                    text = deleted_text(model_admin, len(objects))
                    query = {"_msg": "deleted_many", "_n": str(len(objects))}
                    return self.done(request, changelist, text, query)
        context = {
            "title": "Are you sure?",
            "model": model_admin,
            "objects": labels,
            "error": error,
            "going": going,
            "protected": protected,
            "cancel_url": changelist,
            "breadcrumbs": self.crumbs(request, model_admin),
        }
        return self.page(request, "delete_selected.html", context, 409 if error else 200)

    async def _delete_rows(
        self, request: Request, session: AsyncSession, model_admin: ModelAdmin, objects: list[Any]
    ) -> bool:
        """Delete ``objects`` (logged) and commit; False when other rows still refer to them."""
        try:
            for obj in objects:
                if self.site.history:
                    session.add(log(request, model_admin, obj, "delete"))
                await model_admin.delete_model(request, session, obj)
            await session.commit()
        except IntegrityError:
            await session.rollback()
            return False
        return True
