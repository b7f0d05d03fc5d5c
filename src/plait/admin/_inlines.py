"""Inlines: a related model's rows edited on the parent's change form (Django's
``TabularInline``/``StackedInline``), added, changed and deleted in the parent's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from plait.admin._forms import ModelForm, bind, choices_of, initial_values, model_form, to_save
from plait.admin._options import ModelAdmin, object_label

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from plait import forms

__all__ = ["InlineModelAdmin", "InlineRows", "StackedInline", "TabularInline"]

MAX_ROWS = 1000
"""The most rows one inline accepts in a post (a form can't make the server loop forever)."""


class InlineModelAdmin:
    """The rows of ``model`` that refer to the parent, edited on the parent's page::

        class CommentInline(TabularInline):
            model = Comment
            extra = 1

        class PostAdmin(ModelAdmin):
            inlines = (CommentInline,)

    ``fk_name`` names the foreign-key column when ``model`` has several to the parent;
    ``exclude`` leaves columns out; ``extra`` blank rows are offered for new ones;
    ``autocomplete_fields`` and ``autocomplete_above`` say which foreign keys are searched
    as you type, as on a ``ModelAdmin``.
    """

    model: ClassVar[type]
    fk_name: ClassVar[str | None] = None
    exclude: ClassVar[Sequence[str]] = ()
    extra: ClassVar[int] = 1
    style: ClassVar[str] = "tabular"
    autocomplete_fields: ClassVar[Sequence[str]] = ()
    autocomplete_above: ClassVar[int | None] = 1000

    def __init__(self, parent: ModelAdmin) -> None:
        model = self.model
        helper = _helper(model)  # the inline model's columns, labels and form fields
        helper.autocomplete_fields = self.autocomplete_fields
        helper.autocomplete_above = self.autocomplete_above
        self.admin = helper
        parent_table: Any = sa.inspect(parent.model).local_table
        candidates = [
            name
            for name, column in helper.columns.items()
            if any(fk.column.table is parent_table for fk in column.foreign_keys)
        ]
        if self.fk_name is not None:
            candidates = [c for c in candidates if c == self.fk_name]
        if len(candidates) != 1:
            raise ValueError(
                f"{type(self).__name__}: {model.__name__} needs exactly one foreign key to "
                f"{parent.model.__name__} (set fk_name), found {candidates or 'none'}"
            )
        self.fk = candidates[0]
        self.parent = parent
        self.prefix = helper.slug
        self._skipped = (self.fk, *self.exclude)
        self.forms: dict[str, ModelForm] = {
            page: model_form(helper, page, exclude=self._skipped) for page in ("add", "change")
        }
        """The form of a new row (``add``) and of a stored one (``change``): plait.forms
        forms, one per row, named ``{prefix}-{index}-{field}``."""
        self._searched: dict[tuple[str, frozenset[str]], ModelForm] = {}

    def form(self, page: str, searched: frozenset[str]) -> ModelForm:
        """:attr:`forms` ``[page]``, with the foreign keys ``searched`` as you type."""
        if not searched:
            return self.forms[page]
        key = (page, searched)
        if key not in self._searched:
            kind: Any = page
            self._searched[key] = model_form(
                self.admin, kind, exclude=self._skipped, searched=searched
            )
        return self._searched[key]

    async def rows(self, session: AsyncSession, parent_key: Any) -> list[Any]:
        """The rows that refer to the parent, in key order."""
        if parent_key is None:
            return []
        column = getattr(self.model, self.fk)
        key = getattr(self.model, self.admin.pk_name)
        query: sa.Select[Any] = sa.select(self.model).where(column == parent_key).order_by(key)
        return list(await session.scalars(query.limit(MAX_ROWS)))


class TabularInline(InlineModelAdmin):
    """An inline drawn as a table: one row per related row."""

    style = "tabular"


class StackedInline(InlineModelAdmin):
    """An inline drawn as stacked forms: one block per related row."""

    style = "stacked"


def _helper(model: type) -> ModelAdmin:
    class Helper(ModelAdmin):
        def _check(self) -> None:  # the foreign key is left out on purpose
            pass

    return Helper(model)


@dataclass
class InlineRows:
    """One inline of a request: what to show, and what to write once the parent is saved."""

    inline: InlineModelAdmin
    can_add: bool
    can_change: bool
    can_delete: bool
    shown: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)
    errors: bool = False
    choices: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)
    """The rows' per-request choices by page (``add``/``change``), read once."""
    searched: frozenset[str] = frozenset()
    """The foreign keys searched as you type in this request (big related tables)."""

    def view(self) -> dict[str, Any]:
        """The template's view of this inline."""
        inline = self.inline
        return {
            "prefix": inline.prefix,
            "title": str(inline.admin.label_plural).capitalize(),
            "label": inline.admin.label,
            "style": inline.style,
            "header": list(inline.forms["add"].form()),
            "can_delete": self.can_delete,
            "rows": self.shown,
        }


