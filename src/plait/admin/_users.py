"""``UserAdmin`` and ``GroupAdmin``: plait.auth's users and groups in the admin.

A user's password is set on a page of its own (never shown, not even hashed); the add
form asks for it twice. ``is_staff`` and ``is_superuser``, read-only in ``User``'s API
schemas, are edited here, with the user's groups and permissions.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from plait import Request, Response
from plait.admin._fields import FormField, parse_form
from plait.admin._history import HIDDEN, log
from plait.admin._options import ModelAdmin, object_label

if TYPE_CHECKING:
    from plait.admin._site import Admin
    from plait.admin._views import Views

__all__ = ["GroupAdmin", "PasswordPage", "UserAdmin"]

MIN_LENGTH = 8


def _password(name: str, label: str, help_text: str) -> FormField:
    return FormField(
        name=name,
        label=label,
        widget="password",
        field_type=str,
        required=True,
        nullable=False,
        has_default=False,
        help_text=help_text,
        virtual=True,
    )


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

    def virtual_fields(self, kind: str) -> list[Any]:
        if kind not in ("add", "password"):
            return []
        return [
            _password("password1", "Password", f"At least {MIN_LENGTH} characters."),
            _password(
                "password2",
                "Password confirmation",
                "Enter the same password as before, for verification.",
            ),
        ]

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
        from plait.admin._bound import bound_fields, get_object, non_field_errors
        from plait.admin._views import Denied

        views = self.views
        try:
            model_admin = await views.authorize(request, "change", model)
        except Denied as denied:
            return denied.response
        fields = views.form_fields(model_admin, "password")
        if not fields:
            return views.error(request, 404, "There is no such page in the admin.")
        errors: dict[str, str] = {}
        async with self.site.db.session() as session:
            obj = await get_object(session, model_admin, pk)
            if obj is None:
                return views.error(request, 404, f"No {model_admin.label} with the key {pk!r}.")
            label = object_label(obj)
            if request.method == "POST":
                raw, errors = parse_form(fields, await request.form(), "create", {})
                if not errors:
                    errors = await model_admin.apply_virtual(obj, raw)
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
            "fields": bound_fields(fields, {}, errors, {}),
            "errors": errors,
            "non_field_errors": non_field_errors(fields, errors),
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
