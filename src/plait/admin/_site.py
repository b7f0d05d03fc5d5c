"""``Admin``: the admin site attached to an app — registry, routes, access, start-up checks."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import sqlalchemy as sa

from plait import App, Request, Response
from plait.admin._autocomplete import Autocomplete, autocomplete_target
from plait.admin._bulk import BulkViews
from plait.admin._login import LoginPages
from plait.admin._options import Action, ModelAdmin
from plait.admin._permissions import create_permissions, granted, user_codes
from plait.admin._templates import HTMX_VERSION, STATIC, admin_templates, static_file
from plait.admin._users import PasswordPage
from plait.admin._views import Views

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait.db import Database
    from plait.templates import Templates

__all__ = ["Action", "Admin", "Permission"]

MA = TypeVar("MA", bound=type[ModelAdmin])

Permission = Callable[[Request, Action, type], bool | Awaitable[bool]]
"""``permission(request, action, model)``: may ``request.user`` do ``action`` on ``model``?"""

_CSRF_MISSING = (
    "plait.admin needs CSRF protection for its forms: add CSRF(app) (from plait.csrf) "
    "before the app starts (Admin(..., csrf_required=False) turns this check off, for tests)"
)


class Admin:
    """Django's admin for plait.db models: list, search, add, change and delete rows::

        from plait import App
        from plait.admin import Admin
        from plait.csrf import CSRF
        from plait.db import Database

        app = App()
        db = Database(app)
        CSRF(app)
        admin = Admin(app, db)
        admin.register(Post, list_display=("title", "author_id"), search_fields=("title",))

    Only signed-in users (``request.user``, set by plait.auth) with ``is_active`` and
    ``is_staff`` get in; anonymous visitors are redirected to ``login_url`` with ``?next=``,
    others get a 403. ``permission(request, action, model)`` (sync or async) narrows it
    down per model and action. Forms validate with the model's ``Create``/``Update``
    schemas, exactly as the JSON API does. The app must have CSRF protection: start-up
    fails without it (``csrf_required=False`` is for tests only).
    """

    def __init__(
        self,
        app: App,
        db: Database,
        *,
        prefix: str = "/admin",
        title: str = "Administration",
        login_url: str | None = None,
        logout_url: str | None = None,
        login_limit: str | None = "5/minute",
        auth_permissions: bool = True,
        history: bool = True,
        site_url: str | None = "/",
        permission: Permission | None = None,
        csrf_required: bool = True,
        name: str = "admin",
    ) -> None:
        prefix = "/" + prefix.strip("/")
        if prefix == "/":
            raise ValueError("The admin needs a prefix of its own, such as '/admin'")
        self.app = app
        self.db = db
        self.prefix = prefix
        self.title = title
        self._login_url = login_url
        self._logout_url = logout_url
        self.site_url = site_url
        self.permission = permission
        self.auth_permissions = auth_permissions
        self.history = history
        self.csrf_required = csrf_required
        self.name = name
        self._login_limit = login_limit
        self.registry: dict[type, ModelAdmin] = {}
        self._frozen = False
        self._templates: Templates | None = None
        self._add_routes()
        app.on_startup(self._startup)

    def __repr__(self) -> str:
        return f"Admin(prefix={self.prefix!r}, models={[m.__name__ for m in self.registry]})"

    # ---------------------------------------------------------------- registration

    def register(
        self, model: type, admin_class: type[ModelAdmin] | None = None, **options: Any
    ) -> Callable[[MA], MA]:
        """Show ``model`` in the admin, with a :class:`ModelAdmin` class and/or options::

            admin.register(Author)
            admin.register(Post, list_display=("title", "published"), per_page=20)

            @admin.register(Post)
            class PostAdmin(ModelAdmin):
                search_fields = ("title",)

        Options are checked now: a name that is not a column fails here, not per request.
        """
        self._check_open("register")
        if model in self.registry:
            raise ValueError(
                f"{model.__name__} is already registered with this admin "
                "(admin.unregister() it first to replace its options)"
            )
        if not isinstance(model, type) or sa.inspect(model, raiseerr=False) is None:
            raise TypeError(f"admin.register() takes a mapped model class, not {model!r}")
        model_admin = (admin_class or ModelAdmin)(model, **options)
        for other in self.registry.values():
            if other.slug == model_admin.slug and other.model is not model:
                raise ValueError(
                    f"Two registered models are both called {model.__name__}: the admin's "
                    "URLs would clash"
                )
        self.registry[model] = _with_inlines(model_admin)

        def decorator(cls: MA) -> MA:
            if not (isinstance(cls, type) and issubclass(cls, ModelAdmin)):
                raise TypeError("@admin.register(Model) decorates a ModelAdmin subclass")
            self._check_open("register")
            if self.registry.get(model) is model_admin:  # replace what this call registered
                self.registry[model] = _with_inlines(cls(model, **options))
            return cls

        return decorator

    def unregister(self, model: type) -> None:
        """Take ``model`` out of the admin (to register it again with other options)."""
        self._check_open("unregister")
        if self.registry.pop(model, None) is None:
            raise LookupError(f"{model.__name__} is not registered with this admin")

    def _check_open(self, what: str) -> None:
        if self._frozen:
            raise RuntimeError(
                f"Cannot {what} a model after the app has started: register before serving"
            )

    def model_admin(self, slug: str) -> ModelAdmin | None:
        """The registered ModelAdmin whose URL segment is ``slug``."""
        for model_admin in self.registry.values():
            if model_admin.slug == slug:
                return model_admin
        return None

    # ---------------------------------------------------------------- start-up

    @property
    def templates(self) -> Templates:
        """What renders the admin's pages: the app's ``Templates(app)``, searched first (a
        project's ``templates/admin/base.html`` replaces the admin's), or the admin's own."""
        if self._templates is None:  # a request before start-up: a server without lifespan
            self._templates = admin_templates(self.app)
        return self._templates

    def _startup(self) -> None:
        self._frozen = True
        # Now: the project may create Templates(app) after Admin(app, ...).
        self._templates = admin_templates(self.app)
        if self.csrf_required and not any(
            "csrf" in cls.__name__.lower() for cls, _ in self.app.user_middleware
        ):
            raise RuntimeError(_CSRF_MISSING)
        helpers = [i.admin for m in self.registry.values() for i in m.inline_instances]
        for model_admin in [*self.registry.values(), *helpers]:
            for name in model_admin.autocomplete_fields:
                if autocomplete_target(self, model_admin, name) is None:
                    raise RuntimeError(
                        f"{model_admin.model.__name__} autocomplete_fields: {name!r} needs the "
                        "model it refers to registered with search_fields (what typing "
                        "searches): admin.register(Model, search_fields=(...))"
                    )

    def _add_routes(self) -> None:
        views = Views(self)
        pages = LoginPages(self, views, self._login_limit)
        bulk = BulkViews(self, views)
        prefix, name = self.prefix, self.name
        both = ("GET", "POST")
        routes: list[tuple[str, Callable[..., Any], tuple[str, ...], str]] = [
            ("/", views.index, ("GET",), "index"),
            ("/login/", pages.login, both, "login"),
            ("/logout/", pages.logout, ("POST",), "logout"),
            ("/static/{name}", self._static, ("GET",), "static"),
            ("/{model}/", views.changelist, ("GET",), "changelist"),
            ("/{model}/add/", views.add, both, "add"),
            ("/{model}/delete/", views.delete_selected, ("POST",), "delete_selected"),
            ("/{model}/action/", bulk.action, ("POST",), "action"),
            ("/{model}/export/", bulk.export, ("GET",), "export"),
            ("/{model}/autocomplete/", Autocomplete(self, views), ("GET",), "autocomplete"),
            ("/{model}/{pk}/change/", views.change, both, "change"),
            ("/{model}/{pk}/delete/", views.delete, both, "delete"),
            ("/{model}/{pk}/password/", PasswordPage(self, views), both, "password"),
            ("/{model}/{pk}/history/", views.history, ("GET",), "history"),
        ]
        for path, endpoint, methods, route_name in routes:
            self.app.add_route(
                prefix + path,
                endpoint,
                methods=methods,
                name=f"{name}:{route_name}",
                include_in_schema=False,
            )

    @staticmethod
    def _static(request: Request, name: str) -> Response:
        if name not in STATIC:
            return Response(b"Not found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        if request.query_params.get("v") == HTMX_VERSION:  # the URL changes with the file
            headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return Response(static_file(name), media_type=STATIC[name], headers=headers)

    # ---------------------------------------------------------------- access

    @property
    def auth(self) -> Any:
        """The app's plait.auth ``Auth``, or None when the app has no users of its own."""
        return getattr(self.app.state, "auth", None)

    @property
    def login_url(self) -> str:
        """Where anonymous visitors go: ``login_url=``, else the admin's own log-in page
        when plait.auth is on the app, else ``/login``."""
        if self._login_url is not None:
            return self._login_url
        if self.auth is not None:
            return f"{self.prefix}/login/"
        return "/login"

    @property
    def logout_url(self) -> str | None:
        """The header's "Log out" (a POST): ``logout_url=``, else plait.auth's ``logout``
        page, else the admin's own, when plait.auth is on the app; None hides it."""
        if self._logout_url is not None or self.auth is None:
            return self._logout_url
        try:
            return self.app.url_path_for("logout")
        except LookupError:
            return f"{self.prefix}/logout/"

    def url(self, request: Request, *parts: object) -> str:
        """The path of an admin page: ``url(request, "post", 3, "change")``."""
        path = "".join(f"/{quote(str(part), safe='')}" for part in parts)
        return f"{request.scope.get('root_path', '')}{self.prefix}{path}/"

    async def allowed(self, request: Request, action: Action, model: type) -> bool:
        """Whether the (staff) user may do ``action`` on ``model``: their plait.auth
        permissions (superusers have all), then the ``permission`` rule."""
        model_admin = self.registry.get(model)
        if model_admin is None:
            return False
        if not granted(await user_codes(self, request), action, model_admin):
            return False
        if self.permission is None:
            return True
        result = self.permission(request, action, model)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    async def create_permissions(self, session: AsyncSession) -> int:
        """Add the missing ``view``/``add``/``change``/``delete`` permissions of the registered
        models to plait.auth's ``Permission`` table (the admin does it whenever it shows the
        permissions to assign); returns how many were added, flushed, not committed."""
        return await create_permissions(self, session)

    def login_redirect(self, request: Request) -> str:
        """``login_url?next=<this page>``."""
        here = request.scope.get("root_path", "") + request.url.path
        if request.url.query:
            here += "?" + request.url.query
        separator = "&" if "?" in self.login_url else "?"
        return f"{self.login_url}{separator}next={quote(here, safe='/')}"


def _with_inlines(model_admin: ModelAdmin) -> ModelAdmin:
    """``model_admin`` with its inlines built (a wrong foreign key fails at registration)."""
    model_admin.inline_instances = [inline(model_admin) for inline in model_admin.inlines]
    return model_admin
