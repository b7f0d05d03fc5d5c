"""Database errors as HTTP problems: integrity 409/422, bad values 422, connection loss 503.

SQLite and PostgreSQL describe the same violation differently: SQLite in its message
(``UNIQUE constraint failed: article.title``), asyncpg with a SQLSTATE code and structured
fields (``column_name``, ``constraint_name``, ``detail``). Both are parsed into the field the
client has to fix; when the field can't be told, the problem still has the right status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from plait import App, BackingService, HTTPException, Request

__all__ = [
    "RETRY_AFTER_SECONDS",
    "Violation",
    "connect_errors_as_dbapi_errors",
    "describe_integrity_error",
    "install_error_handlers",
    "is_unavailable",
    "outages",
    "sqlstate",
]


RETRY_AFTER_SECONDS = 5
"""The ``Retry-After`` of a 503 answered while the database can't be reached."""

_SQLITE = re.compile(r"^(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (.*))?$")
_PG_KEY = re.compile(r"Key \((.+?)\)=")
_PG_NOT_NULL = re.compile(r'null value in column "([^"]+)"')
_PG_CHECK = re.compile(r'violates check constraint "([^"]+)"')
_UNAVAILABLE = re.compile(
    r"database is locked|could not connect|connection (?:is |was )?closed|connection refused|"
    r"connect call failed|server closed|terminating connection|timed? ?out|"
    r"connection reset|broken pipe|no connection|cannot connect now|too many (?:clients|conn)",
    re.IGNORECASE,
)
_KINDS = {"23505": "unique", "23502": "not_null", "23503": "foreign_key", "23514": "check"}
_SQLITE_KINDS = {
    "UNIQUE": "unique",
    "NOT NULL": "not_null",
    "CHECK": "check",
    "FOREIGN KEY": "foreign_key",
}


@dataclass
class Violation:
    """What an integrity error was about, as far as the database said."""

    kind: str
    """``unique``, ``not_null``, ``foreign_key``, ``check`` or ``unknown``."""
    fields: list[str] = field(default_factory=list)
    """The columns involved, when the database named them."""
    constraint: str | None = None
    table: str | None = None
    referenced: bool = False
    """For a foreign key: the row is still referenced (a delete), not a missing reference."""


def sqlstate(orig: Any) -> str | None:
    """The SQLSTATE code of a driver error (``exc.orig``): asyncpg's or psycopg's, or ``None``
    (SQLite gives none): ``"23505"`` for a unique violation, class ``"22"`` for bad data."""
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def describe_integrity_error(exc: IntegrityError) -> Violation:
    """Parse an integrity error from SQLite or PostgreSQL into a :class:`Violation`."""
    orig = exc.orig
    message = str(orig).strip()
    code = sqlstate(orig)
    if code is not None:
        cause = getattr(orig, "__cause__", None) or orig
        detail = str(getattr(cause, "detail", "") or "")
        violation = Violation(
            _KINDS.get(code, "unknown"),
            constraint=getattr(cause, "constraint_name", None),
            table=getattr(cause, "table_name", None),
        )
        column = getattr(cause, "column_name", None)
        key = _PG_KEY.search(detail)
        not_null = _PG_NOT_NULL.search(message)
        if column:
            violation.fields = [column]
        elif key is not None:
            violation.fields = [name.strip().strip('"') for name in key.group(1).split(",")]
        elif not_null is not None:
            violation.fields = [not_null.group(1)]
        if violation.constraint is None and (check := _PG_CHECK.search(message)) is not None:
            violation.constraint = check.group(1)
        violation.referenced = "still referenced" in detail
        return violation
    match = _SQLITE.match(message.splitlines()[0] if message else "")
    if match is None:
        return Violation("unknown")
    violation = Violation(_SQLITE_KINDS[match.group(1)])
    target = match.group(2) or ""
    if violation.kind in ("unique", "not_null") and target and not target.startswith("index"):
        columns = [part.strip() for part in target.split(",")]
        violation.fields = [column.rpartition(".")[2] for column in columns]
        violation.table = columns[0].rpartition(".")[0] or None
    elif violation.kind == "check" and target:
        violation.constraint = target
    return violation


