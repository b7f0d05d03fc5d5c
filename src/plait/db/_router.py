"""``crud_router``: list, get, create, update and delete endpoints for a model, in one line."""

from __future__ import annotations

import datetime
import decimal
import enum
import inspect
import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Annotated, Any, Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from plait import Depends, HTTPException, Query, Router
from plait.db._crud import get_or_404
from plait.db._pagination import MAX_OFFSET, MAX_PAGE, MAX_PAGE_SIZE, OffsetPage, Page, paginate
from plait.db._readback import known_when_inserted, known_when_updated, read_back
from plait.db._readplan import shape_of
from plait.db._reads import read_one
from plait.db._schemas import apply, load_options, model_schema, schema_field_type
from plait.db._session import COMMITTED_AFTER_HANDLER, get_session

__all__ = ["Operation", "crud_router"]

Operation = Literal["list", "get", "create", "replace", "update", "delete"]
_ALL: tuple[Operation, ...] = ("list", "get", "create", "replace", "update", "delete")
_RESERVED = {"page", "size", "sort", "limit", "offset"}
_FILTERABLE = (str, int, bool, uuid.UUID, datetime.date, decimal.Decimal, enum.Enum)
_TAKEN = "A unique value is already taken by another row"
_UNAVAILABLE = {
    "description": "The database is unavailable; retry after the given delay",
    "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}


def _plural(name: str) -> str:
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es" if not name.endswith("s") else name
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u"):
        return name[:-1] + "ies"
    return name + "s"


def _handler(
    name: str,
    func: Callable[..., Any],
    params: list[tuple[str, Any, Any]],
    returns: Any,
    doc: str,
) -> Callable[..., Any]:
    """Give ``func`` (taking ``**kwargs``) a real signature, so plait binds it like any handler."""
    parameters = [
        inspect.Parameter(
            pname,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=annotation,
            default=inspect.Parameter.empty if default is ... else default,
        )
        for pname, annotation, default in params
    ]
    func.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    func.__annotations__ = {pname: annotation for pname, annotation, _ in params}
    func.__annotations__["return"] = returns
    func.__name__ = func.__qualname__ = name
    func.__doc__ = doc
    return func


def _scalar_columns(
    model: type, read: type[msgspec.Struct], *, datetimes: bool = False
) -> dict[str, sa.Column[Any]]:
    """Readable columns of a type a query string can carry, by attribute name (timestamps
    too with ``datetimes``: they sort, though an exact-match filter on them makes no sense)."""
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    readable = set(read.__struct_fields__)
    found: dict[str, sa.Column[Any]] = {}
    for prop in mapper.column_attrs:
        if prop.key not in readable or len(prop.columns) != 1:
            continue
        column: Any = prop.columns[0]
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            continue
        if issubclass(python_type, _FILTERABLE) and (
            datetimes or not issubclass(python_type, datetime.datetime)
        ):
            found[prop.key] = column
    return found


def crud_router(
    model: type,
    *,
    prefix: str | None = None,
    tags: Sequence[str] | None = None,
    operations: Collection[Operation] = _ALL,
    read: type[msgspec.Struct] | None = None,
    create: type[msgspec.Struct] | None = None,
    update: type[msgspec.Struct] | None = None,
    filter_by: Sequence[str] | None = None,
    sort_by: Sequence[str] | None = None,
    page_size: int = 20,
    max_page_size: int = MAX_PAGE_SIZE,
    pagination: Literal["page", "offset"] = "page",
    session: Callable[..., Any] = get_session,
    dependencies: Sequence[Any] | None = None,
) -> Router:
    """A router with the five CRUD endpoints of ``model``, for prototypes and admin APIs::

        app.include_router(crud_router(Article))

    - ``GET /article`` (prefix from the table name, pluralised): a :class:`~plait.db.Page`
      of ``Article.Read``, with ``page``/``size`` (capped at ``max_page_size``), equality
      filters (``?published=true``) for the ``filter_by`` columns (default: every readable
      column of a simple type), and ``sort`` over ``sort_by`` (default: the primary key and
      indexed or unique columns; ``-title`` sorts descending);
    - ``GET /article/{id}``, ``POST /article`` (201), ``PUT /article/{id}`` (a full
      replace: the ``Create`` body, fields left out taking their defaults),
      ``PATCH /article/{id}`` (only the fields sent), ``DELETE /article/{id}`` (204), with
      404 for a missing row.

    ``pagination="offset"`` pages the list by ``limit``/``offset`` instead, answering an
    :class:`~plait.db.OffsetPage`.

    Every status an endpoint can answer is in its OpenAPI: 404, 409 (a unique or reference
    conflict), 422 (invalid input) and 503 (database unavailable). ``read``, ``create`` and
    ``update`` replace the derived schemas; ``session`` is the session dependency (another
    :class:`~plait.db.Database`'s ``session_dependency``).
    """
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    keys = mapper.primary_key
    if len(keys) != 1:
        raise ValueError(f"crud_router({model.__name__}): only single-column primary keys")
    pk_column = keys[0]
    pk_name = mapper.get_property_by_column(pk_column).key
    pk_type = schema_field_type(pk_column.type, "create")
    read = read or model_schema(model, "read")
    create_schema = create or model_schema(model, "create")
    update_schema = update or model_schema(model, "update")
    depth = _read_depth(model, read)
    options = load_options(model, depth)
    unknown = set(operations) - set(_ALL)
    if unknown:
        raise ValueError(f"crud_router: unknown operations {sorted(unknown)}; choose from {_ALL}")

    name = model.__name__
    table = getattr(model, "__tablename__", None) or name.lower()
    if prefix is None:
        prefix = "/" + _plural(str(table)).replace("_", "-")
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"crud_router prefix {prefix!r} must start with '/' and not end with it")
    router = Router()
    route_tags = list(tags) if tags is not None else [name]
    Session = Annotated[AsyncSession, Depends(session, scope="function")]
    pk_path = f"{prefix}/{{{pk_name}}}"
    deps = list(dependencies or ())

    answer = read_back(model, read, options)
    inserted_as_read = not options and known_when_inserted(model, read)
    updated_as_read = not options and known_when_updated(model, read)
    read_fields = frozenset(read.__struct_fields__)

    # Rows straight into ``read`` (read_one, read_all) when it shows the model's columns and
    # its many-to-one relations; ORM objects and their loaders otherwise.
    rows = shape_of(model, read) is not None
    if pagination not in ("page", "offset"):
        raise ValueError(f"crud_router: pagination is 'page' or 'offset', not {pagination!r}")
    if "list" in operations:
        columns = _scalar_columns(model, read)
        filters = _pick(filter_by, columns, "filter_by", name, default=list(columns))
        default_sorts = [k for k, c in columns.items() if c.primary_key or c.index or c.unique]
        sortable = _scalar_columns(model, read, datetimes=True)
        sorts = _pick(sort_by, sortable, "sort_by", name, default=default_sorts)
        _list_endpoint(
            router,
            prefix,
            model,
            read,
            rows,
            Session,
            filters,
            columns,
            sorts,
            pk_name,
            options,
            page_size,
            max_page_size,
            pagination,
            deps,
            route_tags,
        )

    not_found = {404: f"No {name} with this {pk_name}", 503: _UNAVAILABLE}
    pk_param = (pk_name, pk_type, ...)
    session_param = ("session", Session, ...)

    def add(
        method: str,
        path: str,
        operation: str,
        func: Callable[..., Any],
        params: list[tuple[str, Any, Any]],
        returns: Any,
        summary: str,
        responses: dict[int, Any] | None = None,
        status_code: int | None = None,
    ) -> None:
        """One route of the router: ``{operation}_{table}`` answering ``method`` at ``path``."""
        router.add_route(
            path,
            _handler(f"{operation}_{table}", func, params, returns, summary),
            methods=[method],
            status_code=status_code,
            responses=not_found if responses is None else responses,
            dependencies=deps,
            tags=route_tags,
        )

    if "get" in operations:

        async def get_one(**kw: Any) -> Any:
            if not rows:
                return await get_or_404(kw["session"], model, kw[pk_name], options=options)
            found = await read_one(kw["session"], read, kw[pk_name], model=model)
            if found is None:
                raise HTTPException(404, f"{name} {kw[pk_name]!r} not found")
            return found

        add("GET", pk_path, "get", get_one, [pk_param, session_param], read, f"Get one {name}.")

    if "create" in operations:

        async def create_one(**kw: Any) -> Any:
            db: AsyncSession = kw["session"]
            obj = model(kw["data"])
            db.add(obj)
            if inserted_as_read and COMMITTED_AFTER_HANDLER in db.sync_session.info:
                # PERF: the Session's commit flushes it before ``obj`` becomes the answer
                # (the id known, every other field as sent): on PostgreSQL its INSERT is
                # then the one statement of a transaction without BEGIN or COMMIT.
                return obj
            await db.flush()
            return await answer(db, obj)

        add(
            "POST",
            prefix,
            "create",
            create_one,
            [("data", create_schema, ...), session_param],
            read,
            f"Create a {name}.",
            {409: _TAKEN, 503: _UNAVAILABLE},
            status_code=201,
        )

    def add_change(method: str, verb: str, schema: Any, replace: bool, summary: str) -> None:
        """PUT (``replace``: fields left out go back to their defaults) or PATCH: load the
        row, apply the body, flush, answer the row as read back."""

        async def change_one(**kw: Any) -> Any:
            db: AsyncSession = kw["session"]
            obj: Any = await get_or_404(db, model, kw[pk_name])
            apply(obj, kw["data"])
            if replace:
                _reset_to_defaults(obj, kw["data"], mapper)
            if (
                updated_as_read
                and COMMITTED_AFTER_HANDLER in db.sync_session.info
                and read_fields.isdisjoint(sa.inspect(obj).unloaded)
            ):
                # PERF: as create_one: the Session's commit flushes the UPDATE (on its own,
                # without BEGIN or COMMIT) before ``obj`` becomes the answer.
                return obj
            await db.flush()
            return await answer(db, obj)

        params = [pk_param, ("data", schema, ...), session_param]
        add(method, pk_path, verb, change_one, params, read, summary, {**not_found, 409: _TAKEN})

    if "replace" in operations:
        add_change(
            "PUT",
            "replace",
            _without_keys(create_schema, mapper),
            True,
            f"Replace a {name}: every field is set, those left out to their defaults.",
        )
    if "update" in operations:
        add_change(
            "PATCH",
            "update",
            update_schema,
            False,
            f"Change some fields of a {name} (absent fields are kept).",
        )

    if "delete" in operations:

        async def delete_one(**kw: Any) -> None:
            db: AsyncSession = kw["session"]
            obj: Any = await get_or_404(db, model, kw[pk_name])
            await db.delete(obj)
            await db.flush()

        add(
            "DELETE",
            pk_path,
            "delete",
            delete_one,
            [pk_param, session_param],
            None,
            f"Delete a {name}.",
            {**not_found, 409: f"Other rows still refer to this {name.lower()}"},
            status_code=204,
        )
    return router


