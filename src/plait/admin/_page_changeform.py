"""The add and change forms (with their inlines): GET shows, POST validates and saves.

The forms are plait.forms forms built from the model (:mod:`plait.admin._forms`): they draw
the controls, read what was posted and say what is wrong, beside each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from plait import Request, Response, forms
from plait.admin._autocomplete import autocomplete_target, autocompleted
from plait.admin._bound import get_object, inline_errors, inline_writer, readonly_values, saved_text
from plait.admin._forms import ModelForm, Page, bind, initial_values, model_form, to_save
from plait.admin._inlines import InlineRows, inline_rows
from plait.admin._options import Action, ModelAdmin, object_label
from plait.admin._page_base import Denied, PageBase
from plait.admin._saving import save

if TYPE_CHECKING:
    from plait.admin._site import Admin

__all__ = ["ChangeFormPage", "form_context"]


def form_context(form: forms.Form | None) -> dict[str, Any]:
    """What the change form template reads of ``form`` (None: nothing to edit)."""
    if form is None:
        return {"fields": [], "errors": {}, "non_field_errors": []}
    return {
        "fields": list(form),
        "errors": form.errors,
        "non_field_errors": form.non_field_errors,
    }


class ChangeFormPage(PageBase):
    """``{prefix}/<model>/add/`` and ``{prefix}/<model>/<pk>/change/``."""

    def __init__(self, site: Admin) -> None:
        super().__init__(site)
        self._forms: dict[tuple[type, Page, frozenset[str]], ModelForm] = {}

    def model_form(
        self, model_admin: ModelAdmin, page: Page, searched: frozenset[str] = frozenset()
    ) -> ModelForm:
        """The form of ``page`` for ``model_admin``'s model, built once (for each set of
        foreign keys searched as you type)."""
        key = (model_admin.model, page, searched)
        if key not in self._forms:
            self._forms[key] = model_form(model_admin, page, searched=searched)
        return self._forms[key]

    async def searched_form(self, model_admin: ModelAdmin, page: Page) -> ModelForm:
        """The form of ``page``, its foreign keys to big tables searched as you type (see
        :func:`~plait.admin._autocomplete.autocompleted`: a count per request, which
        stops after ``autocomplete_above`` rows)."""
        spec = self.model_form(model_admin, page)
        names = [n for n in spec.related if n not in spec.many]
        if not any(autocomplete_target(self.site, model_admin, n) for n in names):
            return spec
        async with self.site.db.session() as session:
            searched = await autocompleted(self.site, session, model_admin, names)
        return self.model_form(model_admin, page, searched)

    async def prepare(self, spec: ModelForm | None) -> None:
        """Before a form lists plait.auth's permissions, create the missing ones (so every
        model's can be assigned), in a transaction of its own."""
        if spec is None or self.site.auth is None:
            return
        if any(
            target.__module__.startswith("plait.auth") and target.__name__ == "Permission"
            for target, _ in spec.related.values()
        ):
            async with self.site.db.transaction() as writing:
                await self.site.create_permissions(writing)

    async def inlines(
        self,
        request: Request,
        model_admin: ModelAdmin,
        session: AsyncSession,
        parent_key: Any,
        data: Mapping[str, Any] | None,
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
            names = list(inline.forms["add"].related)
            state.searched = await autocompleted(self.site, session, inline.admin, names)
            await inline_rows(state, session, parent_key, data)
            states.append(state)
        return states

    async def add(self, request: Request, model: str) -> Response:
        try:
            model_admin = await self.authorize(request, "add", model)
        except Denied as denied:
            return denied.response
        spec = await self.searched_form(model_admin, "add")
        await self.prepare(spec)
        async with self.site.db.session() as session:
            messages = await self.messages(request, model_admin, session)  # "add another"
            data = await request.form() if request.method == "POST" else None
            form = await bind(spec, session, data, initial_values(model_admin, spec))
            inlines = await self.inlines(request, model_admin, session, None, data)
            if data is not None:
                done = await self._submit(request, session, model_admin, spec, form, None, inlines)
                if done is not None:
                    return done
        context = {
            "title": f"Add {model_admin.label}",
            "model": model_admin,
            **form_context(form),
            "inlines": [state.view() for state in inlines],
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
        spec = await self.searched_form(model_admin, "change") if can_change else None
        await self.prepare(spec)
        form = None
        inlines: list[InlineRows] = []
        async with self.site.db.session() as session:
            obj = await get_object(session, model_admin, pk)
            if obj is None:
                return self.error(request, 404, f"No {model_admin.label} with the key {pk!r}.")
            if spec is not None and spec.many:
                await session.refresh(obj, list(spec.many))  # relationships load when asked
            # Read before any write: a failed commit expires the object (the form's
            # initial values are read when it is made).
            label = object_label(obj)
            editable = spec.form.fields if spec is not None else {}
            readonly = readonly_values(model_admin, editable, obj)
            messages = await self.messages(request, model_admin, session)
            data = await request.form() if request.method == "POST" else None
            if spec is not None:
                form = await bind(spec, session, data, obj)
                key = getattr(obj, model_admin.pk_name)
                inlines = await self.inlines(request, model_admin, session, key, data)
            if data is not None and form is not None and spec is not None:
                done = await self._submit(request, session, model_admin, spec, form, obj, inlines)
                if done is not None:
                    return done
        can_delete = await self.site.allowed(request, "delete", model_admin.model)
        context = {
            "title": f"{'Change' if can_change else 'View'} {model_admin.label}",
            "can_change": can_change,
            "can_add": await self.site.allowed(request, "add", model_admin.model),
            "object_label": label,
            "model": model_admin,
            **form_context(form),
            "inlines": [state.view() for state in inlines],
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

    async def _submit(
        self,
        request: Request,
        session: AsyncSession,
        model_admin: ModelAdmin,
        spec: ModelForm,
        form: forms.Form,
        obj: Any,
        inlines: list[InlineRows],
    ) -> Response | None:
        """Save the posted row (``obj`` None: a new one) and its inlines' rows in one
        transaction, and redirect; None when the form shows errors instead."""
        inline_errors(inlines, form)
        if not form.is_valid():
            return None
        writer = inline_writer(session, inlines)
        values = to_save(spec, form, change=obj is not None)
        saved, errors = await save(
            request, session, model_admin, obj, values, spec, self.site.history, writer
        )
        for name, message in errors.items():
            form.add_error(name if name in form.fields else None, message)
        if saved is None:
            return None
        note = "added" if obj is None else "changed"
        assert form.data is not None
        return self._after_save(request, model_admin, form.data, saved, note)

    def _after_save(
        self,
        request: Request,
        model_admin: ModelAdmin,
        data: Mapping[str, Any],
        obj: Any,
        note: str,
    ) -> Response:
        slug = model_admin.slug
        if "_continue" in data:
            url = self.site.url(request, slug, getattr(obj, model_admin.pk_name), "change")
        elif "_addanother" in data:
            url = self.site.url(request, slug, "add")
        else:
            url = self.site.url(request, slug)
        query = {"_msg": note, "_pk": str(getattr(obj, model_admin.pk_name))}
        return self.done(request, url, saved_text(model_admin, note, obj), query)
