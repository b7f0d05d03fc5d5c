"""``ModelAdmin``: how the admin lists, searches, orders and edits one model."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.orm import Mapper

from plait.db import model_schema

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait import Request

__all__ = ["Action", "ModelAdmin", "humanize", "model_columns", "object_label", "related_model"]

Action = Literal["view", "add", "change", "delete"]
"""What a user is about to do to a model's rows."""

_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

OPTIONS = (
    "list_display",
    "search_fields",
    "list_filter",
    "ordering",
    "readonly_fields",
    "exclude",
    "per_page",
    "label",
    "label_plural",
    "group",
    "app_label",
    "extra_fields",
    "many_to_many",
    "actions",
    "inlines",
    "count_limit",
    "date_hierarchy",
    "autocomplete_fields",
    "autocomplete_above",
)
"""The attributes ``Admin.register(Model, **options)`` accepts as keywords."""


def humanize(name: str) -> str:
    """``created_at`` -> ``Created at``; ``BlogPost`` -> ``Blog post``."""
    words = _WORD.sub(" ", name).replace("_", " ").strip().lower()
    return words[:1].upper() + words[1:]


def related_model(column: sa.Column[Any], model: type) -> tuple[type, str] | None:
    """The model a foreign-key column refers to, and the attribute it holds."""
    for foreign_key in column.foreign_keys:
        target = foreign_key.column
        mappers: Any = sa.inspect(model).registry.mappers
        for mapper in mappers:
            if mapper.local_table is target.table:
                return mapper.class_, mapper.get_property_by_column(target).key
    return None


def model_columns(model: type) -> dict[str, sa.Column[Any]]:
    """The model's attribute names mapped to their (single) table columns."""
    mapper: Mapper[Any] = sa.inspect(model)
    found: dict[str, sa.Column[Any]] = {}
    for prop in mapper.column_attrs:
        if len(prop.columns) == 1 and isinstance(prop.columns[0], sa.Column):
            found[prop.key] = prop.columns[0]
    return found


