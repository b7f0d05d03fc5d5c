"""Error pages in a layout that reads the signed-in user, after the request's DB session
rolled back: the user stays readable, so a 404 stays a 404 (it was a 500)."""

from __future__ import annotations

from pathlib import Path

from auth_services import make_app, new_user, seed
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plait import HTTPException
from plait.auth import LoginRequired
from plait.db import Model, Session, get_or_404
from plait.templates import Templates
from plait.testing import TestClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
LAYOUT = (
    "<header>{% if current_user %}Signed in as {{ current_user.username }} "
    "({{ current_user.email }}){% else %}Anonymous{% endif %}</header>"
    "{% block content %}{% endblock %}"
)


class LayoutNote(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(20), unique=True)


def test_every_error_page_reads_the_user_after_a_rollback(db_url: str, tmp_path: Path) -> None:
    seed(db_url, new_user("ada"))
    (tmp_path / "base.html").write_text(LAYOUT)
    for status in (403, 404, 409, 500):
        page = '{% extends "base.html" %}{% block content %}Error ' + str(status) + "{% endblock %}"
        (tmp_path / f"{status}.html").write_text(page)
    app, _ = make_app(db_url, tmp_path)
    Templates(app, tmp_path)

    @app.get("/notes/{note_id:int}")
    async def note(note_id: int, user: LoginRequired, session: Session) -> str:
        found = await get_or_404(session, LayoutNote, note_id)  # the user joined this session
        return found.title

    @app.get("/private")
    async def private(user: LoginRequired, session: Session) -> str:
        user.email = "changed@example.com"  # changed, then rolled back with the error
        raise HTTPException(403)

    @app.get("/boom")
    async def boom(user: LoginRequired, session: Session) -> str:
        session.add(LayoutNote(title="kept?"))
        await session.flush()
        raise RuntimeError("bug")

    @app.post("/notes")
    async def add_note(user: LoginRequired, session: Session) -> str:
        session.add(LayoutNote(title="twice"))
        return "ok"  # the second one fails at COMMIT, after the handler returned

    with TestClient(app) as client:
        assert client.post("/login", json={"username": "ada", "password": "correct horse"})
        signed_in = "Signed in as ada (ada@example.com)"
        for path, status in [("/notes/9", 404), ("/private", 403), ("/boom", 500)]:
            response = client.get(path, headers=BROWSER)
            assert response.status_code == status, (path, response.text)
            assert response.text == f"<header>{signed_in}</header>Error {status}"
        assert client.post("/notes", headers=BROWSER).status_code == 200
        conflict = client.post("/notes", headers=BROWSER)
        assert conflict.status_code == 409  # plait.db's unique violation, at COMMIT
        assert conflict.text == f"<header>{signed_in}</header>Error 409"
        missing = client.get("/nowhere", headers=BROWSER)  # no handler, no session
        assert missing.text == f"<header>{signed_in}</header>Error 404"
