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

from plait.forms._fields import URL, Email, FieldSpec, Hidden, Password, TextArea, Widget  # noqa: E402
from plait.forms._form import NON_FIELD, BoundField, Form  # noqa: E402

__all__ = [
    "NON_FIELD",
    "URL",
    "BoundField",
    "Email",
    "FieldSpec",
    "Form",
    "Hidden",
    "MissingDependencyError",
    "Password",
    "TextArea",
    "Widget",
]