async def _form(
    state: InlineRows, session: AsyncSession, data: Any, obj: Any, prefix: str
) -> forms.Form:
    """The form of one row: a stored row (``obj``) or a new one (its columns' defaults)."""
    page = "change" if obj is not None else "add"
    spec = state.inline.form(page, state.searched)
    if page not in state.choices:  # read once for all the rows
        state.choices[page] = await choices_of(spec, session)
    initial = obj if obj is not None else initial_values(state.inline.admin, spec)
    return await bind(spec, session, data, initial, prefix, state.choices[page])


async def inline_rows(
    state: InlineRows,
    session: AsyncSession,
    parent_key: Any,
    data: Mapping[str, Any] | None,
) -> None:
    """Fill ``state`` from the stored rows and, for a POST, from the posted ones."""
    inline = state.inline
    existing = {
        str(getattr(o, inline.admin.pk_name)): o for o in await inline.rows(session, parent_key)
    }
    prefix = inline.prefix
    if data is None:
        keys: list[str] = list(existing) + [""] * (inline.extra if state.can_add else 0)
        for i, key in enumerate(keys):
            obj = existing.get(key)
            form = await _form(state, session, None, obj, f"{prefix}-{i}")
            state.shown.append(_row(state, form, key, obj, False))
        return
    try:
        total = min(int(str(data.get(f"{prefix}-TOTAL", "0"))), MAX_ROWS)
    except ValueError:
        total = 0
    for i in range(max(total, 0)):
        row_prefix = f"{prefix}-{i}"
        key = str(data.get(f"{row_prefix}-id", ""))
        obj = existing.get(key)
        if key and obj is None:
            continue  # not a row of this parent (any more): never touched
        form = await _form(state, session, data, obj, row_prefix)
        delete = obj is not None and f"{row_prefix}-DELETE" in data and state.can_delete
        allowed = state.can_add if obj is None else state.can_change
        if (obj is None and not form.has_changed()) or delete or not allowed:
            # A blank extra row, a row going away, or one not to be written: as stored.
            form = await _form(state, session, None, obj, row_prefix)
            if delete:
                state.writes.append(("delete", obj, {}))
        elif not form.is_valid():
            state.errors = True
        else:
            spec = inline.form("change" if obj is not None else "add", state.searched)
            values = to_save(spec, form, change=obj is not None)
            if obj is None or values:
                state.writes.append(("add" if obj is None else "change", obj, values))
        state.shown.append(_row(state, form, key if obj is not None else "", obj, delete))


def _row(state: InlineRows, form: forms.Form, key: str, obj: Any, delete: bool) -> dict[str, Any]:
    return {
        "prefix": form.prefix,
        "key": key,
        "label": object_label(obj) if obj is not None else "",
        "fields": list(form),
        "errors": bool(form.errors),
        "delete": delete,
        "readonly": obj is not None and not state.can_change,
    }


async def apply_writes(
    session: AsyncSession, state: InlineRows, parent: Any
) -> list[dict[str, Any]]:
    """Write the inline's rows for ``parent`` (saved, with its key); what the parent's log
    entry says about them."""
    inline = state.inline
    parent_key = getattr(parent, inline.parent.pk_name)
    found: list[dict[str, Any]] = []
    label = str(inline.admin.label).capitalize()
    for what, obj, values in state.writes:
        if what == "delete":
            found.append({"field": label, "old": object_label(obj), "new": "—"})
            await session.delete(obj)
        elif what == "add":
            new = inline.model(**values, **{inline.fk: parent_key})
            session.add(new)
            await session.flush()
            found.append({"field": label, "old": "—", "new": object_label(new)})
        else:
            for name, value in values.items():
                setattr(obj, name, value)
            found.append({"field": label, "old": object_label(obj), "new": "changed"})
    return found
