"""FastAPI + SQLModel: the data path, the way FastAPI's "SQL (Relational) Databases" tutorial
teaches it.

SQLModel table models and public models, a ``Session`` per request from a dependency, plain
``def`` endpoints (FastAPI runs them in its thread pool: the tutorial's engine is
synchronous, so on PostgreSQL the driver is psycopg), Jinja2Templates for the fortunes page.
The cities load their country with ``selectinload`` (SQLAlchemy's eager loading: the
tutorial's lazy loading would cost a query per city).
"""

import os
from collections.abc import Iterator
from contextlib import asynccontextmanager
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Any

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
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Column, Integer
from sqlalchemy.orm import selectinload
from sqlmodel import Field, Relationship, Session, SQLModel, create_engine, select


def _engine() -> Any:
    # Room for a connection per thread of FastAPI's pool (40): with the other apps' 4 (and
    # SQLAlchemy's 10 overflow), 64 clients stall it within a second, every thread waiting
    # for a connection until the pool's 30 s timeout.
    pool = {"pool_size": POOL_SIZE, "max_overflow": 40 - POOL_SIZE}
    if os.environ.get("BENCH_DB", "sqlite") == "postgres":
        dsn = os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN)
        return create_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1), **pool)
    path = os.environ.get("BENCH_SQLITE", DEFAULT_SQLITE)
    connect_args = {"check_same_thread": False}
    return create_engine(f"sqlite:///{path}", connect_args=connect_args, **pool)


class WorldBase(SQLModel):
    randomNumber: int = Field(sa_column=Column("randomnumber", Integer, nullable=False))


class World(WorldBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class WorldPublic(WorldBase):
    id: int


class WorldCreate(WorldBase):
    pass


class Fortune(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message: str


class CountryPublic(SQLModel):
    id: int
    name: str


class Country(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


class City(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    country_id: int = Field(foreign_key="country.id")
    country: Country = Relationship()


class CityPublicWithCountry(SQLModel):
    id: int
    name: str
    country_id: int
    country: CountryPublic


engine = _engine()


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> Any:
    yield
    engine.dispose()


app = FastAPI(lifespan=lifespan)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/db", response_model=WorldPublic)
def single_query(session: SessionDep) -> Any:
    return session.get(World, random_id())


@app.get("/queries", response_model=list[WorldPublic])
def queries(session: SessionDep, queries: str | None = None) -> Any:
    return [session.get(World, random_id()) for _ in range(query_count(queries))]


@app.get("/worlds/{world_id}", response_model=WorldPublic)
def read_world(world_id: int, session: SessionDep) -> Any:
    world = session.get(World, world_id)
    if not world:
        raise HTTPException(status_code=404, detail="World not found")
    return world


@app.get("/cities", response_model=list[CityPublicWithCountry])
def read_cities(session: SessionDep) -> Any:
    query = select(City).where(City.id >= random_city()).order_by(City.id).limit(RELATED_ROWS)
    return session.exec(query.options(selectinload(City.country))).all()


@app.post("/worlds", response_model=WorldPublic, status_code=201)
def create_world(world: WorldCreate, session: SessionDep) -> Any:
    db_world = World.model_validate(world)
    session.add(db_world)
    session.commit()
    session.refresh(db_world)
    return db_world


@app.get("/updates", response_model=list[WorldPublic])
def updates(session: SessionDep, queries: str | None = None) -> Any:
    worlds = [session.get(World, random_id()) for _ in range(query_count(queries))]
    for world in worlds:
        world.randomNumber = random_id()
        session.add(world)
    # Read before the commit expires them (reading them after would cost a query each).
    answer = [WorldPublic.model_validate(world) for world in worlds]
    session.commit()
    return answer


@app.get("/fortunes", response_class=HTMLResponse)
def fortunes(request: Request, session: SessionDep) -> Any:
    rows = list(session.exec(select(Fortune)).all())
    rows.append(Fortune(id=0, message=EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})
