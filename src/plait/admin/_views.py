"""The admin's pages: index, changelist, add, change and delete (GET shows, POST writes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from plait import RedirectResponse, Request, Response
from plait.admin._actions import actions_of, related_rows
from plait.admin._bound import (
    bound_fields,
    default_value,
    deleted_text,
    field_choices,
    get_many,
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
    format_value,
    input_value,
    parse_form,
)
from plait.admin._history import log, recent
from plait.admin._inlines import InlineRows, inline_rows
from plait.admin._keyset import CURSORS
from plait.admin._links import date_links, filter_links, header_links, link, page_links
from plait.admin._options import Action, ModelAdmin, object_label
from plait.admin._queries import (
    load_changelist,
    load_dates,
    load_filters,
    related_labels,
)
from plait.admin._saving import save

if TYPE_CHECKING:
    from plait.admin._site import Admin

__all__ = ["HISTORY_LIMIT", "NONE_SELECTED", "Denied", "Views", "is_anonymous", "is_staff"]

HISTORY_LIMIT = 500
"""The most log entries an object's history page shows (the newest)."""
_HEADERS = {"Cache-Control": "no-store, private", "X-Frame-Options": "DENY"}
_FLASHES = "_flashes"  # plait.sessions' key (the contract's flash format)
NONE_SELECTED = (
    "Items must be selected in order to perform actions on them. No items have been changed."
)


