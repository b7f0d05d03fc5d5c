"""Litestar + Advanced Alchemy: the data path, the way Advanced Alchemy's Litestar docs teach.

``SQLAlchemyPlugin`` with an async config (a session per request, committed by the
``autocommit`` before-send handler when the answer is 2xx), models on ``BigIntBase``, a
repository service per model handed to the handlers by ``create_service_dependencies``, and
msgspec Structs out through ``service.to_schema``. Jinja templates for the fortunes page.
"""

import os
from operator import attrgetter
from pathlib import Path

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
    base,
    filters,
    providers,
    repository,
    service,
)
from benchdb import (
    DEFAULT_PG_DSN,
    DEFAULT_SQLITE,
    EXTRA_FORTUNE,
    POOL_SIZE,
    RELATED_ROWS,
    query_count,
    random_city,
    random_id,
)
from litestar import Litestar, get, post
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from msgspec import Struct
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload


def _config() -> SQLAlchemyAsyncConfig:
    if os.environ.get("BENCH_DB", "sqlite") == "postgres":
        dsn = os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN)
        url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        engine_config = EngineConfig(pool_size=POOL_SIZE, max_overflow=0)
    else:
        url = f"sqlite+aiosqlite:///{os.environ.get('BENCH_SQLITE', DEFAULT_SQLITE)}"
        engine_config = EngineConfig()
    return SQLAlchemyAsyncConfig(
        connection_string=url,
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=engine_config,
    )


class World(base.BigIntBase):
    __tablename__ = "world"
    randomNumber: Mapped[int] = mapped_column("randomnumber")  # TechEmpower's JSON name


class Fortune(base.BigIntBase):
    __tablename__ = "fortune"
    message: Mapped[str]


class Country(base.BigIntBase):
    __tablename__ = "country"
    name: Mapped[str]


class City(base.BigIntBase):
    __tablename__ = "city"
    name: Mapped[str]
    country_id: Mapped[int] = mapped_column(ForeignKey("country.id"))
    country: Mapped[Country] = relationship()


class WorldRead(Struct):
    id: int
    randomNumber: int


class WorldCreate(Struct):
    randomNumber: int


class CountryRead(Struct):
    id: int
    name: str


class CityRead(Struct):
    id: int
    name: str
    country_id: int
    country: CountryRead


class WorldService(service.SQLAlchemyAsyncRepositoryService[World]):
    class Repo(repository.SQLAlchemyAsyncRepository[World]):
        model_type = World

    repository_type = Repo


class FortuneService(service.SQLAlchemyAsyncRepositoryService[Fortune]):
    class Repo(repository.SQLAlchemyAsyncRepository[Fortune]):
        model_type = Fortune

    repository_type = Repo


class CityService(service.SQLAlchemyAsyncRepositoryService[City]):
    class Repo(repository.SQLAlchemyAsyncRepository[City]):
        model_type = City

    repository_type = Repo


worlds = providers.create_service_dependencies(WorldService, "worlds_service")
fortunes_dep = providers.create_service_dependencies(FortuneService, "fortunes_service")
cities_dep = providers.create_service_dependencies(CityService, "cities_service")


@get("/plaintext", media_type="text/plain")
async def plaintext() -> str:
    return "Hello, World!"


@get("/db", dependencies=worlds)
async def single_query(worlds_service: WorldService) -> WorldRead:
    obj = await worlds_service.get(random_id())
    return worlds_service.to_schema(obj, schema_type=WorldRead)


@get("/queries", dependencies=worlds)
async def queries(worlds_service: WorldService, queries: str | None = None) -> list[WorldRead]:
    rows = [await worlds_service.get(random_id()) for _ in range(query_count(queries))]
    return [worlds_service.to_schema(obj, schema_type=WorldRead) for obj in rows]


@get("/worlds/{world_id:int}", dependencies=worlds)
async def get_world(worlds_service: WorldService, world_id: int) -> WorldRead:
    obj = await worlds_service.get(world_id)  # NotFoundError: the plugin answers 404
    return worlds_service.to_schema(obj, schema_type=WorldRead)


@get("/cities", dependencies=cities_dep)
async def list_cities(cities_service: CityService) -> list[CityRead]:
    rows = await cities_service.get_many(
        City.id >= random_city(),
        filters.OrderBy(field_name="id", sort_order="asc"),
        filters.LimitOffset(limit=RELATED_ROWS, offset=0),
        load=[selectinload(City.country)],
    )
    return [cities_service.to_schema(obj, schema_type=CityRead) for obj in rows]


@post("/worlds", dependencies=worlds)
async def create_world(worlds_service: WorldService, data: WorldCreate) -> WorldRead:
    obj = await worlds_service.create(data)
    return worlds_service.to_schema(obj, schema_type=WorldRead)


@get("/updates", dependencies=worlds)
async def updates(worlds_service: WorldService, queries: str | None = None) -> list[WorldRead]:
    rows = [await worlds_service.get(random_id()) for _ in range(query_count(queries))]
    for obj in rows:
        obj.randomNumber = random_id()
    await worlds_service.update_many(rows)  # one executemany; committed before the answer
    return [worlds_service.to_schema(obj, schema_type=WorldRead) for obj in rows]


@get("/fortunes", dependencies=fortunes_dep)
async def fortunes(fortunes_service: FortuneService) -> Template:
    rows = list(await fortunes_service.get_many())
    rows.append(Fortune(id=0, message=EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return Template(template_name="fortunes.html", context={"fortunes": rows})


app = Litestar(
    route_handlers=[
        plaintext,
        single_query,
        queries,
        get_world,
        list_cities,
        create_world,
        updates,
        fortunes,
    ],
    plugins=[SQLAlchemyPlugin(config=_config())],
    template_config=TemplateConfig(
        directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
    ),
)
