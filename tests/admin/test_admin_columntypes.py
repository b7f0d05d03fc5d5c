"""The admin draws EmailType/URLType columns as email/url inputs, with Django's messages."""

from __future__ import annotations

from admin_harness import CSRF_TOKEN, FakeAuthAndCSRF, Who, serve
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.admin import Admin
from plait.db import Database, EmailType, Model, URLType


class Subscriber(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(EmailType)
    website: Mapped[str | None] = mapped_column(URLType)


def test_email_and_url_columns_in_the_admin(db_url: str) -> None:
    app = App()
    db = Database(app, db_url)
    admin = Admin(app, db, csrf_required=False)
    admin.register(Subscriber)
    app.add_middleware(FakeAuthAndCSRF, who=Who)
    with serve(app, db) as client:
        page = client.get("/admin/subscriber/add/").text
        assert '<input type="email" name="email" id="id_email"' in page
        assert '<input type="url" name="website" id="id_website"' in page
        form = {"csrf_token": CSRF_TOKEN, "name": "Ada", "email": "ada", "website": "nope"}
        refused = client.post("/admin/subscriber/add/", data=form)
        assert refused.status_code == 200
        assert "Enter a valid email address." in refused.text
        assert "Enter a valid URL." in refused.text
        form.update(email=" ada@example.com ", website="https://ada.dev/")
        added = client.post("/admin/subscriber/add/", data=form)
        assert added.status_code == 303, added.text
