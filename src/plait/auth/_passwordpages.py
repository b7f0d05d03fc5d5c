"""Ready-made password pages (Django's password change and reset views), drawn by templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from msgspec import Meta

from plait import App, BackgroundTasks, HTMLResponse, RedirectResponse, Request, Response, forms
from plait.auth._dependencies import LoginRequired
from plait.auth._reset import OLD_PASSWORD_WRONG, ResetTokenInvalid, change_password, reset_user
from plait.auth._throttle import attempt_rule, ensure_limiter
from plait.auth._validators import PasswordInvalid
from plait.db import Session
from plait.ratelimit import RateLimiter
from plait.sessions import flash
from plait.templates import Templates

if TYPE_CHECKING:
    from plait.auth._auth import Auth

__all__ = ["PasswordChangeForm", "PasswordResetForm", "SetPasswordForm", "add_password_pages"]

_MISMATCH = "The two password fields didn't match."
_CHANGED = "Your password was changed."
_RESET_SENT = (
    "We've emailed you instructions for setting your password, if an account exists with the "
    "email you entered. You should receive them shortly."
)
_RESET_DONE = "Your password has been set. You may go ahead and log in now."

NewPassword = Annotated[forms.Password, Meta(title="New password")]
NewPasswordAgain = Annotated[forms.Password, Meta(title="New password confirmation")]


class SetPasswordForm(forms.Form):
    """Django's ``SetPasswordForm``: the new password twice."""

    new_password1: NewPassword
    new_password2: NewPasswordAgain

    def clean(self) -> None:
        first = self.cleaned_data.get("new_password1")
        if first is not None and first != self.cleaned_data.get("new_password2"):
            self.add_error("new_password2", _MISMATCH)


class PasswordChangeForm(SetPasswordForm):
    """Django's ``PasswordChangeForm``: the old password, then the new one twice."""

    old_password: Annotated[forms.Password, Meta(title="Old password")]


class PasswordResetForm(forms.Form):
    """Django's ``PasswordResetForm``: an e-mail address."""

    email: Annotated[str, Meta(title="Email", max_length=254)]


def add_password_pages(
    auth: Auth, app: App, *, prefix: str, layout: str, redirect_to: str, reset_limit: str | None
) -> None:
    """Add the password change and reset pages under ``prefix``."""
    ensure_limiter(app)
    reset_rule = attempt_rule(reset_limit, "plait.auth.password_reset")

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        context["layout"] = layout
        return Templates.of(app).render(request, name, context, status_code=status)

    async def change_page(
        request: Request, form: PasswordChangeForm, user: LoginRequired, session: Session
    ) -> Response:
        if form.is_valid():
            try:
                await change_password(request, session, user, form.old_password, form.new_password1)
            except PasswordInvalid as exc:
                wrong_old = exc.messages == [OLD_PASSWORD_WRONG]
                for message in exc.messages:
                    form.add_error("old_password" if wrong_old else "new_password2", message)
            else:
                flash(request, _CHANGED, "success")
                return RedirectResponse(redirect_to, status_code=303)
        return render(request, "auth/password_change.html", form=form)

    async def reset_page(
        request: Request, form: PasswordResetForm, tasks: BackgroundTasks
    ) -> Response:
        if request.method == "POST" and reset_rule is not None:
            decision = await reset_rule.hit(request.scope, RateLimiter.of(app))
            if decision is not None and not decision.allowed:
                form.add_error(
                    None, f"Too many attempts. Please try again in {decision.reset} seconds."
                )
                response = render(request, "auth/password_reset.html", 429, form=form)
                for header, value in decision.headers().items():
                    response.headers[header] = value
                return response
        if form.is_valid():

            def link(uid: str, token: str) -> str:
                return request.url_for("password_reset_confirm", uid=uid, token=token)

            # After the response, whether or not the address is known: the same answer, in
            # the same time.
            site = request.url.netloc
            tasks.add_task(auth.send_password_reset, form.email, link, site=site)
            flash(request, _RESET_SENT, "info")
            return RedirectResponse(app.url_path_for("login"), status_code=303)
        return render(request, "auth/password_reset.html", form=form)

    async def confirm_page(
        request: Request, form: SetPasswordForm, session: Session, uid: str, token: str
    ) -> Response:
        if await reset_user(auth, session, uid, token) is None:
            return render(request, "auth/password_reset_confirm.html", form=None)
        if form.is_valid():
            try:
                await auth.reset_password(session, uid, token, form.new_password1)
            except (PasswordInvalid, ResetTokenInvalid) as exc:
                problems = exc.messages if isinstance(exc, PasswordInvalid) else [str(exc)]
                for message in problems:
                    form.add_error("new_password2", message)
            else:
                flash(request, _RESET_DONE, "success")
                return RedirectResponse(app.url_path_for("login"), status_code=303)
        return render(request, "auth/password_reset_confirm.html", form=form)

    both = ("GET", "POST")
    options: dict[str, Any] = {"include_in_schema": False, "methods": both}
    app.add_route(f"{prefix}/password_change", change_page, name="password_change", **options)
    app.add_route(f"{prefix}/password_reset", reset_page, name="password_reset", **options)
    app.add_route(
        f"{prefix}/reset/{{uid}}/{{token}}", confirm_page, name="password_reset_confirm", **options
    )
