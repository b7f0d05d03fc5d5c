"""plait's data layer: models on SQLAlchemy 2, sessions per request, schemas, migrations.

::

    from plait import App
    from plait.db import Database, Model, Session
    from sqlalchemy import String
    from sqlalchemy.orm import Mapped, mapped_column

    class Article(Model):
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str] = mapped_column(String(200))
        body: Mapped[str]

    app = App()
    db = Database(app)

    @app.post("/articles", status_code=201)
    async def create(data: Article.Create, session: Session) -> Article.Read:
        article = Article(data)
        session.add(article)
        return article

Needs ``pip install 'plait[db]'`` (and ``'plait[postgres]'`` for PostgreSQL).
"""

from plait._optional import MissingDependencyError, require

require("sqlalchemy", "db", "plait.db")

from plait.db._columntypes import EmailType, URLType  # noqa: E402
from plait.db._crud import bulk_create, bulk_update, count, exists, get_or_404  # noqa: E402
from plait.db._database import POOL_SIZE, POOL_TIMEOUT, Database  # noqa: E402
from plait.db._datetime import UTCDateTime  # noqa: E402
from plait.db._errorhandling import (  # noqa: E402
    Violation,
    describe_integrity_error,
    install_error_handlers,
    sqlstate,
)
from plait.db._lending import LentSession  # noqa: E402
from plait.db._model import NAMING_CONVENTION, Model  # noqa: E402
from plait.db._pagination import (  # noqa: E402
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    KeysetPage,
    Limit,
    Offset,
    OffsetPage,
    Page,
    PageNumber,
    PageSize,
    paginate,
    paginate_keyset,
)
from plait.db._reads import read_all, read_one  # noqa: E402
from plait.db._relations import Relation  # noqa: E402
from plait.db._router import crud_router  # noqa: E402
from plait.db._schemas import SchemaOptions, apply, load_options, model_schema, values  # noqa: E402
from plait.db._session import Session, get_session  # noqa: E402

__all__ = [
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "NAMING_CONVENTION",
    "POOL_SIZE",
    "POOL_TIMEOUT",
    "Database",
    "EmailType",
    "KeysetPage",
    "LentSession",
    "Limit",
    "MissingDependencyError",
    "Model",
    "Offset",
    "OffsetPage",
    "Page",
    "PageNumber",
    "PageSize",
    "Relation",
    "SchemaOptions",
    "Session",
    "URLType",
    "UTCDateTime",
    "Violation",
    "apply",
    "bulk_create",
    "bulk_update",
    "count",
    "crud_router",
    "describe_integrity_error",
    "exists",
    "get_or_404",
    "get_session",
    "install_error_handlers",
    "load_options",
    "model_schema",
    "paginate",
    "paginate_keyset",
    "read_all",
    "read_one",
    "sqlstate",
    "values",
]
