"""``BoundField``: one field of one form instance, with its value, errors and control."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from plait.forms._fields import FieldSpec
from plait.forms._widgets import Control, render_input, render_row

if TYPE_CHECKING:
    from plait.forms._form import Form

__all__ = ["KEEP_NOTE", "BoundField"]

KEEP_NOTE = "Leave empty to keep the current value."


class BoundField:
    """One field of a form with its value and errors; ``{{ field }}`` draws the whole row."""

    __slots__ = ("errors", "form", "keeps", "spec")

    def __init__(self, form: Form, spec: FieldSpec, *, keeps: bool = False) -> None:
        self.form = form
        self.spec = spec
        """The field, with the choices the form has for it in this request."""
        self.keeps = keeps
        """A write-only field with a stored value: left blank, the value stays."""
        self.errors: list[str] = form.errors.get(spec.name, [])

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def html_name(self) -> str:
        """The control's ``name``: the field's, after the form's prefix (``comment-0-body``)."""
        return self.form.add_prefix(self.spec.name)

    @property
    def id_for_label(self) -> str:
        """The control's ``id`` (``id_comment-0-body``), for ``<label for>``."""
        return f"id_{self.html_name}"

    @property
    def required(self) -> bool:
        """Whether it must be filled in (a write-only field with a stored value need not)."""
        return self.spec.required and not self.keeps

    @property
    def help_text(self) -> str | None:
        """The help text; a write-only field with a stored value says blank keeps it."""
        if self.keeps:
            return f"{KEEP_NOTE} {self.spec.help}" if self.spec.help else KEEP_NOTE
        return self.spec.help

    @property
    def value(self) -> Any:
        """What the control shows: the submitted value, else the initial one."""
        return self.form.value(self.spec.name)

    def _control(self, attrs: Mapping[str, str]) -> Control:
        return Control(
            self.html_name,
            self.id_for_label,
            self.required,
            bool(self.errors),
            self.help_text,
            attrs,
        )

    @property
    def input(self) -> Markup:
        """The control alone (``<input>``, ``<textarea>``, ``<select>``)."""
        return render_input(self.spec, self.value, self._control({}))

    def as_widget(self, **attrs: str) -> Markup:
        """The control with more HTML attributes: ``{{ field.as_widget(rows="2") }}``."""
        return render_input(self.spec, self.value, self._control(attrs))

    def __html__(self) -> str:
        return str(render_row(self.spec, self.value, self.errors, self._control({})))

    def __str__(self) -> str:
        return self.__html__()