class ModelAdmin:
    """The admin's options for one model (Django's ``ModelAdmin``)::

        from plait.admin import ModelAdmin

        @admin.register(Post)
        class PostAdmin(ModelAdmin):
            list_display = ("title", "author_id", "published")
            search_fields = ("title", "body")
            list_filter = ("published",)
            ordering = ("-id",)

    ``list_display`` entries are column names, ``"__str__"``, names of methods of the
    ModelAdmin taking the object, or callables taking the object. ``save_model`` and
    ``delete_model`` are the hooks around writes (hash a password there, log a change).
    """

    list_display: Sequence[str | Callable[[Any], Any]] = ()
    """The changelist's columns; by default ``__str__`` if the model defines it, else its
    first columns."""
    search_fields: Sequence[str] = ()
    """Columns the search box matches (case-insensitive substring; every word must match);
    ``"^title"`` matches the start of the value only (case-sensitive ``LIKE 'word%'``, which
    a B-tree index serves on a big table)."""
    list_filter: Sequence[str] = ()
    """Columns offered as filters beside the changelist (booleans, enums, foreign keys…)."""
    ordering: Sequence[str] = ()
    """The changelist's default order (``"-created_at"`` for descending); primary key last."""
    readonly_fields: Sequence[str] = ()
    """Columns shown on the change form but never edited."""
    exclude: Sequence[str] = ()
    """Columns left out of the forms."""
    per_page: int = 50
    """Rows per changelist page."""
    count_limit: int = 100_000
    """Above this many rows the changelist stops counting: an unfiltered list shows
    PostgreSQL's estimate, a filtered one "more than 100000"."""
    date_hierarchy: str | None = None
    """A date or datetime column to drill down by, above the changelist: its years, then a
    year's months, then a month's days (Django's ``date_hierarchy``). On a big table, index
    the column."""
    autocomplete_fields: Sequence[str] = ()
    """Foreign keys searched as you type instead of chosen from a select (the related model
    must be registered with ``search_fields``)."""
    autocomplete_above: int | None = 1000
    """Any other foreign key to a registered model with ``search_fields`` is searched as you
    type too once that table holds more rows than this (``None``: never on its own)."""
    label: str | None = None
    """The model's name for people (``"blog post"``); by default from the class name."""
    label_plural: str | None = None
    group: str | None = None
    """The index page's heading this model is listed under; by default from its module."""
    extra_fields: Sequence[str] = ()
    """Columns the admin edits although the schemas make them read-only (plait.auth's
    ``is_staff``): the API still cannot set them."""
    many_to_many: Sequence[str] = ()
    """Many-to-many relationships edited as a multiple select of the related rows
    (plait.auth's ``User.groups``)."""
    actions: Sequence[str | Callable[..., Any]] = ()
    """Bulk actions of the changelist beside "Delete selected": functions taking
    ``(request, session, rows)`` (see :func:`plait.admin.action`), or names of methods."""
    inlines: Sequence[type] = ()
    """:class:`~plait.admin.TabularInline`/``StackedInline`` classes: related rows edited
    on this model's change form, in its transaction."""
    app_label: str | None = None
    """The first part of the model's permission names (``"blog"`` in ``"blog.change_post"``);
    by default the group's name in lower case (``"auth"`` for plait.auth's models)."""

    def __init__(self, model: type, **options: Any) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise TypeError(
                f"Unknown admin option(s) for {model.__name__}: {', '.join(unknown)} "
                f"(known: {', '.join(OPTIONS)})"
            )
        for key, value in options.items():
            setattr(self, key, value)
        self.model = model
        self.inline_instances: list[Any] = []  # built by Admin.register
        self.columns = model_columns(model)
        self.readable = frozenset(model_schema(model, "read").__struct_fields__)
        """The columns the API shows (not write-only, not excluded): the only ones listed,
        searched, filtered or sorted, so that a hidden value can't be probed either."""
        mapper: Mapper[Any] = sa.inspect(model)
        if len(mapper.primary_key) != 1:
            raise ValueError(f"The admin needs {model.__name__} to have a one-column primary key")
        self.pk_name = mapper.get_property_by_column(mapper.primary_key[0]).key
        self.slug = model.__name__.lower()
        self.label = self.label or humanize(model.__name__).lower()
        self.label_plural = self.label_plural or _plural(self.label)
        self.group = self.group or _group(model)
        self.app_label = self.app_label or re.sub(r"\W+", "_", str(self.group).lower())
        if not self.list_display:
            own_str = any("__str__" in vars(cls) for cls in model.__mro__[:-1])
            shown = [key for key in self.columns if key in self.readable]
            self.list_display = ("__str__",) if own_str else tuple(shown[:6])
        first = self.list_display[0] if self.list_display else None
        if isinstance(first, str) and first in self.columns and self.columns[first].foreign_keys:
            # The first column links to the row: a foreign key's label (a comment's post) is
            # the same on many rows, so the row's own name goes first.
            self.list_display = ("__str__", *self.list_display)
        self._check()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.__name__})"

    def _check(self) -> None:
        """Django-style checks: a typo in an option fails at registration, not per request."""
        name = self.model.__name__
        for entry in self.list_display:
            if callable(entry) or entry == "__str__" or entry in self.columns:
                self._check_readable("list_display", entry)
            elif not callable(getattr(self, entry, None)):
                raise ValueError(
                    f"{name} list_display: {entry!r} is not a column of {name}, '__str__', "
                    f"or a method of {type(self).__name__}"
                )
        relationships: Any = sa.inspect(self.model).relationships
        for entry in self.many_to_many:
            if entry not in relationships or relationships[entry].secondary is None:
                raise ValueError(f"{name} many_to_many: {entry!r} is not a many-to-many of {name}")
        for entry in self.extra_fields:
            if entry not in self.columns:
                raise ValueError(f"{name} extra_fields: {entry!r} is not a column of {name}")
        for option in ("search_fields", "list_filter", "readonly_fields", "exclude", "ordering"):
            for entry in getattr(self, option):
                field = entry.lstrip("-") if option == "ordering" else entry
                if option == "search_fields":
                    field = entry.removeprefix("^")
                if field not in self.columns:
                    raise ValueError(f"{name} {option}: {entry!r} is not a column of {name}")
                if option not in ("readonly_fields", "exclude"):
                    self._check_readable(option, field)
        left_out = set(self.exclude) | set(self.readonly_fields)
        left_out |= {k for k, c in self.columns.items() if isinstance(c.type, sa.LargeBinary)}
        create = msgspec.structs.fields(model_schema(self.model, "create"))
        missing = [f.name for f in create if f.required and f.name in left_out]
        if missing:
            raise ValueError(
                f"{name}: {missing[0]!r} is required to add a row but the form leaves it out "
                "(exclude, readonly_fields, or a binary column)"
            )
        if self.date_hierarchy is not None:
            column = self.columns.get(self.date_hierarchy)
            if column is None or not isinstance(
                getattr(column.type, "impl_instance", column.type), sa.Date | sa.DateTime
            ):
                raise ValueError(
                    f"{name} date_hierarchy: {self.date_hierarchy!r} is not a date or "
                    f"datetime column of {name}"
                )
            self._check_readable("date_hierarchy", self.date_hierarchy)
        for entry in self.autocomplete_fields:
            if entry not in self.columns or not self.columns[entry].foreign_keys:
                raise ValueError(
                    f"{name} autocomplete_fields: {entry!r} is not a foreign key of {name}"
                )
        if not isinstance(self.per_page, int) or self.per_page < 1:
            raise ValueError(f"{name} per_page must be a positive integer, got {self.per_page!r}")

    def _check_readable(self, option: str, entry: Any) -> None:
        if isinstance(entry, str) and entry in self.columns and entry not in self.readable:
            raise ValueError(
                f"{self.model.__name__} {option}: {entry!r} is write-only or excluded from "
                f"{self.model.__name__}'s schemas: the admin does not show it"
            )

    def perm(self, action: Action) -> str:
        """The plait.auth permission ``action`` needs on this model: ``"blog.change_post"``."""
        return f"{self.app_label}.{action}_{self.slug}"

    # ---------------------------------------------------------------- hooks

    def virtual_fields(self, kind: str) -> dict[str, Any]:
        """Inputs of the ``add``/``change`` form (or ``password``) that are not columns: their
        names and plait.forms annotations (``Annotated[forms.Password, Meta(title=...)]``);
        :meth:`apply_virtual` handles what was posted."""
        return {}

    async def apply_virtual(self, obj: Any, values: dict[str, Any]) -> dict[str, str]:
        """Use the posted :meth:`virtual_fields` on ``obj``; return errors by field name."""
        return {}

    async def save_model(
        self, request: Request, session: AsyncSession, obj: Any, change: bool
    ) -> None:
        """Save ``obj`` (new when ``change`` is false); the admin commits afterwards."""
        session.add(obj)

    async def delete_model(self, request: Request, session: AsyncSession, obj: Any) -> None:
        """Delete ``obj``; the admin commits afterwards."""
        await session.delete(obj)

    # ---------------------------------------------------------------- display

    def display_label(self, entry: str | Callable[[Any], Any]) -> str:
        """The column heading of a ``list_display`` entry."""
        if entry == "__str__":
            return str(self.label).capitalize()
        if isinstance(entry, str) and entry in self.columns and self.columns[entry].foreign_keys:
            return humanize(entry.removesuffix("_id"))  # it shows the related row, not its key
        if isinstance(entry, str):
            method = getattr(self, entry, None) if entry not in self.columns else None
            described = getattr(method, "short_description", None)
            return str(described) if described else humanize(entry)
        described = getattr(entry, "short_description", None)
        return str(described) if described else humanize(getattr(entry, "__name__", "value"))

    def display_value(self, entry: str | Callable[[Any], Any], obj: Any) -> Any:
        """The value of a ``list_display`` entry for ``obj`` (formatted by the caller)."""
        if entry == "__str__":
            return object_label(obj)
        if isinstance(entry, str):
            if entry in self.columns:
                return getattr(obj, entry)
            return getattr(self, entry)(obj)
        return entry(obj)


def object_label(obj: Any) -> str:
    """``str(obj)`` when the model defines ``__str__``, else ``"Post object (3)"`` as Django."""
    cls = type(obj)
    if any("__str__" in vars(base) for base in cls.__mro__[:-1]):
        return str(obj)
    identity = sa.inspect(obj).identity
    key = identity[0] if identity else None
    return f"{cls.__name__} object ({key})"


def _plural(label: str) -> str:
    if label.endswith(("s", "x", "z", "ch", "sh")):
        return label + "es"
    if label.endswith("y") and label[-2:-1] not in "aeiou":
        return label[:-1] + "ies"
    return label + "s"


def _group(model: type) -> str:
    parts = [
        part
        for part in model.__module__.split(".")
        if part not in ("models", "_models", "__main__", "app", "main")
    ]
    return humanize(parts[-1].lstrip("_")) if parts else "Models"
