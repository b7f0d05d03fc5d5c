"""The add and change forms (with their inlines): GET shows, POST validates and saves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from plait import Request, Response
from plait.admin._bound import (
    bound_fields,
    default_value,
    field_choices,
    get_object,
    inline_errors,
    inline_writer,
    non_field_errors,
    readonly_values,
    saved_text,
    submitted_values,
)
from plait.admin._fields import (
    FormField,
    form_fields,
    input_value,
    parse_form,
)
from plait.admin._inlines import InlineRows, inline_rows
from plait.admin._options import Action, ModelAdmin, object_label
from plait.admin._saving import save

if TYPE_CHECKING:
    from plait.admin._site import Admin
from plait.admin._page_base import Denied, PageBase

__all__ = ["ChangeFormPage"]


class ChangeFormPage(PageBase):
    """``{prefix}/<model>/add/`` and ``{prefix}/<model>/<pk>/change/``."""

    def __init__(self, site: Admin) -> None:
        super().__init__(site)
        self._fields: dict[tuple[type, str], list[FormField]] = {}

    def form_fields(self, model_admin: ModelAdmin, kind: str) -> list[FormField]:
        key = (model_admin.model, kind)
        if key not in self._fields:
            found = (
                []
                if kind == "password"
                else form_fields(model_admin, "create" if kind == "add" else "update")
            )
            self._fields[key] = found + list(model_admin.virtual_fields(kind))
        return self._fields[key]

    async def prepare(self, fields: list[FormField]) -> None:
        """Before a form lists plait.auth's permissions, create the missing ones (so every
        model's can be assigned), in a transaction of its own."""
        if self.site.auth is not None and any(
            f.related is not None
            and f.related.__module__.startswith("plait.auth")
            and f.related.__name__ == "Permission"
            for f in fields
        ):
            async with self.site.db.transaction() as writing:
                await self.site.create_permissions(writing)

    async def inlines(
        self,
        request: Request,
        model_admin: ModelAdmin,
        session: AsyncSession,
        parent_key: Any,
        form: Mapping[str, Any] | None,
    ) -> list[InlineRows]:
        """The inlines of the form, with their rows (stored, or as posted) and writes."""
        states = []
        for inline in getattr(model_admin, "inline_instances", ()):
            registered = inline.model in self.site.registry

            async def can(
                action: Action, model: type = inline.model, registered: bool = registered
            ) -> bool:
                return await self.site.allowed(request, action, model) if registered else True

            if not await can("view"):
                continue
            state = InlineRows(inline, await can("add"), await can("change"), await can("delete"))
            fields = inline.fields["create"] + inline.fields["update"]
            choices = await field_choices(session, fields)
            await inline_rows(state, session, parent_key, form, choices, bound_fields)
            states.append(state)
        return states

    async def add(self, request: Request, model: str) -> Response:
        try:
            model_admin = await self.authorize(request, "add", model)
        except Denied as denied:
            return denied.response
        fields = self.form_fields(model_admin, "add")
        await self.prepare(fields)
        errors: dict[str, str] = {}
        async with self.site.db.session() as session:
            messages = await self.messages(request, model_admin, session)  # "add another"
            choices = await field_choices(session, fields)
            form = await request.form() if request.method == "POST" else None
            inlines = await self.inlines(request, model_admin, session, None, form)
            if form is not None:
                raw, errors = parse_form(fields, form, "create", choices)
                inline_errors(inlines, errors)
                if not errors:
                    obj, errors = await self._save(
                        request, session, model_admin, None, raw, fields, inlines
                    )
                    if obj is not None:
                        return self._after_save(request, model_admin, form, obj, "added")
                values = submitted_values(fields, form)
            else:
                values = {f.name: default_value(model_admin, f) for f in fields}
        context = {
            "title": f"Add {model_admin.label}",
            "model": model_admin,
            "fields": bound_fields(fields, values, errors, choices),
            "inlines": [state.view(bound_fields) for state in inlines],
            "errors": errors,
            "non_field_errors": non_field_errors(fields, errors),
            "readonly": [],
            "messages": messages,
            "delete_url": None,
            "breadcrumbs": self.crumbs(request, model_admin),
        }
        return self.page(request, "change_form.html", context)

    async def change(self, request: Request, model: str, pk: str) -> Response:
        """The change form; with only the ``view`` permission, the row read-only (GET)."""
        try:
            action: Action = "change" if request.method == "POST" else "view"
            model_admin = await self.authorize(request, action, model)
        except Denied as denied:
            return denied.response
        can_change = await self.site.allowed(request, "change", model_admin.model)
        fields = self.form_fields(model_admin, "change") if can_change else []
        await self.prepare(fields)
        errors: dict[str, str] = {}
        async with self.site.db.session() as session:
            obj = await get_object(session, model_admin, pk)
            if obj is None:
                return self.error(request, 404, f"No {model_admin.label} with the key {pk!r}.")
            many = [f.name for f in fields if f.many]
            if many:
                await session.refresh(obj, many)  # relationships load only when asked
            # Read before any write: a failed commit expires the object.
            label = object_label(obj)
            readonly = readonly_values(model_admin, fields, obj)
            messages = await self.messages(request, model_admin, session)
            choices = await field_choices(session, fields)
            shown = {f.name: input_value(f, getattr(obj, f.name)) for f in fields if not f.virtual}
            form = await request.form() if request.method == "POST" else None
            key = getattr(obj, model_admin.pk_name)
            inlines = await self.inlines(request, model_admin, session, key, form)
            if form is not None:
                raw, errors = parse_form(fields, form, "update", choices, shown)
                inline_errors(inlines, errors)
                if not errors:
                    saved, errors = await self._save(
                        request, session, model_admin, obj, raw, fields, inlines
                    )
                    if saved is not None:
                        return self._after_save(request, model_admin, form, saved, "changed")
                values = submitted_values(fields, form)
            else:
                values = shown
        can_delete = await self.site.allowed(request, "delete", model_admin.model)
        context = {
            "title": f"{'Change' if can_change else 'View'} {model_admin.label}",
            "can_change": can_change,
            "can_add": await self.site.allowed(request, "add", model_admin.model),
            "object_label": label,
            "model": model_admin,
            "fields": bound_fields(fields, values, errors, choices),
            "inlines": [state.view(bound_fields) for state in inlines] if can_change else [],
            "errors": errors,
            "non_field_errors": non_field_errors(fields, errors),
            "readonly": readonly,
            "messages": messages,
            "delete_url": self.site.url(request, model_admin.slug, pk, "delete")
            if can_delete
            else None,
            "history_url": self.site.url(request, model_admin.slug, pk, "history")
            if self.site.history
            else None,
            "password_url": self.site.url(request, model_admin.slug, pk, "password")
            if can_change and model_admin.virtual_fields("password")
            else None,
            "breadcrumbs": self.crumbs(request, model_admin),
        }
        return self.page(request, "change_form.html", context)

    async def _save(
        self,
        request: Request,
        session: AsyncSession,
        model_admin: ModelAdmin,
        obj: Any,
        raw: dict[str, Any],
        fields: list[FormField],
        inlines: list[InlineRows],
    ) -> tuple[Any, dict[str, str]]:
        """Save the row (``obj`` None: a new one) and its inlines' rows, in one transaction."""
        writer = inline_writer(session, inlines)
        return await save(
            request, session, model_admin, obj, raw, fields, self.site.history, writer
        )

    def _after_save(
        self,
        request: Request,
        model_admin: ModelAdmin,
        form: Mapping[str, Any],
        obj: Any,
        note: str,
    ) -> Response:
        slug = model_admin.slug
        if "_continue" in form:
            url = self.site.url(request, slug, getattr(obj, model_admin.pk_name), "change")
        elif "_addanother" in form:
            url = self.site.url(request, slug, "add")
        else:
            url = self.site.url(request, slug)
        query = {"_msg": note, "_pk": str(getattr(obj, model_admin.pk_name))}
        return self.done(request, url, saved_text(model_admin, note, obj), query)