def is_staff(user: Any) -> bool:
    """An active staff member (duck-typed: ``is_active`` and ``is_staff``)."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


def is_anonymous(user: Any) -> bool:
    """Nobody signed in: no user, or one saying ``is_authenticated`` is false."""
    return user is None or getattr(user, "is_authenticated", True) is False


class Denied(Exception):
    """Raised with the answer for a user who may not see a page."""

    def __init__(self, response: Response) -> None:
        self.response = response


class Views:
    """The route handlers of one :class:`~plait.admin.Admin`."""

    def __init__(self, site: Admin) -> None:
        self.site = site
        self._fields: dict[tuple[type, str], list[FormField]] = {}

    # ---------------------------------------------------------------- plumbing

    def page(
        self, request: Request, template: str, context: Mapping[str, Any], status: int = 200
    ) -> Response:
        """An admin page: ``context`` plus what every page shows (title, user, links).

        Forms put ``csrf_input()`` (plait.templates' global) in when the request has a CSRF
        token (``has_csrf``): the admin refuses to start without CSRF unless told otherwise.
        """
        site = self.site
        user = request.user
        common: dict[str, Any] = {
            "site_title": site.title,
            "index_url": site.url(request),
            "static_url": site.url(request, "static", "admin.css").rstrip("/"),
            "script_url": site.url(request, "static", "admin.js").rstrip("/"),
            "site_url": site.site_url,
            "logout_url": site.logout_url,
            "user_name": getattr(user, "username", None) or str(user or ""),
            "has_csrf": callable(request.scope.get("csrf_token")),
            "messages": [],
            "breadcrumbs": [],
        }
        name, values = f"admin/{template}", {**common, **context}
        return site.templates.render(request, name, values, status_code=status, headers=_HEADERS)

    def error(self, request: Request, status: int, message: str) -> Response:
        title = {403: "Forbidden", 404: "Not found"}.get(status, "Error")
        return self.page(request, "error.html", {"title": title, "message": message}, status)

    def check_staff(self, request: Request) -> None:
        """Raise the answer for anyone but active staff: the login page, or a 403."""
        user = request.user
        if is_anonymous(user):
            url = self.site.login_redirect(request)
            raise Denied(RedirectResponse(url, status_code=303, headers=_HEADERS))
        if not is_staff(user):
            context = {
                "title": "Forbidden",
                "message": "You are not allowed to use this site.",
                "login_again_url": self.site.login_redirect(request),
            }
            raise Denied(self.page(request, "error.html", context, 403))

    async def authorize(self, request: Request, action: Action, slug: str) -> ModelAdmin:
        """The ModelAdmin of ``slug`` if the user may ``action`` it; else raise the answer."""
        self.check_staff(request)
        model_admin = self.site.model_admin(slug)
        if model_admin is None:
            raise Denied(self.error(request, 404, "There is no such page in the admin."))
        if not await self.site.allowed(request, action, model_admin.model):
            raise Denied(self.error(request, 403, f"You may not {action} these records."))
        return model_admin

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

    async def messages(
        self, request: Request, model_admin: ModelAdmin, session: AsyncSession
    ) -> list[tuple[str, str]]:
        """Messages left by the last write: in the session, or named in the query string.

        A query string only names a message (``?_msg=added&_pk=3``); its text is made here,
        so a link cannot make the admin say anything else.
        """
        session_data = request.scope.get("session")
        if session_data is not None:
            if _FLASHES not in session_data:
                return []
            return [(str(c), str(m)) for c, m in session_data.pop(_FLASHES)]
        query = request.query_params
        note, key, count = query.get("_msg"), query.get("_pk"), query.get("_n", "")
        if note in ("added", "changed") and key is not None:
            obj = await get_object(session, model_admin, key)
            return [("success", saved_text(model_admin, note, obj))]
        if note == "deleted":
            return [("success", saved_text(model_admin, note, None))]
        if note == "action":
            return [("success", "The action was done.")]
        if note == "password":
            return [("success", "Password changed successfully.")]
        if note == "none":
            return [("warning", NONE_SELECTED)]
        if note == "deleted_many" and count.isdigit():
            return [("success", deleted_text(model_admin, int(count)))]
        return []

    def done(
        self,
        request: Request,
        url: str,
        text: str,
        query: Mapping[str, str],
        category: str = "success",
    ) -> Response:
        """Redirect after a write (303) with its message: flashed, or named in ``query``."""
        session_data = request.scope.get("session")
        if session_data is not None:
            session_data[_FLASHES] = [*session_data.get(_FLASHES, ()), [category, text]]
        else:
            url += ("&" if "?" in url else "?") + urlencode(query)
        return RedirectResponse(url, status_code=303, headers=_HEADERS)

    def crumbs(self, request: Request, model_admin: ModelAdmin) -> list[tuple[str, str]]:
        return [
            (self.site.title, self.site.url(request)),
            (str(model_admin.label_plural).capitalize(), self.site.url(request, model_admin.slug)),
        ]

    # ---------------------------------------------------------------- pages

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

    async def changelist(self, request: Request, model: str) -> Response:
        try:
            model_admin = await self.authorize(request, "view", model)
        except Denied as denied:
            return denied.response
        query = {k: v for k, v in request.query_params.items() if k not in ("_msg", "_pk")}
        params = {k: v for k, v in query.items() if k not in CURSORS}  # for the other links
        async with self.site.db.session() as session:
            page = await load_changelist(model_admin, session, query)
            filters = await load_filters(model_admin, session, params)
            dates = await load_dates(model_admin, session, params)
            labels = await related_labels(model_admin, session, page.objects)
            messages = await self.messages(request, model_admin, session)
        rows = []
        for obj in page.objects:
            cells = []
            for entry in model_admin.list_display:
                value = model_admin.display_value(entry, obj)
                if isinstance(entry, str) and entry in labels:
                    cells.append(labels[entry].get(value, format_value(value)))
                else:
                    cells.append(value if entry == "__str__" else format_value(value))
            key = str(getattr(obj, model_admin.pk_name))
            url = self.site.url(request, model_admin.slug, key, "change")
            rows.append({"url": url, "cells": cells, "key": key})
        can_add = await self.site.allowed(request, "add", model_admin.model)
        can_delete = await self.site.allowed(request, "delete", model_admin.model)
        delete = ("delete_selected", f"Delete selected {model_admin.label_plural}")
        actions = [delete] if can_delete else []
        for name, bulk in actions_of(model_admin).items():
            if await self.site.allowed(request, bulk.permission, model_admin.model):
                actions.append((name, bulk.description))
        context = {
            "title": f"Select {model_admin.label} to change",
            "model": model_admin,
            "headers": header_links(model_admin, params, page.order),
            "rows": rows,
            "page": page,
            "pages": page_links(query, page, model_admin.per_page),
            "query": params.get("q", ""),
            "search": bool(model_admin.search_fields),
            "filters": [(f, filter_links(params, f.param, f.choices)) for f in filters],
            "dates": date_links(params, dates),
            "add_url": self.site.url(request, model_admin.slug, "add") if can_add else None,
            "bulk_delete_url": self.site.url(request, model_admin.slug, "action")
            if actions
            else None,
            "actions": actions,
            "export_url": self.site.url(request, model_admin.slug, "export")
            + link(params, p=None).rstrip("?"),
            "messages": messages,
            "breadcrumbs": self.crumbs(request, model_admin)[:1],
        }
        return self.page(request, "change_list.html", context)

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
                    obj, errors = await save(
                        request,
                        session,
                        model_admin,
                        None,
                        raw,
                        fields,
                        self.site.history,
                        inline_writer(session, inlines),
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
                    saved, errors = await save(
                        request,
                        session,
                        model_admin,
                        obj,
                        raw,
                        fields,
                        self.site.history,
                        inline_writer(session, inlines),
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
                try:
                    if self.site.history:
                        session.add(log(request, model_admin, obj, "delete"))
                    await model_admin.delete_model(request, session, obj)
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
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
                try:
                    for obj in objects:
                        if self.site.history:
                            session.add(log(request, model_admin, obj, "delete"))
                        await model_admin.delete_model(request, session, obj)
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
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
