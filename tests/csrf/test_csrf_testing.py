"""The test clients' ``post_form``: a form post with the CSRF token, as a browser sends it."""

from __future__ import annotations

import asyncio
from typing import Annotated

from plait import App, Form, HTMLResponse, Request
from plait.csrf import CSRF, csrf_token
from plait.testing import AsyncTestClient, TestClient


def _app() -> App:
    app = App()
    CSRF(app)

    @app.get("/comment")
    def page(request: Request) -> HTMLResponse:
        token = csrf_token(request)
        return HTMLResponse(f'<form method="post"><input name="csrf_token" value="{token}">')

    @app.post("/comment")
    def comment(text: Annotated[str, Form()]) -> dict[str, str]:
        return {"text": text}

    @app.post("/other")
    def other(text: Annotated[str, Form()]) -> dict[str, str]:
        return {"other": text}

    return app


def test_post_form_fills_in_the_token() -> None:
    with TestClient(_app()) as client:
        assert client.post("/comment", data={"text": "hi"}).status_code == 403
        done = client.post_form("/comment", {"text": "hi"})  # GETs the page first
        assert (done.status_code, done.json()) == (200, {"text": "hi"})
        # The cookie is there now: no GET needed, for any form of the site.
        assert client.post_form("/other", {"text": "again"}).json() == {"other": "again"}


def test_post_form_gets_the_page_that_draws_the_form() -> None:
    with TestClient(_app()) as client:
        done = client.post_form("/other", {"text": "hi"}, page="/comment")
        assert done.json() == {"other": "hi"}


def test_post_form_without_a_token_is_still_refused() -> None:
    # A page that draws no token sets no cookie: the post is sent without one, and the
    # CSRF check refuses it as it would a browser's.
    with TestClient(_app()) as client:
        refused = client.post_form("/other", {"text": "hi"})
        assert refused.status_code == 403


def test_async_post_form() -> None:
    async def main() -> None:
        async with AsyncTestClient(_app()) as client:
            done = await client.post_form("/comment", {"text": "hi"})
            assert done.json() == {"text": "hi"}

    asyncio.run(main())
