"""Relationships in a model's schemas: read as nested objects or keys, written as keys.

A relationship is in the schemas only when the model asks (:class:`Relation`). Writes carry
keys (ids, or a natural key such as a tag's name); ``Model(data)`` and :func:`apply` keep
them aside, and the session turns them into rows when it flushes (one ``IN`` query per
relationship), creating missing ones only when the relation says ``create_missing``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from msgspec import UNSET
from sqlalchemy.orm import MANYTOONE, Mapper, RelationshipProperty
from sqlalchemy.orm.attributes import flag_dirty

from plait import HTTPException

__all__ = [
    "RelatedChoices",
    "Relation",
    "declared_relations",
    "eager_loader",
    "has_pending_relations",
    "keys_attribute",
    "relation_fields",
    "relation_load_options",
    "set_relations",
]

_PENDING = "_plait_pending_relations"


@dataclasses.dataclass(frozen=True)
class Relation:
    """How a relationship appears in its model's schemas::

        class Bookmark(Model):
            __schema_options__ = SchemaOptions(
                relations={"tags": Relation(read="nested", key="name", create_missing=True)}
            )

    or on the relationship itself: ``relationship(info={"schema": Relation()})``.
    """

    read: Literal["keys", "nested"] | None = "keys"
    """``Read`` holds the related rows' keys (``"keys"``), their own ``Read`` objects
    (``"nested"``), or nothing (``None``)."""
    write: bool = True
    """``Create`` and ``Update`` take the related rows' keys."""
    key: str | None = None
    """The related model's attribute that names a row in the API (default: its primary key);
    a unique column such as ``"name"`` lets clients write ``["python", "web"]``."""
    create_missing: bool = False
    """Get-or-create: a key that names no row creates one (``Tag(name=...)``); otherwise an
    unknown key is a 422."""
    label: str | None = None
    """The related model's attribute forms show for each choice (default: ``key`` when it is
    not the primary key, else the first string column)."""


@dataclasses.dataclass(frozen=True)
class _Declared:
    name: str
    prop: RelationshipProperty[Any]
    relation: Relation
    target: type
    key: str
    key_column: sa.Column[Any]


_FOUND: dict[tuple[type, int], list[_Declared]] = {}


def declared_relations(model: type, options: Mapping[str, Relation]) -> list[_Declared]:
    """The relationships of ``model`` its schemas include, with their key columns."""
    # PERF: read once per model; ``Model(...)`` asks on every instance.
    key = (model, id(options))
    found = _FOUND.get(key)
    if found is None:
        found = _FOUND[key] = _find(model, options)
    return found


def _find(model: type, options: Mapping[str, Relation]) -> list[_Declared]:
    mapper: Mapper[Any] = sa.inspect(model)
    found = []
    for prop in mapper.relationships:
        relation = options.get(prop.key) or prop.info.get("schema")
        if not isinstance(relation, Relation):
            continue
        target_mapper = prop.mapper
        key = relation.key or target_mapper.get_property_by_column(target_mapper.primary_key[0]).key
        column_prop = target_mapper.get_property(key)
        if not isinstance(column_prop, sa.orm.ColumnProperty) or len(column_prop.columns) != 1:
            raise TypeError(f"{model.__name__}.{prop.key}: Relation key {key!r} is not a column")
        column: Any = column_prop.columns[0]
        if relation.create_missing and column.primary_key:
            raise TypeError(
                f"{model.__name__}.{prop.key}: create_missing needs a natural key "
                f"(Relation(key='name', create_missing=True)), not the primary key"
            )
        found.append(_Declared(prop.key, prop, relation, target_mapper.class_, key, column))
    unknown = set(options) - {p.key for p in mapper.relationships}
    if unknown:
        raise TypeError(f"{model.__name__}: relations names no relationship {sorted(unknown)}")
    return found


def keys_attribute(name: str) -> str:
    """The model attribute holding a relationship's keys (read by ``Read`` as ``name``)."""
    return f"_{name}_keys"


