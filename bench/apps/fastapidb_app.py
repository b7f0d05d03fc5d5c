"""FastAPI + SQLAlchemy 2 (async): plaitdb's endpoints, the way FastAPI's SQL docs teach.

An ``AsyncSession`` per request from a dependency, ORM models, Pydantic response models
(``from_attributes``), Jinja2Templates for the fortunes page.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from operator import attrgetter
from pathlib import Path
from typing import Annotated

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
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


def _url() -> str:
    if os.environ.get("BENCH_DB", "sqlite") == "postgres":
        dsn = os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN)
        return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"sqlite+aiosqlite:///{os.environ.get('BENCH_SQLITE', DEFAULT_SQLITE)}"


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    randomNumber: Mapped[int] = mapped_column("randomnumber")  # TechEmpower's JSON name


class Fortune(Base):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


class Country(Base):
    __tablename__ = "country"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class City(Base):
    __tablename__ = "city"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    country_id: Mapped[int] = mapped_column(ForeignKey("country.id"))
    country: Mapped[Country] = relationship()


class CountryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str


class CityRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    country_id: int
    country: CountryRead


class WorldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    randomNumber: int


class WorldCreate(BaseModel):
    randomNumber: int


# The same pool as every app's: 4 connections, no overflow.
engine = create_async_engine(_url(), pool_size=POOL_SIZE, max_overflow=0)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/db", response_model=WorldRead)
async def single_query(session: SessionDep) -> World | None:
    return await session.get(World, random_id())


@app.get("/queries", response_model=list[WorldRead])
async def queries(session: SessionDep, queries: str | None = None) -> list[World | None]:
    return [await session.get(World, random_id()) for _ in range(query_count(queries))]


@app.get("/worlds/{world_id}", response_model=WorldRead)
async def read_world(world_id: int, session: SessionDep) -> World:
    world = await session.get(World, world_id)
    if world is None:
        raise HTTPException(status_code=404, detail="World not found")
    return world


@app.get("/cities", response_model=list[CityRead])
async def read_cities(session: SessionDep) -> list[City]:
    query = select(City).where(City.id >= random_city()).order_by(City.id).limit(RELATED_ROWS)
    return list(await session.scalars(query.options(selectinload(City.country))))


@app.post("/worlds", response_model=WorldRead, status_code=201)
async def create_world(data: WorldCreate, session: SessionDep) -> World:
    world = World(randomNumber=data.randomNumber)
    session.add(world)
    await session.commit()
    await session.refresh(world)
    return world


@app.get("/updates", response_model=list[WorldRead])
async def updates(session: SessionDep, queries: str | None = None) -> list[World]:
    worlds = [await session.get(World, random_id()) for _ in range(query_count(queries))]
    for world in worlds:
        assert world is not None
        world.randomNumber = random_id()
    await session.commit()
    return worlds  # type: ignore[return-value]


@app.get("/fortunes", response_class=HTMLResponse)
async def fortunes(request: Request, session: SessionDep) -> HTMLResponse:
    rows = list(await session.scalars(select(Fortune)))
    rows.append(Fortune(id=0, message=EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})
