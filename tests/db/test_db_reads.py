"""``read_one``/``read_all``: rows straight into schemas, the same JSON as the ORM path.

A read of a model's columns runs on the asyncpg or aiosqlite connection under SQLAlchemy (no
statement of SQLAlchemy's: a ``do_execute`` spy counts none), converting column types with
SQLAlchemy's own result processors; asyncpg's numerics, echo and traced engines go through
SQLAlchemy. Every endpoint is compared with its ORM twin.
"""

from __future__ import annotations

import datetime
import decimal
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
import sqlalchemy as sa
from db_harness import Status
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from _services import TCPProxy, reset_postgres
from plait import App
from plait.db import (
    Database,
    Model,
    Page,
    Session,
    get_or_404,
    load_options,
    model_schema,
    paginate,
    read_all,
    read_one,
)
from plait.testing import TestClient


class ReadpathCountry(Model):
    __tablename__ = "readpath_country"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class ReadpathCity(Model):
    __tablename__ = "readpath_city"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    population: Mapped[int | None]
    founded: Mapped[datetime.datetime | None]
    country_id: Mapped[int | None] = mapped_column(ForeignKey("readpath_country.id"))
    country: Mapped[ReadpathCountry | None] = relationship()


class ReadpathGauge(Model):
    """Columns whose values SQLAlchemy converts (asyncpg's numerics: through SQLAlchemy)."""

    __tablename__ = "readpath_gauge"
    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(6, 2))
    status: Mapped[Status]
    extra: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


TABLES = [ReadpathCountry.__table__, ReadpathCity.__table__, ReadpathGauge.__table__]
CityWithCountry = model_schema(ReadpathCity, "read", depth=1)
FOUNDED = datetime.datetime(1200, 5, 6, 7, 8, 9)


class CityName(msgspec.Struct):
    """A Struct of the model's columns that is not a model_schema()."""

    id: int
    name: str