def _install_keys_property(model: type, declared: _Declared) -> None:
    attribute = keys_attribute(declared.name)
    if attribute in model.__dict__:
        return
    name, key, uselist = declared.name, declared.key, declared.prop.uselist

    def keys(self: Any) -> Any:
        state = sa.inspect(self)
        if name in state.unloaded and state.key is not None:
            raise RuntimeError(
                f"{type(self).__name__}.{name} is not loaded: query with "
                f"options=load_options({type(self).__name__}) (async sessions can't load "
                "lazily while a response is written)"
            )
        value = getattr(self, name)
        if uselist:
            return [getattr(item, key) for item in value]
        return None if value is None else getattr(value, key)

    setattr(model, attribute, property(keys))


def relation_fields(
    model: type,
    kind: str,
    options: Mapping[str, Relation],
    exclude: tuple[str, ...],
    field_type: Callable[[sa.Column[Any]], Any],
    nested: Callable[[type], Any],
) -> tuple[list[Any], dict[str, str]]:
    """The schema fields (and renames) of the relationships ``model`` declares."""
    fields: list[Any] = []
    rename: dict[str, str] = {}
    for declared in declared_relations(model, options):
        if declared.name in exclude:
            continue
        relation, uselist = declared.relation, declared.prop.uselist
        if kind == "read":
            if relation.read is None:
                continue
            if relation.read == "nested":
                item: Any = nested(declared.target)
                name = declared.name
            else:
                item = field_type(declared.key_column)
                name = keys_attribute(declared.name)
                rename[name] = declared.name
                _install_keys_property(model, declared)
            fields.append((name, list[item] if uselist else item | None))
            continue
        if not relation.write:
            continue
        item = field_type(declared.key_column)
        source = RelatedChoices(model, declared.name, options)
        tp: Any = Annotated[list[item], source] if uselist else Annotated[item, source] | None
        if kind == "update":
            fields.append((declared.name, tp | msgspec.UnsetType, UNSET))
        else:
            default: Any = msgspec.field(default_factory=list) if uselist else None
            fields.append((declared.name, tp, default))
    return fields, rename


def relation_load_options(model: type, options: Mapping[str, Relation]) -> list[Any]:
    """An eager loader for each relationship ``Read`` shows (:func:`eager_loader`)."""
    return [
        eager_loader(declared.prop)
        for declared in declared_relations(model, options)
        if declared.relation.read is not None
    ]


def eager_loader(prop: RelationshipProperty[Any], parent: Any = None) -> Any:
    """How to load ``prop`` with its rows: a join for a many-to-one (an inner join when
    its foreign key is a ``NOT NULL`` constraint), one ``IN`` query for a collection.

    PERF: ``selectinload`` of a many-to-one costs a second query, a round trip and an ORM
    execution, for what the join brings in the same rows (20 cities with their country:
    one query instead of two).
    """
    attr = prop.class_attribute
    if prop.direction is MANYTOONE and not prop.uselist:
        columns = prop.local_columns
        inner = bool(columns) and all(c.foreign_keys and not c.nullable for c in columns)
        load = parent.joinedload if parent is not None else sa.orm.joinedload
        return load(attr, innerjoin=inner)
    return parent.selectinload(attr) if parent is not None else sa.orm.selectinload(attr)


def set_relations(obj: Any, fields: dict[str, Any], options: Mapping[str, Relation]) -> None:
    """Keep the keys given for written relationships, to resolve at the next flush; the
    other fields are left in ``fields``."""
    declared = {d.name: d for d in declared_relations(type(obj), options) if d.relation.write}
    pending: dict[str, Any] = {}
    for name in list(fields):
        if name in declared and not _are_rows(fields[name]):
            pending[name] = fields.pop(name)
    if not pending:
        return
    obj.__dict__.setdefault(_PENDING, {}).update(pending)
    state = sa.inspect(obj)
    if state.key is not None:
        # Nothing mapped changed yet: make sure the next flush sees the object.
        flag_dirty(obj)


