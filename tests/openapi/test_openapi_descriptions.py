"""Schema descriptions are plain text or Markdown: docstrings' reST markup never leaks."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import KeysetPage, Model, Page, crud_router
from plait.openapi import openapi_schema

REST = re.compile(r":(?:func|class|meth|data|attr|mod|exc|obj):`|``")


class Invoice(msgspec.Struct):
    """An invoice; see :func:`paginate` and :class:`~plait.db.Page`.

    ``total`` is in cents, as :attr:`Invoice.total` says; :meth:`pay` pays it.
    """

    total: int


class Memo(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


def descriptions(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            found.append(node["description"])
        for value in node.values():
            found.extend(descriptions(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(descriptions(value))
    return found


def test_rest_roles_become_markdown_code() -> None:
    app = App()

    @app.get("/invoice")
    def invoice() -> Invoice:
        return Invoice(total=1)

    schema = openapi_schema(app)["components"]["schemas"]["Invoice"]
    assert schema["description"] == (
        "An invoice; see `paginate` and `Page`.\n\n"
        "`total` is in cents, as `Invoice.total` says; `pay` pays it."
    )


def test_the_page_schemas_of_plait_db_read_as_markdown() -> None:
    app = App()
    app.include_router(crud_router(Memo))

    @app.get("/keyset")
    def keyset() -> KeysetPage[Memo.Read]:
        raise NotImplementedError

    @app.get("/paged")
    def paged() -> Page[Memo.Read]:
        raise NotImplementedError

    document = openapi_schema(app)
    texts = descriptions(document["components"]["schemas"])
    assert any("paginate" in text for text in texts)
    assert [text for text in texts if REST.search(text)] == []
