"""HTML forms: fields declared with type hints, validated like plait's typed APIs, drawn as HTML.

::

    from typing import Annotated
    from msgspec import Meta
    from plait import App, Request, forms

    class Contact(forms.Form):
        email: forms.Email
        message: Annotated[forms.TextArea, Meta(max_length=2000)]

    @app.post("/contact")
    async def contact(request: Request, form: Contact):
        if form.is_valid():
            ...  # form.email, form.message
        return templates.render(request, "contact.html", {"form": form})

Needs ``pip install 'plait[templates]'`` (MarkupSafe, which Jinja2 brings).
"""

from plait._optional import MissingDependencyError, require

require("markupsafe", "templates", "plait.forms")

from plait.forms._boundfield import BoundField  # noqa: E402
from plait.forms._fields import (  # noqa: E402
    JSON,
    URL,
    Choices,
    Email,
    FieldSpec,
    Hidden,
    Password,
    TextArea,
    Widget,
    WriteOnly,
)
from plait.forms._form import NON_FIELD, Form  # noqa: E402

__all__ = [
    "JSON",
    "NON_FIELD",
    "URL",
    "BoundField",
    "Choices",
    "Email",
    "FieldSpec",
    "Form",
    "Hidden",
    "MissingDependencyError",
    "Password",
    "TextArea",
    "Widget",
    "WriteOnly",
]
