"""The admin pages' common ground: the page frame, who may see what, messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from plait import RedirectResponse, Request, Response
from plait.admin._bound import (
    deleted_text,
    get_object,
    saved_text,
)
from plait.admin._options import Action, ModelAdmin
from plait.admin._templates import HTMX_VERSION

if TYPE_CHECKING:
    from plait.admin._site import Admin

__all__ = ["HISTORY_LIMIT", "NONE_SELECTED", "Denied", "PageBase", "is_anonymous", "is_staff"]


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


class PageBase:
    """What every page of one :class:`~plait.admin.Admin` uses: the site, the page
    frame, the staff and permission checks, messages and redirects after a write."""

    def __init__(self, site: Admin) -> None:
        self.site = site

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
            "htmx_url": site.url(request, "static", "htmx.min.js").rstrip("/")
            + f"?v={HTMX_VERSION}",
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