def make_app(url: str, **options: Any) -> tuple[App, Database, list[str]]:
    """An app with fast and ORM endpoints; the list collects the SQL SQLAlchemy ran."""
    app = App()
    db = Database(app, url, **options)
    executed: list[str] = []

    async def setup() -> None:
        engine = db.engine
        sa.event.listen(
            engine.sync_engine, "do_execute", lambda c, statement, p, x: executed.append(statement)
        )
        async with engine.begin() as connection:
            await connection.run_sync(lambda c: Model.metadata.create_all(c, tables=TABLES))
            await connection.execute(sa.insert(ReadpathCountry), [{"id": 1, "name": "Ruritania"}])
            columns = ("id", "name", "population", "founded", "country_id")
            rows = [(1, "Zenda", 5, FOUNDED, 1), (2, "Strel", None, None, None)]
            rows.append((3, "Tarlenheim", 7, None, 1))
            cities = [dict(zip(columns, row, strict=True)) for row in rows]
            await connection.execute(sa.insert(ReadpathCity), cities)
            gauge = {"level": decimal.Decimal("1.25"), "status": Status.LIVE, "extra": {"a": [1]}}
            await connection.execute(sa.insert(ReadpathGauge), [{"id": 1, **gauge}])
        executed.clear()

    app.on_startup(setup)  # in an empty database (db_url): nothing to drop
    cities = select(ReadpathCity).order_by(ReadpathCity.name)

    @app.get("/fast/cities/{key}")
    async def fast_city(key: int, session: Session) -> ReadpathCity.Read:
        return await get_or_404(session, ReadpathCity.Read, key)

    @app.get("/orm/cities/{key}")
    async def orm_city(key: int, session: Session) -> ReadpathCity.Read:
        return await get_or_404(session, ReadpathCity, key)

    @app.get("/fast/cities")
    async def fast_cities(session: Session, since: int = 0) -> list[CityWithCountry]:  # type: ignore[valid-type]
        query = cities.where(ReadpathCity.id >= since).limit(5)
        return await read_all(session, CityWithCountry, query)

    @app.get("/orm/cities")
    async def orm_cities(session: Session, since: int = 0) -> list[CityWithCountry]:  # type: ignore[valid-type]
        query = cities.where(ReadpathCity.id >= since).limit(5)
        return list(await session.scalars(query.options(*load_options(ReadpathCity, 1))))

    since = cities.where(ReadpathCity.id >= sa.bindparam("since")).limit(5)  # built once

    @app.get("/fast/since/{first}")
    async def fast_since(first: int, session: Session) -> list[CityWithCountry]:  # type: ignore[valid-type]
        return await read_all(session, CityWithCountry, since, {"since": first})

    @app.get("/fast/page")
    async def fast_page(session: Session) -> Page[ReadpathCity.Read]:
        return await paginate(session, cities, page=1, size=2, schema=ReadpathCity.Read)

    @app.get("/orm/page")
    async def orm_page(session: Session) -> Page[ReadpathCity.Read]:
        return await paginate(session, cities, page=1, size=2)

    @app.get("/fast/names")
    async def fast_names(session: Session) -> list[CityName]:
        one = await read_one(session, CityName, 3, model=ReadpathCity)
        assert one is not None
        return [one, *await read_all(session, CityName, cities)]

    @app.get("/fast/countries")
    async def fast_countries(session: Session) -> list[ReadpathCountry.Read]:
        return await read_all(session, ReadpathCountry.Read)

    @app.get("/fast/gauges")
    async def fast_gauges(session: Session) -> list[ReadpathGauge.Read]:
        gauge = await read_one(session, ReadpathGauge.Read, 1)
        return [gauge, *await read_all(session, ReadpathGauge.Read)] if gauge else []

    @app.get("/orm/gauges")
    async def orm_gauges(session: Session) -> list[ReadpathGauge.Read]:
        gauge = await session.get(ReadpathGauge, 1)
        return [gauge, *await session.scalars(select(ReadpathGauge))]

    @app.post("/cities/{name}")
    async def add_and_read(name: str, session: Session) -> list[ReadpathCity.Read]:
        session.add(ReadpathCity(id=10, name=name))  # pending: the reads must flush it
        found = await read_all(session, ReadpathCity.Read, cities.where(ReadpathCity.name == name))
        again = await read_one(session, ReadpathCity.Read, 10)
        assert again is not None
        return [*found, again]

    @app.get("/many")
    async def many(session: Session) -> list[ReadpathCity.Read | None]:
        found = [await read_one(session, ReadpathCity.Read, key % 3 + 1) for key in range(20)]
        session.add(ReadpathCity(id=20, name="Written"))  # the reads' connection writes it
        await session.flush()
        return found

    @app.get("/busy")
    async def busy(session: Session) -> ReadpathCity.Read | None:
        async with db.engine.connect() as held:  # the pool's only connection (pool_size=1)
            await held.execute(select(1))
            return await read_one(session, ReadpathCity.Read, 1)

    return app, db, executed


@pytest.fixture
def reads(db_url: str) -> Iterator[tuple[TestClient, list[str], bool]]:
    app, _, executed = make_app(db_url)
    with TestClient(app) as client:
        yield client, executed, db_url.startswith("postgresql")


def test_rows_read_into_schemas_answer_as_the_orm_does(
    reads: tuple[TestClient, list[str], bool],
) -> None:
    client, executed, _ = reads
    for key in (1, 2):
        fast = client.get(f"/fast/cities/{key}")
        assert fast.status_code == 200
        assert fast.json() == client.get(f"/orm/cities/{key}").json()
    assert client.get("/fast/cities/1").json()["founded"] == "1200-05-06T07:08:09Z"  # UTC
    assert client.get("/fast/cities/9").json()["detail"] == "ReadpathCity 9 not found"
    for since in (0, 2):
        fast = client.get("/fast/cities", params={"since": since})
        assert fast.json() == client.get("/orm/cities", params={"since": since}).json()
        assert client.get(f"/fast/since/{since}").json() == fast.json()
    nested = client.get("/fast/cities").json()
    countries = [c["country"] and c["country"]["name"] for c in nested]
    assert countries == [None, "Ruritania", "Ruritania"]
    assert client.get("/fast/page").json() == client.get("/orm/page").json()
    assert client.get("/fast/countries").json() == [{"id": 1, "name": "Ruritania"}]
    names = client.get("/fast/names").json()
    short = [{"id": c["id"], "name": c["name"]} for c in nested]
    assert names == [{"id": 3, "name": "Tarlenheim"}, *short]

    executed.clear()
    client.get("/fast/cities/1")
    client.get("/fast/cities?since=1")
    client.get("/fast/names")
    client.get("/fast/since/2")
    assert executed == []  # asyncpg's or aiosqlite's connection, under SQLAlchemy's statements


