"""Ready-made log-in, log-out and sign-up pages (Django's auth views), drawn by templates."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import sqlalchemy as sa
from msgspec import Meta

from plait import App, HTMLResponse, RedirectResponse, Request, Response, forms
from plait.auth._login import authenticate, login, logout, safe_next
from plait.auth._models import User
from plait.auth._passwords import hash_password
from plait.auth._throttle import attempt_rule, ensure_limiter
from plait.auth._validators import password_problems
from plait.csrf import CSRFMiddleware
from plait.ratelimit import RateLimit, RateLimiter
from plait.sessions import flash
from plait.templates import Templates

if TYPE_CHECKING:
    from plait.auth._auth import Auth

__all__ = [
    "LoginForm",
    "PageOptions",
    "SignUpForm",
    "add_pages",
    "csrf_ready",
    "templates_ready",
]

_USERNAME_HELP = "150 characters or fewer. Letters, digits and @/./+/-/_ only."
_WRONG_LOGIN = (
    "Please enter a correct username and password. Note that both fields may be case-sensitive."
)


_NewPassword = Annotated[str, forms.Widget("password", autocomplete="new-password")]


class LoginForm(forms.Form):
    """Django's ``AuthenticationForm``: a username and a password."""

    username: Annotated[str, Meta(max_length=150), forms.Widget("text", autocomplete="username")]
    password: Annotated[str, forms.Widget("password", autocomplete="current-password")]


class SignUpForm(forms.Form):
    """Django's ``UserCreationForm``: a username and the password twice, with Django's field
    names (``username``, ``password1``, ``password2``)."""

    username: Annotated[
        str,
        Meta(max_length=150, pattern=r"^[\w.@+-]+$", description=_USERNAME_HELP),
        forms.Widget("text", autocomplete="username"),
    ]
    password1: Annotated[
        _NewPassword,
        Meta(title="Password", min_length=8, description="At least 8 characters."),
    ]
    password2: Annotated[
        _NewPassword,
        Meta(
            title="Password confirmation",
            description="Enter the same password as before, for verification.",
        ),
    ]

    def clean(self) -> None:
        password = self.cleaned_data.get("password1")
        if password is not None and password != self.cleaned_data.get("password2"):
            self.add_error("password2", "The two password fields didn't match.")

    def check_password(self, auth: Auth) -> bool:
        """Run the app's password validators; their messages go on ``password2``, as in
        Django's ``UserCreationForm``."""
        user = User(username=self.username)
        problems = password_problems(self.password1, user, auth.password_validators)
        for problem in problems:
            self.add_error("password2", problem)
        return not problems


class PageOptions(TypedDict, total=False):
    """The options of :meth:`Auth.add_pages <plait.auth.Auth.add_pages>`, listed once.

    ``prefix`` (``""``) goes before ``/login``, ``/logout`` and ``/signup``; the pages extend
    ``layout`` (``"auth/base.html"``); a log-in goes on to ``redirect_to`` (``"/"``);
    ``signup`` (``True``) adds the sign-up page, which flashes ``signup_message``;
    ``login_limit`` (``"5/minute"``) and ``signup_limit`` (``"10/hour"``) rate-limit the
    POSTs per client address (``None``: no limit).
    """

    prefix: str
    layout: str
    redirect_to: str
    signup: bool
    signup_message: str
    login_limit: str | None
    signup_limit: str | None