_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?([\w.]+)"?\s*\(([^)]*)\)', re.IGNORECASE)
_UPDATE = re.compile(r'^\s*UPDATE\s+"?([\w.]+)"?\s+SET\s+(.*?)\s+WHERE', re.IGNORECASE | re.DOTALL)


def _written(exc: IntegrityError) -> tuple[str, dict[str, Any]] | None:
    """The table and the column values of the INSERT or UPDATE that failed."""
    statement = str(exc.statement or "")
    params = exc.params
    insert, update = _INSERT.match(statement), _UPDATE.match(statement)
    if insert is not None:
        table, names = insert.group(1), [n.strip().strip('"') for n in insert.group(2).split(",")]
    elif update is not None:
        table = update.group(1)
        names = [part.split("=")[0].strip().strip('"') for part in update.group(2).split(",")]
    else:
        return None
    if isinstance(params, dict):
        return table, params
    if isinstance(params, list | tuple) and params and isinstance(params[0], list | tuple):
        params = params[0]
    if isinstance(params, list | tuple):
        return table, dict(zip(names, params, strict=False))
    return None


def _guess_foreign_key(request: Request, exc: IntegrityError) -> list[str]:
    """SQLite does not say which reference failed: when the statement set exactly one
    foreign-key column of its table, that one did."""
    written = _written(exc)
    if written is None or request.app is None:
        return []
    table_name, values = written
    databases = getattr(request.app.state, "databases", {})
    for database in databases.values():
        table = database.metadata.tables.get(table_name)
        if table is not None:
            keys = [
                c.name for c in table.columns if c.foreign_keys and values.get(c.name) is not None
            ]
            return keys if len(keys) == 1 else []
    return []


def _integrity_problem(request: Request, exc: IntegrityError) -> HTTPException:
    violation = describe_integrity_error(exc)
    if violation.kind == "foreign_key" and not violation.fields and request.method != "DELETE":
        violation.fields = _guess_foreign_key(request, exc)
    names = ", ".join(violation.fields)
    where = ["body", *violation.fields[:1]] if request.method != "DELETE" else []
    if violation.kind == "unique":
        detail = f"A row with this {names} already exists" if names else "This row already exists"
        return _problem(409, "Conflict", detail, violation, where, "already exists")
    if violation.kind == "foreign_key" and (violation.referenced or request.method == "DELETE"):
        detail = "This row is still referenced by other rows"
        if violation.table:
            detail += f" (in {violation.table})"
        return _problem(409, "Conflict", detail, violation, [], "")
    if violation.kind == "foreign_key":
        detail = (
            f"{names} refers to a row that does not exist"
            if names
            else ("A reference points to a row that does not exist")
        )
        return _problem(422, "Validation Error", detail, violation, where, "not found")
    if violation.kind == "not_null":
        detail = f"{names} may not be null" if names else "A required value is missing"
        return _problem(422, "Validation Error", detail, violation, where, "may not be null")
    if violation.kind == "check":
        detail = "A value breaks a rule of the database"
        if violation.constraint:
            detail += f" ({violation.constraint})"
        return _problem(422, "Validation Error", detail, violation, where, detail)
    return HTTPException(409, "The change conflicts with data already stored", title="Conflict")


def _problem(
    status: int, title: str, detail: str, violation: Violation, loc: list[str], msg: str
) -> HTTPException:
    extra: dict[str, Any] = {"constraint": violation.kind}
    if loc and violation.fields:
        extra["errors"] = [
            {"loc": ["body", name], "msg": msg, "type": violation.kind} for name in violation.fields
        ]
    elif status == 422:
        # Every 422 is a ValidationProblem: an errors list, even when no field is known.
        extra["errors"] = [{"loc": loc[:1], "msg": detail, "type": violation.kind}]
    return HTTPException(status, detail, title=title, extra=extra)


_INT32 = 2**31 - 1


def _int_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("+-").isdigit():
        return int(value)
    return None