def _reset_to_defaults(obj: Any, data: msgspec.Struct, mapper: sa.orm.Mapper[Any]) -> None:
    """A PUT's fields left out whose default is computed in Python (``default=list``) get a
    fresh default; those the database fills (``server_default``) keep their value."""
    for name in data.__struct_fields__:
        if getattr(data, name) is not msgspec.UNSET or name not in mapper.column_attrs:
            continue
        default = mapper.column_attrs[name].columns[0].default
        if isinstance(default, sa.ColumnDefault) and default.is_callable:
            setattr(obj, name, default.arg(None))


def _without_keys(schema: type[msgspec.Struct], mapper: sa.orm.Mapper[Any]) -> type[msgspec.Struct]:
    """``schema`` without the primary key (a PUT's path names the row)."""
    keys = {mapper.get_property_by_column(c).key for c in mapper.primary_key}
    if not keys & set(schema.__struct_fields__):
        return schema
    model = mapper.class_
    return model_schema(model, "create", exclude=keys, name=f"{model.__name__}Replace")


def _read_depth(model: type, read: type[msgspec.Struct]) -> int:
    for depth in range(8):
        if model_schema(model, "read", depth=depth) is read:
            return depth
    return 0


def _pick(
    chosen: Sequence[str] | None,
    columns: dict[str, sa.Column[Any]],
    what: str,
    name: str,
    *,
    default: list[str],
) -> list[str]:
    if chosen is None:
        return [key for key in default if key not in _RESERVED]
    bad = [key for key in chosen if key not in columns or key in _RESERVED]
    if bad:
        raise ValueError(
            f"crud_router({name}): {what} can't use {bad}: choose readable columns of simple "
            f"types, not named {sorted(_RESERVED)} (these are: {sorted(columns)})"
        )
    return list(chosen)


