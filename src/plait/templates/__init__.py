"""Jinja2 templates for plait: ``Templates(app)`` renders pages to HTML responses.

::

    from plait import App, Request
    from plait.templates import Templates

    app = App()
    templates = Templates(app, "templates")

    @app.get("/hello/{name}")
    def hello(request: Request, name: str):
        return templates.render(request, "hello.html", {"name": name})

Needs ``pip install 'plait[templates]'``.
"""

from plait._optional import MissingDependencyError, require

require("jinja2", "templates", "plait.templates")

from plait.templates._templates import (  # noqa: E402
    AUTOESCAPE_EXTENSIONS,
    ContextProcessor,
    TemplateNotFound,
    Templates,
)

__all__ = [
    "AUTOESCAPE_EXTENSIONS",
    "ContextProcessor",
    "MissingDependencyError",
    "TemplateNotFound",
    "Templates",
]
