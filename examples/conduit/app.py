"""Conduit: the RealWorld backend (https://realworld-docs.netlify.app), in idiomatic plait.

    plait run examples/conduit/app.py:app

Every endpoint of the spec is under /api, documented at /api/docs. The first run creates
``conduit.sqlite3`` in the current directory and applies the migrations in
``examples/conduit/migrations``; ``PLAIT_DATABASE_URL=postgresql://…`` uses PostgreSQL
instead. Set ``PLAIT_SECRET_KEY`` to keep tokens valid across restarts (a random key is made
for each run without it). Any RealWorld front end works against it: CORS is open.

    curl -X POST localhost:8000/api/users -H 'content-type: application/json' \\
         -d '{"user": {"username": "ada", "email": "ada@example.com", "password": "…"}}'
    curl localhost:8000/api/user -H 'Authorization: Token <the token it gave>'

- models.py: the tables (plait.auth's users, plus profiles, follows, articles, tags,
  favourites, comments); schemas.py: the RealWorld JSON shapes; queries.py: loading a page
  of articles in three queries whatever its size; users.py and articles.py: the endpoints.
- Errors are RealWorld's ``{"errors": {"<field>": ["<problem>"]}}``: one exception handler
  (below) shapes every HTTP error plait answers, validation's 422 included.
"""

import datetime
import secrets
from pathlib import Path

import articles
import users
from schemas import Errors

from plait import App, HTTPException, RedirectResponse, Request, Router, Settings
from plait.auth import Auth
from plait.db import Database
from plait.middleware import CORSMiddleware
from plait.sessions import Sessions

HERE = Path(__file__).resolve().parent


class ConduitSettings(Settings):
    DATABASE_URL: str = "sqlite+aiosqlite:///./conduit.sqlite3"
    secret_key_required = False  # without PLAIT_SECRET_KEY: a random key for this run


settings = ConduitSettings.load()
secret_key = settings.SECRET_KEY or secrets.token_urlsafe(32)

app = App(
    title="Conduit",
    version="1.0.0",
    description="The RealWorld API spec, in plait.",
    openapi_url="/api/openapi.json",
    docs_url="/api/docs",
    redoc_url="/api/redoc",
)
db = Database(app, settings=settings, migrations=HERE / "migrations", auto_migrate=True)
Sessions(app, secret_key=secret_key)  # plait.auth needs it, though Conduit logs in by token only
# Authorization: Token <jwt>. RealWorld has no refresh token: clients keep one for days.
auth = Auth(app, db, secret_key=secret_key)
app.state.tokens = auth.add_tokens(scheme="Token", lifetime=datetime.timedelta(days=7))
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_headers=["*"], allow_methods=["*"])

api = Router(prefix="/api")
api.include_router(users.router)
api.include_router(articles.router)
app.include_router(api)


# Messages for plait's validation error types, in RealWorld's (Rails') words.
MESSAGES = {"missing": "can't be empty", "unique": "has already been taken"}


def problem_text(error: dict) -> str:
    message = str(error.get("msg", "is invalid"))
    if error.get("type") in MESSAGES:
        return MESSAGES[error["type"]]
    if "length >= 1" in message:
        return "can't be empty"
    if (at_least := message.partition("length >= ")[2].partition(" ")[0]).isdigit():
        return f"is too short (minimum is {at_least} characters)"
    if (at_most := message.partition("length <= ")[2].partition(" ")[0]).isdigit():
        return f"is too long (maximum is {at_most} characters)"
    return "is invalid" if "matching regex" in message else message


def field_of(error: dict) -> str:
    """The field a validation error is about: the last name in its location."""
    names = [part for part in error.get("loc", []) if isinstance(part, str)]
    return names[-1] if len(names) > 1 else "body"


@app.exception_handler(HTTPException)
async def realworld_errors(request: Request, exc: HTTPException) -> Errors:
    """Every HTTP error as RealWorld's ``{"errors": {"<field>": ["<problem>"]}}``."""
    listed = (exc.extra or {}).get("errors")
    if isinstance(listed, list) and listed:
        errors: dict[str, list[str]] = {}
        for error in listed:
            errors.setdefault(field_of(error), []).append(problem_text(error))
        return Errors(errors)
    return Errors({"body": [str(exc.detail or exc.title)]})


@app.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/api/docs")
