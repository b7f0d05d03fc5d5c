"""Saving a row untouched leaves it as it was, byte for byte, whatever its column types.

The browser finding: an unbounded ``String`` drawn as ``<input>`` lost its line breaks on a
save that changed nothing. Here every column type is saved through the change form exactly
as a browser submits it (browserform.submitted applies the browser's value sanitization).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from typing import Any
from urllib.parse import urlencode

from admin_harness import FakeAuthAndCSRF, Who, serve
from browserform import submitted
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    LargeBinary,
    Numeric,
    String,
    Text,
    Time,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.admin import Admin
from plait.db import Database, EmailType, Model, Session, URLType
from plait.testing import TestClient


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


class Everything(Model):
    __tablename__ = "admin_roundtrip_everything"  # unique in the suite's shared metadata

    id: Mapped[int] = mapped_column(primary_key=True)
    short: Mapped[str] = mapped_column(String(50))
    unbounded: Mapped[str]
    text: Mapped[str] = mapped_column(Text)
    blank: Mapped[str | None] = mapped_column(Text)
    count: Mapped[int]
    big: Mapped[int] = mapped_column(BigInteger)
    ratio: Mapped[float]
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    flag: Mapped[bool]
    maybe: Mapped[bool | None]
    day: Mapped[datetime.date] = mapped_column(Date)
    moment: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    naive: Mapped[datetime.datetime] = mapped_column(DateTime)
    clock: Mapped[datetime.time] = mapped_column(Time)
    shade: Mapped[Shade]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    uid: Mapped[uuid.UUID] = mapped_column(Uuid)
    email: Mapped[str] = mapped_column(EmailType)
    site: Mapped[str | None] = mapped_column(URLType)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)


ROW: dict[str, Any] = {
    "short": "  padded, <b>&amp;</b>  ",
    "unbounded": "The first post.\r\nIt has two lines",
    "text": "\nstarts with a line break\nand\r\nmixes them\n",
    "blank": None,
    "count": -42,
    "big": 2**40 + 3,
    "ratio": 0.1,
    "price": decimal.Decimal("12.30"),
    "flag": True,
    "maybe": None,
    "day": datetime.date(2024, 2, 29),
    "moment": datetime.datetime(2024, 5, 1, 10, 30, 0, 123456, tzinfo=datetime.UTC),
    "naive": datetime.datetime(2024, 5, 1, 10, 30),
    "clock": datetime.time(8, 15, 30, 250000),
    "shade": Shade.DARK,
    "data": {"b": [1, 2.5, None], "a": "x\ny"},
    "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "email": "ada@example.com",
    "site": "https://example.com/a?b=c&d=e",
    "blob": b"\x00\xff\r\n",
}


def post(client: TestClient, url: str, form: list[tuple[str, str]]) -> int:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return client.post(url, content=urlencode(form), headers=headers).status_code


def test_saving_every_column_type_untouched_changes_nothing(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)
    admin = Admin(app, db, csrf_required=False)
    admin.register(Everything)
    app.add_middleware(FakeAuthAndCSRF, who=Who)

    @app.post("/_test/row")
    async def add(session: Session) -> dict[str, int]:
        row = Everything(**ROW)
        session.add(row)
        await session.flush()
        return {"id": row.id}

    @app.get("/_test/row/{key}")
    async def stored(key: int, session: Session) -> dict[str, str]:
        found = (
            await session.execute(
                select(Everything.__table__).where(Everything.__table__.c.id == key)
            )
        ).one()
        return {"row": repr(tuple(found))}

    with serve(app, db) as client:
        key = client.post("/_test/row").json()["id"]
        before = client.get(f"/_test/row/{key}").json()["row"]
        page = client.get(f"/admin/everything/{key}/change/")
        assert page.status_code == 200
        form = submitted(page.text, "everything_form")
        assert ("unbounded", "The first post.\r\nIt has two lines") in form  # a textarea
        form.append(("_continue", ""))
        assert post(client, f"/admin/everything/{key}/change/", form) == 303
        assert client.get(f"/_test/row/{key}").json()["row"] == before
        # Twice: what the form shows after a save still round-trips.
        again = submitted(client.get(f"/admin/everything/{key}/change/").text, "everything_form")
        assert post(client, f"/admin/everything/{key}/change/", again) == 303
        assert client.get(f"/_test/row/{key}").json()["row"] == before
        # A real edit is still saved: only the field typed in changes.
        edited = [(n, "Now\r\nthree\r\nlines" if n == "unbounded" else v) for n, v in again]
        assert post(client, f"/admin/everything/{key}/change/", edited) == 303
        after = client.get(f"/_test/row/{key}").json()["row"]
        assert "Now\\r\\nthree\\r\\nlines" in after or "Now\\nthree\\nlines" in after
        assert after.replace(repr("Now\r\nthree\r\nlines"), repr(ROW["unbounded"])) == before
