"""The admin's own log-in and log-out pages (Django's ``admin:login``/``admin:logout``).

They need plait.auth on the app (``Auth(app, db)``): without it the admin sends visitors to
its ``login_url`` and has no pages of its own. Log-in attempts count against the same rate
limit as plait.auth's log-in page (plait.ratelimit, per client address).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plait import RedirectResponse, Request, Response

if TYPE_CHECKING:
    from plait.admin._site import Admin
    from plait.admin._views import Views

__all__ = ["LoginPages"]

_WRONG = (
    "Please enter the correct username and password for a staff account. "
    "Note that both fields may be case-sensitive."
)
_HEADERS = {"Cache-Control": "no-store, private", "X-Frame-Options": "DENY"}


class LoginPages:
    """``GET/POST {prefix}/login/`` and ``POST {prefix}/logout/``."""

    def __init__(self, site: Admin, views: Views, login_limit: str | None) -> None:
        self.site = site
        self.views = views
        self.login_limit = login_limit
        self._rule: Any = None

    def _auth_missing(self, request: Request) -> Response | None:
        if self.site.auth is None:
            return self.views.error(request, 404, "There is no such page in the admin.")
        return None

    async def _refused(self, request: Request) -> int | None:
        """Seconds to wait when this address tried to log in too often, else None."""
        if self.login_limit is None or request.method != "POST":
            return None
        from plait.ratelimit import RateLimit, RateLimiter

        if self._rule is None:
            # The group of plait.auth's log-in page: one budget for both doors.
            self._rule = RateLimit(
                self.login_limit,
                key="ip",
                strategy="sliding",
                group="plait.auth.login",
                headers=False,
            )
        decision = await self._rule.hit(request.scope, RateLimiter.of(self.site.app))
        return None if decision is None or decision.allowed else int(decision.reset)

    async def login(self, request: Request) -> Response:
        if (missing := self._auth_missing(request)) is not None:
            return missing
        from plait.admin._views import is_anonymous, is_staff
        from plait.auth import authenticate, login, safe_next

        site = self.site
        query_next = request.query_params.get("next", "")
        user = request.user
        error: str | None = None
        username = ""
        status = 200
        if request.method == "POST":
            form = await request.form()
            username = str(form.get("username", ""))[:150]
            password = str(form.get("password", ""))
            target = safe_next(str(form.get("next", "")), site.url(request))
            if (wait := await self._refused(request)) is not None:
                error, status = f"Too many attempts. Please try again in {wait} seconds.", 429
            else:
                async with site.db.transaction() as session:
                    found = await authenticate(session, username, password)
                    if found is not None and is_staff(found):
                        await login(request, found)
                        return RedirectResponse(target, status_code=303, headers=_HEADERS)
                error = _WRONG
            query_next = str(form.get("next", ""))
        elif is_staff(user):
            target = safe_next(query_next, site.url(request))
            return RedirectResponse(target, status_code=303, headers=_HEADERS)
        signed_in = None if is_anonymous(user) else getattr(user, "username", str(user))
        context = {
            "title": "Log in",
            "error": error,
            "username": username,
            "next": safe_next(query_next, site.url(request)),
            "signed_in_as": signed_in,
            "login_action": site.url(request, "login"),
        }
        return self.views.page(request, "login.html", context, status)

    async def logout(self, request: Request) -> Response:
        if (missing := self._auth_missing(request)) is not None:
            return missing
        from plait.auth import logout

        await logout(request)
        url = self.site.url(request, "login")
        return RedirectResponse(url, status_code=303, headers=_HEADERS)