def _are_rows(value: Any) -> bool:
    # Rows are set as they are; keys, None and [] wait for the flush, which can load the
    # old value (setting the attribute now would load it outside the async session's loop).
    items = value if isinstance(value, list | tuple | set) else [value]
    return bool(items) and all(sa.inspect(item, raiseerr=False) is not None for item in items)


def _resolve(session: sa.orm.Session, obj: Any, options: Mapping[str, Relation]) -> None:
    pending: dict[str, Any] = obj.__dict__.pop(_PENDING)
    declared = {d.name: d for d in declared_relations(type(obj), options)}
    for name, value in pending.items():
        found = declared[name]
        wanted = list(dict.fromkeys(value if isinstance(value, list | tuple | set) else [value]))
        wanted = [key for key in wanted if key is not None]
        rows = _rows(session, found, wanted)
        if found.prop.uselist:
            setattr(obj, name, [rows[key] for key in wanted])
        else:
            setattr(obj, name, rows[wanted[0]] if wanted else None)


def _rows(session: sa.orm.Session, declared: _Declared, wanted: list[Any]) -> dict[Any, Any]:
    if not wanted:
        return {}
    attribute = getattr(declared.target, declared.key)
    query: Any = sa.select(declared.target).where(attribute.in_(wanted))
    with session.no_autoflush:
        rows = {getattr(row, declared.key): row for row in session.scalars(query)}
    missing = [key for key in wanted if key not in rows]
    if missing and not declared.relation.create_missing:
        raise HTTPException(
            422,
            f"{declared.name}: no {declared.target.__name__} with {declared.key} "
            + ", ".join(repr(key) for key in missing),
            title="Validation Error",
            extra={
                "errors": [
                    {
                        "loc": ["body", declared.name, wanted.index(key)],
                        "msg": f"No {declared.target.__name__} with this {declared.key}",
                        "type": "not_found",
                    }
                    for key in missing
                ]
            },
        )
    for key in missing:
        row = declared.target(**{declared.key: key})
        session.add(row)
        rows[key] = row
    return rows


def has_pending_relations(obj: object) -> bool:
    """Whether ``obj`` holds keys of related rows that its flush turns into rows."""
    return _PENDING in obj.__dict__


def resolve_pending(session: sa.orm.Session, options_of: Callable[[type], Any]) -> None:
    """Turn the keys ``Model(data)``/``apply`` kept aside into rows (``before_flush``)."""
    for obj in [*session.new, *session.dirty]:
        if _PENDING in obj.__dict__:
            _resolve(session, obj, options_of(type(obj)))


class RelatedChoices:
    """What a relationship's field in ``Create``/``Update`` may hold, for plait.forms: the
    related rows as ``(key, label)`` choices (``await form.load_choices(session)``)."""

    __slots__ = ("model", "name", "options")

    def __init__(self, model: type, name: str, options: Mapping[str, Relation]) -> None:
        self.model = model
        self.name = name
        self.options = options

    def _declared(self) -> _Declared:
        return {d.name: d for d in declared_relations(self.model, self.options)}[self.name]

    @property
    def open(self) -> bool:
        """New keys are welcome (get-or-create): the choices are not the only values."""
        return self._declared().relation.create_missing

    def key_of(self, value: Any) -> Any:
        """A related row's key (values that are keys already are returned as they are)."""
        if sa.inspect(value, raiseerr=False) is None:
            return value
        return getattr(value, self._declared().key)

    async def load(self, session: Any) -> list[tuple[str, str]]:
        """``(key, label)`` of every row the relationship may point to, by label."""
        declared = self._declared()
        label = declared.relation.label or _label(declared)
        key_attr = getattr(declared.target, declared.key)
        label_attr = getattr(declared.target, label)
        query = sa.select(key_attr, label_attr).order_by(label_attr, key_attr)
        return [(str(key), str(text)) for key, text in (await session.execute(query)).all()]


def _label(declared: _Declared) -> str:
    if not declared.key_column.primary_key:
        return declared.key
    mapper: Mapper[Any] = sa.inspect(declared.target)
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if isinstance(column.type, sa.String) and not column.primary_key:
            return prop.key
    return declared.key