def add_pages(auth: Auth, app: App, options: PageOptions) -> None:
    """Add ``/login``, ``/logout`` and (with ``signup``) ``/signup`` under ``prefix``."""
    unknown = options.keys() - PageOptions.__optional_keys__
    if unknown:
        raise TypeError(f"unknown page options: {', '.join(sorted(unknown))}")
    prefix = options.get("prefix", "")
    layout = options.get("layout", "auth/base.html")
    redirect_to = options.get("redirect_to", "/")
    signup_message = options.get("signup_message", "Account created, please log in.")
    ensure_limiter(app)
    login_rule = attempt_rule(options.get("login_limit", "5/minute"), "plait.auth.login")
    signup_rule = attempt_rule(options.get("signup_limit", "10/hour"), "plait.auth.signup")

    def render(request: Request, name: str, form: forms.Form, status: int) -> HTMLResponse:
        context = {"form": form, "layout": layout}
        return Templates.of(app).render(request, name, context, status_code=status)

    async def refused(
        request: Request, rule: RateLimit | None, name: str, form: forms.Form
    ) -> Response | None:
        """The form again with 429 and ``Retry-After`` when this address tried too often."""
        if rule is None or request.method != "POST":
            return None
        decision = await rule.hit(request.scope, RateLimiter.of(app))
        if decision is None or decision.allowed:
            return None
        form.add_error(None, f"Too many attempts. Please try again in {decision.reset} seconds.")
        response = render(request, name, form, 429)
        for header, value in decision.headers().items():
            response.headers[header] = value
        return response

    async def login_page(request: Request, form: LoginForm, next: str = "") -> Response:
        if (response := await refused(request, login_rule, "auth/login.html", form)) is not None:
            return response
        if form.is_valid():
            async with auth.db.transaction() as session:
                user = await authenticate(session, form.username, form.password)
                if user is not None:
                    await login(request, user)
                    return RedirectResponse(safe_next(next, redirect_to), status_code=303)
            form.add_error(None, _WRONG_LOGIN)
        return render(request, "auth/login.html", form, 200)

    async def logout_page(request: Request) -> Response:
        await logout(request)
        return RedirectResponse(redirect_to, status_code=303)

    async def signup_page(request: Request, form: SignUpForm) -> Response:
        if (response := await refused(request, signup_rule, "auth/signup.html", form)) is not None:
            return response
        if form.is_valid() and form.check_password(auth) and await _create_user(auth, form):
            flash(request, signup_message, "success")
            return RedirectResponse(app.url_path_for("login"), status_code=303)
        return render(request, "auth/signup.html", form, 200)

    both = ("GET", "POST")
    hidden: dict[str, Any] = {"include_in_schema": False}
    app.add_route(f"{prefix}/login", login_page, methods=both, name="login", **hidden)
    app.add_route(f"{prefix}/logout", logout_page, methods=("POST",), name="logout", **hidden)
    if options.get("signup", True):
        app.add_route(f"{prefix}/signup", signup_page, methods=both, name="signup", **hidden)
    app.on_startup(lambda: templates_ready(app))
    app.on_startup(lambda: csrf_ready(app))


async def _create_user(auth: Auth, form: SignUpForm) -> bool:
    """Create the signed-up user; False, with the form error, when the name is taken."""
    password = await asyncio.to_thread(hash_password, form.password1)
    try:
        async with auth.db.transaction() as session:
            taken = await session.scalar(sa.select(User.id).where(User.username == form.username))
            if taken is None:
                session.add(User(username=form.username, password=password))
    except sa.exc.IntegrityError:  # signed up by a request running at the same moment
        taken = True
    if taken is not None:
        form.add_error("username", "A user with that username already exists.")
        return False
    return True


def templates_ready(app: App) -> None:
    """Start-up: the pages are drawn by the app's templates, which must know the package's."""
    try:
        templates = Templates.of(app)
    except RuntimeError:
        raise RuntimeError(
            "plait.auth's pages need templates: add Templates(app) (from plait.templates)"
        ) from None
    templates.add_package("plait.auth")


def csrf_ready(app: App) -> None:
    """Start-up: the pages' forms are CSRF-protected (Django's auth views always are)."""
    if not any(issubclass(cls, CSRFMiddleware) for cls, _ in app.user_middleware):
        raise RuntimeError(
            "plait.auth's pages need CSRF protection: add CSRF(app) (from plait.csrf); "
            "without it any site can post the log-in form (login CSRF)"
        )