def test_converting_column_types_answer_as_the_orm_does(
    reads: tuple[TestClient, list[str], bool],
) -> None:
    client, _, _ = reads
    fast = client.get("/fast/gauges")
    assert fast.json() == client.get("/orm/gauges").json()
    assert fast.json()[0] == {"id": 1, "level": "1.25", "status": "live", "extra": {"a": [1]}}


def test_a_read_after_a_write_sees_it(reads: tuple[TestClient, list[str], bool]) -> None:
    client, _, _ = reads
    response = client.post("/cities/Hentzau")
    assert response.status_code == 200, response.text
    assert [city["id"] for city in response.json()] == [10, 10]


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    reset_postgres(postgres_server)
    return postgres_server


@pytest.mark.postgres
def test_echo_logs_the_reads(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    app, _, _ = make_app(pg_url, echo=True)
    with TestClient(app) as client:
        caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
        caplog.clear()
        assert client.get("/fast/cities/1").status_code == 200
        assert client.get("/fast/cities").status_code == 200
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert any("WHERE readpath_city.id = $1" in line for line in logged), logged
    assert any("LEFT OUTER JOIN readpath_country" in line for line in logged), logged


@pytest.mark.postgres
def test_traced_reads_get_their_spans(pg_url: str) -> None:
    pytest.importorskip("opentelemetry.instrumentation.sqlalchemy")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from plait.observability import Tracing

    app, db, _ = make_app(pg_url)
    exporter = InMemorySpanExporter()
    Tracing(app, exporter=exporter, batch=False, database=db)
    with TestClient(app) as client:
        exporter.clear()
        assert client.get("/fast/cities/1").json()["name"] == "Zenda"
    spans = exporter.get_finished_spans()
    (query,) = [span for span in spans if span.name.startswith("SELECT")]
    request = next(span for span in spans if span.name.startswith("GET"))
    assert query.parent is not None
    assert query.parent.span_id == request.context.span_id
    assert "readpath_city.id = $1" in str((query.attributes or {}).get("db.statement"))


@pytest.mark.postgres
def test_an_outage_is_a_503_and_reads_recover(pg_url: str) -> None:
    parts = urlsplit(pg_url)
    with TCPProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        url = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
        app, _, executed = make_app(url)
        with TestClient(app) as client:
            assert client.get("/fast/cities/1").status_code == 200
            assert executed == []  # the fast path
            proxy.stop()
            for path in ("/fast/cities/1", "/fast/cities", "/fast/cities/2"):
                response = client.get(path)
                assert response.status_code == 503, response.text
                assert response.headers["retry-after"] == "5"
            proxy.start()
            assert client.get("/fast/cities/1").json()["name"] == "Zenda"  # no restart


@pytest.mark.postgres
def test_a_busy_pool_is_a_503(pg_url: str) -> None:
    app, _, _ = make_app(pg_url, engine_options={"pool_size": 1, "pool_timeout": 0.2})
    with TestClient(app) as client:
        response = client.get("/busy")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert client.get("/fast/cities/1").status_code == 200  # the connection came back


@pytest.mark.postgres
def test_the_reads_of_a_request_share_one_connection(pg_url: str) -> None:
    app, db, _ = make_app(pg_url, engine_options={"pool_size": 1, "pool_timeout": 0.5})
    checkouts: list[object] = []
    app.on_startup(
        lambda: sa.event.listen(db.engine.sync_engine, "checkout", lambda *a: checkouts.append(a))
    )
    with TestClient(app) as client:
        checkouts.clear()
        response = client.get("/many")
        assert response.status_code == 200, response.text
        assert [city["id"] for city in response.json()] == [1, 2, 3] * 6 + [1, 2]
    # The first read's own (given back at once), then the session's for the rest and the write.
    assert len(checkouts) == 2