def _out_of_range(request: Request, limit: int) -> list[dict[str, Any]]:
    """The path and query parameters holding an integer beyond ``±limit``: the likely cause
    of a value the database could not hold."""
    found = []
    for where, params in (("path", request.path_params), ("query", request.query_params)):
        for name in dict(params):
            number = _int_value(params[name])
            if number is not None and abs(number) > limit:
                found.append(
                    {"loc": [where, name], "msg": "Number out of range", "type": "out_of_range"}
                )
    return found


def _does_not_fit(request: Request, limit: int) -> HTTPException:
    detail = "A value does not fit its database column"
    errors = _out_of_range(request, limit) or [
        {"loc": ["body"], "msg": detail, "type": "out_of_range"}
    ]
    return HTTPException(422, detail, title="Validation Error", extra={"errors": errors})


def _from_the_database(exc: BaseException) -> bool:
    traceback = exc.__traceback__
    while traceback is not None:
        name = traceback.tb_frame.f_globals.get("__name__", "")
        if name.startswith(("sqlalchemy.", "aiosqlite", "sqlite3", "asyncpg", "psycopg")):
            return True
        traceback = traceback.tb_next
    return False


async def _handle_overflow(request: Request, exc: Exception) -> Any:
    # SQLite's driver raises a plain OverflowError for an integer past 64 bits.
    if _from_the_database(exc):
        raise _does_not_fit(request, 2**63 - 1)
    raise exc


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database can't be reached right now (answer 503)."""
    if isinstance(exc, sa.exc.TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    code = sqlstate(exc.orig) or ""
    # 08: connection exception; 53: insufficient resources; 57P0x: server shutting down,
    # restarting, or not yet accepting connections; 40: serialization failure or deadlock.
    if code[:2] in ("08", "53", "40") or code.startswith("57P0"):
        return True
    return isinstance(exc, sa.exc.OperationalError) and bool(_UNAVAILABLE.search(str(exc.orig)))


outages = BackingService(
    "The database",
    errors=is_unavailable,
    retry_after=RETRY_AFTER_SECONDS,
    detail="The database is unavailable right now; try again shortly",
)
"""The database's outages: 503 with ``Retry-After``, one log line when one starts and one
when a new connection succeeds again (see :class:`plait.BackingService`)."""


async def _handle(request: Request, exc: Exception) -> Any:
    if isinstance(exc, IntegrityError):
        raise _integrity_problem(request, exc)
    if is_unavailable(exc):
        raise outages.failed(exc) from exc
    code = sqlstate(getattr(exc, "orig", None)) or ""
    if code.startswith("22"):
        # Data exception: a value the column can't hold (too long, out of range…).
        raise _does_not_fit(request, _INT32)
    raise exc


def install_error_handlers(app: App) -> None:
    """Answer database errors raised by handlers with problem responses instead of 500s:

    - unique violations: 409, naming the field (``errors: [{loc: ["body", "title"]…}]``);
    - not-null, check and foreign-key violations: 422 (a delete of a still-referenced row:
      409);
    - values a column can't hold, integers past the database's range: 422, naming the path
      or query parameter when one holds such an integer;
    - connection loss, refused connections, a locked SQLite file, pool timeouts: 503 with
      ``Retry-After``.

    Other database errors stay 500s (they are bugs: a missing table, bad SQL). ``Database``
    installs these; call this yourself only for an engine plait does not manage.
    """
    if getattr(app.state, "db_error_handlers", False):
        return
    app.state.db_error_handlers = True
    app.add_exception_handler(DBAPIError, _handle)
    app.add_exception_handler(sa.exc.TimeoutError, _handle)
    app.add_exception_handler(OverflowError, _handle_overflow)


def connect_errors_as_dbapi_errors(engine: sa.Engine) -> None:
    """Raise refused or timed-out connections as the driver's ``OperationalError``, so that
    they are handled (503) like every other connection failure (asyncpg raises ``OSError``)."""

    @sa.event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            connection = dialect.connect(*cargs, **cparams)
        except OSError as exc:
            raise dialect.loaded_dbapi.OperationalError(
                f"could not connect to the database: {exc}"
            ) from exc
        outages.succeeded()  # a new connection: an outage, if there was one, is over
        return connection