def _list_endpoint(
    router: Router,
    prefix: str,
    model: type,
    read: type[msgspec.Struct],
    rows: bool,
    session_type: Any,
    filters: list[str],
    columns: dict[str, sa.Column[Any]],
    sorts: list[str],
    pk_name: str,
    options: list[Any],
    page_size: int,
    max_page_size: int,
    pagination: str,
    dependencies: list[Any],
    tags: list[str],
) -> None:
    name = model.__name__
    choices = [*sorts, *(f"-{key}" for key in sorts)] or [pk_name]
    sort_choices: Any = Literal[tuple(choices)]
    sort_type: Any = Annotated[
        sort_choices, Query(description="Sort by this field; a leading '-' sorts descending.")
    ]
    size_type = Annotated[int, Query(ge=1, le=max_page_size, description="Items per page.")]
    params: list[tuple[str, Any, Any]] = [("session", session_type, ...)]
    if pagination == "offset":
        offset_type = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
        params += [("limit", size_type, min(page_size, max_page_size)), ("offset", offset_type, 0)]
    else:
        page_type = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number.")]
        params += [("page", page_type, 1), ("size", size_type, min(page_size, max_page_size))]
    params.append(("sort", sort_type, None))
    for key in filters:
        field_type: Any = schema_field_type(columns[key].type, "create")
        # No value means no filter: the default (None) is used as is, never validated.
        described: Any = Annotated[field_type, Query(description=f"Only rows whose {key} is this.")]
        params.append((key, described, None))
    # Rows straight into ``read`` when its shape allows, else ORM objects with their loaders.
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    attrs = {prop.key: getattr(model, prop.key) for prop in mapper.column_attrs}
    selected: sa.Select[Any] = sa.select(model) if rows else sa.select(model).options(*options)
    schema = read if rows else None

    # ``limit`` and ``offset``, or ``page`` and ``size``: the list's query parameters.
    window_keys = ("limit", "offset") if pagination == "offset" else ("page", "size")

    async def list_all(**kw: Any) -> Any:
        query = selected
        for key in filters:
            value = kw[key]
            if value is not None:
                query = query.where(attrs[key] == value)
        sort = kw["sort"]
        order = []
        if sort:
            attr = attrs[sort.lstrip("-")]
            order.append(attr.desc() if sort.startswith("-") else attr.asc())
        # The primary key last makes the order total, so pages never overlap.
        order.append(attrs[pk_name].asc())
        window = {key: kw[key] for key in window_keys}
        return await paginate(
            kw["session"], query.order_by(*order), **window, max_size=max_page_size, schema=schema
        )

    table = getattr(model, "__tablename__", None) or name.lower()
    router.add_route(
        prefix,
        _handler(
            f"list_{table}",
            list_all,
            params,
            (OffsetPage if pagination == "offset" else Page)[read],
            f"List {name} rows, a page at a time.",
        ),
        methods=["GET"],
        responses={503: _UNAVAILABLE},
        dependencies=dependencies,
        tags=tags,
    )
