"""``Templates``: one Jinja2 environment per app, rendering to plait responses."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import jinja2
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, PackageLoader

from plait import App, HTMLResponse, Request
from plait.templates._errorpages import ErrorPages
from plait.templates._globals import REQUEST_GLOBALS
from plait.templates._page import page_endpoint

__all__ = [
    "AUTOESCAPE_EXTENSIONS",
    "PLAIN_TEXT_EXTENSIONS",
    "ContextProcessor",
    "TemplateNotFound",
    "Templates",
]

F = TypeVar("F", bound=Callable[..., Any])
ContextProcessor: TypeAlias = Callable[[Request], Mapping[str, Any]]
"""A function of the request returning variables for every template (Django's, Flask's)."""

AUTOESCAPE_EXTENSIONS = ("html", "htm", "xml", "xhtml", "svg", "jinja", "html.j2", "html.jinja")
"""Templates whose names end with one of these are autoescaped (and strings too)."""

PLAIN_TEXT_EXTENSIONS = ("txt", "text", "md", "csv", "eml")
"""Templates whose names end with one of these are not autoescaped; every other name is
(``page.jinja2``, ``page.j2``, no extension): as Django's Jinja2 backend, escaping is on
unless a template is known not to be HTML."""

Directory: TypeAlias = str | os.PathLike[str]


class TemplateNotFound(jinja2.TemplateNotFound):
    """No loader has the template; the message says where plait looked."""

    def __init__(self, name: str, searched: Sequence[str]) -> None:
        self.searched = list(searched)
        where = "; ".join(self.searched) or "no template loaders"
        super().__init__(name, f"Template {name!r} not found (searched: {where})")


class _Environment(jinja2.Environment):
    """A Jinja2 environment whose templates read the environment's globals directly."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A plain dict of the environment's globals (and ``d``) for a template to keep.

        # PERF: Jinja gives each template ``ChainMap(d or {}, env.globals)``, which every
        render copies into a dict key by key in Python, each key a ``KeyError`` from the
        first map: with plait's request globals, ~8 µs of a 75 µs page. A dict is copied in
        C. As Jinja documents, globals are set before templates are loaded: a template keeps
        what the environment had when it was loaded (``globals=`` given to ``get_template``
        still go to that template only).
        """
        return {**self.globals, **(d or {})}


class Templates:
    """The app's Jinja2 templates, rendered to :class:`~plait.HTMLResponse` objects::

        from plait import App, Request
        from plait.templates import Templates

        app = App()
        templates = Templates(app, "templates")

        @app.get("/")
        def index(request: Request):
            return templates.render(request, "index.html", {"title": "Home"})

    One environment is built here and shared (``templates.env`` for filters, tests and
    extensions). Every template is autoescaped, and so are strings, except text ones whose
    names end in ``.txt``, ``.text``, ``.md``, ``.csv`` or ``.eml`` (``autoescape=False``
    turns it off, a callable decides per name). ``auto_reload`` defaults to ``app.debug``.
    Every template sees ``request``, ``url_for``, ``csrf_token``, ``csrf_input``,
    ``current_user``, ``get_flashed_messages``, ``globals`` and what each context processor
    returns for the request.

    Templates are looked up in ``directory`` (one or several, relative to the working
    directory) first, then in the package directories added with :meth:`add_package`: a
    project overrides a battery's template by putting one with the same name in its own
    directory, as in Django.
    """

    def __init__(
        self,
        app: App | None = None,
        directory: Directory | Sequence[Directory] = "templates",
        *,
        autoescape: bool | Callable[[str | None], bool] = True,
        auto_reload: bool | None = None,
        context_processors: Sequence[ContextProcessor] = (),
        globals: Mapping[str, Any] | None = None,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        packages: Sequence[str] = (),
        loaders: Sequence[BaseLoader] = (),
        strict_undefined: bool = False,
        extensions: Sequence[str | type[jinja2.ext.Extension]] = (),
        bytecode_cache: jinja2.BytecodeCache | None = None,
        env_options: Mapping[str, Any] | None = None,
    ) -> None:
        directories = [directory] if isinstance(directory, str | os.PathLike) else directory
        self.directories = [Path(d) for d in directories]
        self.loader = ChoiceLoader([FileSystemLoader(self.directories), *loaders])
        if autoescape is True:
            autoescape = jinja2.select_autoescape(
                AUTOESCAPE_EXTENSIONS,
                PLAIN_TEXT_EXTENSIONS,
                default_for_string=True,
                default=True,
            )
        self.auto_reload = auto_reload
        self._loaded: dict[str, jinja2.Template] = {}
        self.env = _Environment(
            loader=self.loader,
            autoescape=autoescape,
            auto_reload=bool(auto_reload),
            undefined=jinja2.StrictUndefined if strict_undefined else jinja2.Undefined,
            extensions=extensions,
            bytecode_cache=bytecode_cache,
            **(env_options or {}),
        )
        self.env.globals.update(REQUEST_GLOBALS)
        self.env.globals.update(globals or {})
        self.env.filters.update(filters or {})
        self.context_processors: list[ContextProcessor] = list(context_processors)
        for package in packages:
            self.add_package(package)
        self.app: App | None = None
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"Templates({[str(d) for d in self.directories]!r})"

    # ------------------------------------------------------------------ the app

    def init_app(self, app: App) -> None:
        """Attach to ``app``: ``Templates.of(app)`` finds it, ``auto_reload`` follows debug."""
        if getattr(app.state, "templates", None) is not None:
            raise RuntimeError("The app already has templates: use Templates.of(app)")
        app.state.templates = self
        self.app = app
        if self.auto_reload is None:
            self.env.auto_reload = app.debug
        # render_string() without a request still resolves url_for() against this app.
        self.env.globals["_plait_app"] = app
        app.add_error_pages(ErrorPages(self))

    @classmethod
    def of(cls, app: App) -> Templates:
        """The templates attached to ``app`` (how other batteries reuse the environment)."""
        templates = getattr(app.state, "templates", None)
        if not isinstance(templates, Templates):
            raise RuntimeError(
                "This app has no templates: add Templates(app) (from plait.templates)"
            )
        return templates

    def add_package(self, package: str, path: str = "templates") -> None:
        """Look up templates in ``package``'s ``path`` directory too, after the app's own.

        A battery shipping templates calls ``Templates.of(app).add_package("plait.admin")``
        (in a start-up hook, so the project's ``Templates(app)`` may come later in its code).
        """
        self.add_loader(PackageLoader(package, path))

    def add_directory(self, directory: Directory) -> None:
        """Look up templates in ``directory`` too, after those already configured."""
        self.add_loader(FileSystemLoader(directory))

    def add_loader(self, loader: BaseLoader) -> None:
        """Append a Jinja2 loader to the search order."""
        self.loader.loaders = [*self.loader.loaders, loader]
        self._loaded.clear()

    def context_processor(self, func: F) -> F:
        """Register ``func(request) -> dict`` whose items every rendered template sees."""
        self.context_processors.append(func)
        return func

    # ------------------------------------------------------------------ rendering

    def get_template(self, name: str | Sequence[str]) -> jinja2.Template:
        """The template called ``name`` (or the first that exists of several names)."""
        # PERF: without auto_reload a loaded template never changes: one dict lookup instead
        # of Jinja's locked LRU cache and its key building (~2 µs a render).
        cacheable = isinstance(name, str) and not self.env.auto_reload and self.env.cache
        if cacheable:
            template = self._loaded.get(name)  # type: ignore[arg-type]
            if template is not None:
                return template
        try:
            template = self.env.get_or_select_template(name)  # type: ignore[arg-type]
        except jinja2.TemplateNotFound as exc:
            raise self._not_found(exc) from None
        if cacheable:
            self._loaded[name] = template  # type: ignore[index]
        return template

    def context(self, request: Request, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What a template rendered for ``request`` sees (beside the environment's globals)."""
        values: dict[str, Any] = {"request": request, "current_user": request.scope.get("user")}
        for processor in self.context_processors:
            values.update(processor(request))
        if context:
            values.update(context)
        return values

    def render(
        self,
        request: Request,
        name: str | Sequence[str],
        context: Mapping[str, Any] | None = None,
        /,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = "text/html",
    ) -> HTMLResponse:
        """Render ``name`` with ``context`` for ``request`` into an HTML response."""
        body = self._render(self.get_template(name), self.context(request, context))
        return HTMLResponse(body, status_code=status_code, headers=headers, media_type=media_type)

    def render_string(
        self,
        name: str | Sequence[str],
        context: Mapping[str, Any] | None = None,
        /,
        *,
        request: Request | None = None,
    ) -> str:
        """Render ``name`` to a string (an email body, a fragment); with ``request``, the
        request globals and context processors apply as in :meth:`render`."""
        values = self.context(request, context) if request is not None else dict(context or {})
        return self._render(self.get_template(name), values)

    def page(
        self,
        name: str | Sequence[str],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Callable[[F], F]:
        """Render ``name`` with the dict the decorated handler returns::

            @app.get("/posts/{post_id:int}")
            @templates.page("post.html")
            async def post(post_id: int, session: Session) -> dict[str, Any]:
                return {"post": await get_or_404(session, Post, post_id)}

        The handler keeps its parameters (path, query, form, dependencies); a returned
        :class:`~plait.Response` (a redirect after a form post) is sent as it is. Pages are
        left out of the OpenAPI document unless the route says ``include_in_schema=True``.
        """

        def decorator(func: F) -> F:
            return page_endpoint(func, self, name, status_code, headers)

        return decorator

    def _render(self, template: jinja2.Template, values: dict[str, Any]) -> str:
        try:
            return template.render(values)
        except TemplateNotFound:
            raise
        except jinja2.TemplateNotFound as exc:  # an {% include %} or {% extends %} miss
            raise self._not_found(exc) from None

    def _not_found(self, exc: jinja2.TemplateNotFound) -> TemplateNotFound:
        names = getattr(exc, "templates", None) or [exc.name]
        return TemplateNotFound(", ".join(str(n) for n in names), _describe(self.loader))


def _describe(loader: BaseLoader) -> list[str]:
    if isinstance(loader, ChoiceLoader):
        return [where for inner in loader.loaders for where in _describe(inner)]
    if isinstance(loader, FileSystemLoader):
        return [str(Path(p).resolve()) for p in loader.searchpath]
    if isinstance(loader, PackageLoader):
        return [f"package {loader.package_name}:{loader.package_path}"]
    return [repr(loader)]
