"""Date-times are timezone-aware UTC end to end, whatever the database server's time zone."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import msgspec
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Mapped, mapped_column

from _services import new_postgres_database, postgres_execute
from plait import App
from plait.db import Database, Model, Session, get_or_404
from plait.testing import TestClient

UTC = datetime.UTC


class Stamp(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime.datetime]
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=func.now())
    plain: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime())  # naive, explicitly


class StampOut(msgspec.Struct):
    """A user-written output Struct: no help from the derived schemas."""

    at: datetime.datetime
    created_at: datetime.datetime


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def far_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """An empty database; on PostgreSQL, one whose time zone is UTC+05:30, not UTC."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/tz.sqlite3"
        return
    with new_postgres_database("plait_tz") as url:
        name = url.rpartition("/")[2]
        postgres_execute(url, f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Kolkata'")
        yield url


@pytest.fixture
def client(far_url: str) -> Iterator[TestClient]:
    app = App()
    Database(app, far_url, auto_migrate=True, migrations="/nonexistent")

    @app.post("/stamps", status_code=201)
    async def create(data: Stamp.Create, session: Session) -> Stamp.Read:
        stamp = Stamp(data)
        session.add(stamp)
        await session.flush()
        await session.refresh(stamp)
        return stamp

    @app.get("/stamps/{stamp_id}")
    async def read(stamp_id: int, session: Session) -> StampOut:
        return await get_or_404(session, Stamp, stamp_id)

    @app.get("/server-now")
    async def server_now(session: Session) -> dict[str, str]:
        now = await session.scalar(select(func.now()))
        text = await session.scalar(sa.text("SELECT CAST(CURRENT_TIMESTAMP AS TEXT)"))
        return {"now": str(now), "text": str(text)}

    with TestClient(app) as test_client:
        yield test_client


def parse(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_datetimes_are_aware_utc_whatever_the_server_zone(client: TestClient) -> None:
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    created = client.post(
        "/stamps", json={"at": "2026-12-06T22:45:00+02:00", "plain": "2026-12-06T22:45:00Z"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["at"] == "2026-12-06T20:45:00Z"
    assert body["plain"] == "2026-12-06T22:45:00Z"
    # The database's now(), stored and read back: the real instant, marked UTC.
    assert body["created_at"].endswith("Z")
    assert abs(parse(body["created_at"]) - before) < datetime.timedelta(minutes=2)

    # A hand-written Struct gets aware values from the ORM: the Z is kept.
    read = client.get(f"/stamps/{body['id']}").json()
    assert read == {"at": "2026-12-06T20:45:00Z", "created_at": body["created_at"]}


def test_the_session_time_zone_is_utc(client: TestClient, far_url: str) -> None:
    said = client.get("/server-now").json()
    if far_url.startswith("postgresql"):
        assert said["now"].endswith("+00:00")
        assert said["text"].endswith("+00")
