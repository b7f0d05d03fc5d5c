"""``UserAdmin`` and ``GroupAdmin``: plait.auth's users and groups in the admin.

A user's password is set on a page of its own (never shown, not even hashed); the add
form asks for it twice. ``is_staff`` and ``is_superuser``, read-only in ``User``'s API
schemas, are edited here, with the user's groups and permissions.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from msgspec import Meta

from plait import Request, Response, forms
from plait.admin._history import HIDDEN, log
from plait.admin._options import ModelAdmin, object_label

if TYPE_CHECKING:
    from plait.admin._site import Admin
    from plait.admin._views import Views

__all__ = ["GroupAdmin", "PasswordPage", "UserAdmin"]

MIN_LENGTH = 8


def _password(label: str, help_text: str) -> Any:
    """A new password's input (the ModelAdmin checks and hashes it)."""
    widget = forms.Widget("password", autocomplete="new-password")
    return Annotated[str, widget, Meta(title=label, description=help_text)]


class UserAdmin(ModelAdmin):
    """plait.auth's ``User`` in the admin (Django's ``UserAdmin``)::

    from plait.admin import GroupAdmin, UserAdmin
    from plait.auth import Group, User

    admin.register(User, UserAdmin)
    admin.register(Group, GroupAdmin)
    """

    list_display = ("username", "email", "is_staff", "is_superuser", "is_active")
    search_fields = ("username", "email")
    list_filter = ("is_staff", "is_superuser", "is_active")
    ordering = ("username",)
    extra_fields = ("is_staff", "is_superuser")
    many_to_many = ("groups", "user_permissions")

    def virtual_fields(self, kind: str) -> dict[str, Any]:
        if kind not in ("add", "password"):
            return {}
        return {
            "password1": _password("Password", f"At least {MIN_LENGTH} characters."),
            "password2": _password(
                "Password confirmation", "Enter the same password as before, for verification."
            ),
        }

    async def apply_virtual(self, obj: Any, values: dict[str, Any]) -> dict[str, str]:
        from plait.auth import hash_password

        first, second = str(values.get("password1", "")), str(values.get("password2", ""))
        if len(first) < MIN_LENGTH:
            return {
                "password1": "This password is too short. It must contain at least "
                f"{MIN_LENGTH} characters."
            }
        if first != second:
            return {"password2": "The two password fields didn't match."}
        obj.password = await asyncio.to_thread(hash_password, first)
        return {}


class GroupAdmin(ModelAdmin):
    """plait.auth's ``Group`` in the admin: a name and its permissions."""

    search_fields = ("name",)
    ordering = ("name",)
    many_to_many = ("permissions",)


class PasswordPage:
    """``GET/POST {prefix}/<model>/<pk>/password/``: set a user's password (``change``)."""

    def __init__(self, site: Admin, views: Views) -> None:
        self.site = site
        self.views = views

    async def __call__(self, request: Request, model: str, pk: str) -> Response:
        from plait.admin._bound import get_object
        from plait.admin._page_changeform import form_context
        from plait.admin._views import Denied

        views = self.views
        try:
            model_admin = await views.authorize(request, "change", model)
        except Denied as denied:
            return denied.response
        spec = views.model_form(model_admin, "password")
        if not spec.form.fields:
            return views.error(request, 404, "There is no such page in the admin.")
        async with self.site.db.session() as session:
            obj = await get_object(session, model_admin, pk)
            if obj is None:
                return views.error(request, 404, f"No {model_admin.label} with the key {pk!r}.")
            label = object_label(obj)
            form = spec.form(await request.form() if request.method == "POST" else None)
            if form.is_valid():
                errors = await model_admin.apply_virtual(obj, dict(form.cleaned_data))
                for name, message in errors.items():
                    form.add_error(name if name in form.fields else None, message)
                if not errors:
                    if self.site.history:
                        hidden = {"field": "Password", "old": HIDDEN, "new": HIDDEN}
                        session.add(log(request, model_admin, obj, "change", [hidden]))
                    await session.commit()
                    await self._keep_signed_in(request, obj)
                    url = self.site.url(request, model_admin.slug, pk, "change")
                    return views.done(
                        request, url, "Password changed successfully.", {"_msg": "password"}
                    )
        context = {
            "title": "Change password",
            "object_label": label,
            "model": model_admin,
            **form_context(form),
            "readonly": [],
            "messages": [],
            "delete_url": None,
            "can_add": False,
            "breadcrumbs": views.crumbs(request, model_admin),
        }
        return views.page(request, "change_form.html", context)

    async def _keep_signed_in(self, request: Request, obj: Any) -> None:
        """Changing one's own password ends one's other sessions, not this one (Django's
        ``update_session_auth_hash``)."""
        user = request.user
        if self.site.auth is None or getattr(user, "id", None) != getattr(obj, "id", object()):
            return
        from plait.auth import login

        await login(request, obj)
