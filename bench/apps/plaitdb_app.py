"""plait.db: the database endpoints through plait's data layer, the way its docs teach.

Models on the TechEmpower tables, the ``Session`` dependency, derived schemas, reads
straight into them (``get_or_404(session, World.Read, id)``, ``read_all``) and
``crud_router``. The HTTP bench's ``/db``, ``/queries`` and ``/fortunes`` (so its rows
compare with every other app's, which share ``benchdb.py``), plus the data-path endpoints:
``GET /worlds/{id}`` (``crud_router``), ``GET /cities`` (20 rows with their foreign-key
relation, nested through a derived schema), ``POST /worlds`` (a create, 201) and
``/updates`` (TechEmpower's: rows read and written in one transaction, with ``bulk_update``).
"""

import os
from operator import attrgetter
from pathlib import Path

from benchdb import (
    DEFAULT_PG_DSN,
    DEFAULT_SQLITE,
    EXTRA_FORTUNE,
    RELATED_ROWS,
    query_count,
    random_city,
    random_id,
    random_ids,
)
from sqlalchemy import ForeignKey, String, bindparam, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plait import App, HTMLResponse, Request
from plait.db import (
    Database,
    Model,
    Session,
    bulk_update,
    crud_router,
    get_or_404,
    load_options,
    model_schema,
    read_all,
)
from plait.templates import Templates


def _url() -> str:
    if os.environ.get("BENCH_DB", "sqlite") == "postgres":
        dsn = os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN)
        return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"sqlite+aiosqlite:///{os.environ.get('BENCH_SQLITE', DEFAULT_SQLITE)}"


class World(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    randomNumber: Mapped[int] = mapped_column("randomnumber")  # TechEmpower's JSON name


class Fortune(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(2048))


class Country(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class City(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    country_id: Mapped[int] = mapped_column(ForeignKey("country.id"))
    country: Mapped[Country] = relationship()


CityWithCountry = model_schema(City, "read", depth=1)  # nests country: CountryRead

app = App()
# A small pool: every server of a bench run is up at once, PostgreSQL allows 100.
db = Database(app, _url(), engine_options={"pool_size": 4})
templates = Templates(app, Path(__file__).parent / "templates")
app.include_router(crud_router(World, operations=["get", "create"]))


@app.get("/plaintext")
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/db")
async def single_query(session: Session) -> World.Read:
    return await get_or_404(session, World.Read, random_id())  # the row, no ORM object


@app.get("/queries")
async def queries(session: Session, queries: str | None = None) -> list[World.Read]:
    count = query_count(queries)
    return [await get_or_404(session, World.Read, random_id()) for _ in range(count)]


# Built once: each request gives only the value of its bindparam().
NEXT_CITIES = (
    select(City).where(City.id >= bindparam("first")).order_by(City.id).limit(RELATED_ROWS)
)


@app.get("/cities")
async def cities(session: Session) -> list[CityWithCountry]:  # type: ignore[valid-type]
    return await read_all(session, CityWithCountry, NEXT_CITIES, {"first": random_city()})


# The same reads through ORM objects (session.get, session.scalars with load_options): not
# part of bench/run.py; bench/db_probe.py measures them beside the rows read into schemas.
WITH_COUNTRY = load_options(City, depth=1)


@app.get("/orm/db")
async def orm_single_query(session: Session) -> World.Read:
    return await session.get(World, random_id())


@app.get("/orm/queries")
async def orm_queries(session: Session, queries: str | None = None) -> list[World.Read]:
    return [await session.get(World, random_id()) for _ in range(query_count(queries))]


@app.get("/orm/cities")
async def orm_cities(session: Session) -> list[CityWithCountry]:  # type: ignore[valid-type]
    query = select(City).where(City.id >= random_city()).order_by(City.id)
    return list(await session.scalars(query.limit(RELATED_ROWS).options(*WITH_COUNTRY)))


@app.get("/orm/fortunes")
async def orm_fortunes(request: Request, session: Session) -> HTMLResponse:
    rows = list(await session.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message=EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.render(request, "fortunes.html", {"fortunes": rows})


@app.get("/updates")
async def updates(session: Session, queries: str | None = None) -> list[World.Read]:
    # Rows read straight into World.Read, changed, written back by key in one batched UPDATE.
    worlds = [await get_or_404(session, World.Read, pk) for pk in random_ids(query_count(queries))]
    for world in worlds:
        world.randomNumber = random_id()
    await bulk_update(session, World, worlds, fields=["randomNumber"])
    return worlds  # the Session commits before the response goes out


@app.get("/fortunes")
async def fortunes(request: Request, session: Session) -> HTMLResponse:
    rows = await read_all(session, Fortune.Read)
    rows.append(Fortune.Read(id=0, message=EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.render(request, "fortunes.html", {"fortunes": rows})
