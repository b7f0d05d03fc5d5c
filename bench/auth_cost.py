#!/usr/bin/env python3
"""Instructions per request that plait.auth's token support costs, counted by valgrind.

An app with Sessions, CSRF and Auth answers ``GET /me`` (``CurrentUser``) in-process on an
asyncio loop, ``N`` and then ``2N`` times under ``valgrind --tool=callgrind``; the difference
divided by ``N`` is the cost of one request (start-up and imports cancel out), as in
``bench/callgrind.py``. The cases:

- ``anonymous``: no token support, no credentials (the path every anonymous request takes);
- ``anonymous-old``: the same with ``AuthMiddleware.__call__`` as it was before tokens;
- ``anonymous-tokens``: ``add_tokens()`` on, a request without credentials;
- ``jwt``: a request with ``Authorization: Bearer <jwt>`` (its user loaded from SQLite);
- ``session``: a request with a logged-in session cookie (its user loaded from SQLite).

    python bench/auth_cost.py                 # every case, N=400
    python bench/auth_cost.py --cases jwt,session --count 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from plait import App, Request
from plait.auth import Auth, CurrentUser, User, login
from plait.csrf import CSRF, csrf_exempt
from plait.db import Database
from plait.sessions import MemoryStore, Sessions
from plait.testing import AsyncTestClient

CASES = ("anonymous", "anonymous-old", "anonymous-tokens", "jwt", "session")
SECRET = "auth-cost-" + "k" * 40


def _old_call(self: Any, scope: Any, receive: Any, send: Any) -> Any:
    """``AuthMiddleware.__call__`` before token support (commit e25d95f)."""
    from plait.auth._auth import SESSION_KEY
    from plait.sessions import SessionData

    async def call() -> None:
        session = scope.get("session")
        if isinstance(session, SessionData) and SESSION_KEY in session.to_dict():
            user = await self.auth.load_user(session)
            if user is not None:
                scope["user"] = user
        await self.app(scope, receive, send)

    return call()


async def _serve(case: str, count: int, directory: Path) -> None:
    if case == "anonymous-old":
        from plait.auth._auth import AuthMiddleware

        AuthMiddleware.__call__ = _old_call  # type: ignore[method-assign]
    app = App()
    Sessions(app, store=MemoryStore(), secret_key=SECRET)
    CSRF(app)
    db = Database(app, f"sqlite+aiosqlite:///{directory / 'db.sqlite3'}", auto_migrate=True)
    auth = Auth(app, db, secret_key=SECRET)
    tokens = auth.add_tokens() if case in ("anonymous-tokens", "jwt") else None

    @app.get("/me")
    async def me(user: CurrentUser) -> str:
        return user.username if user else "-"

    @app.post("/login")
    async def do_login(request: Request) -> str:
        async with db.transaction() as session:
            user = User(username="ada")
            session.add(user)
            await session.flush()
            await login(request, user)
            return tokens.access_token(user) if tokens is not None else ""

    csrf_exempt(do_login)
    headers: dict[str, str] = {}
    async with AsyncTestClient(app) as client:
        if case in ("jwt", "session"):
            token = (await client.post("/login")).text
            if case == "jwt":
                headers = {"Authorization": f"Bearer {token}"}
                client.cookies.clear()
        expected = "ada" if case in ("jwt", "session") else "-"
        for _ in range(50 + count):
            response = await client.get("/me", headers=headers)
            if response.text != expected:
                raise SystemExit(f"{case}: {response.status_code} {response.text}")


def child(case: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_serve(case, count, Path(tmp)))


def _instructions(case: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out"]
        cmd += [sys.executable, __file__, "--child", case, str(count)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if match is None:
        raise SystemExit(proc.stderr)
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    for case in args.cases.split(","):
        low = _instructions(case, args.count)
        high = _instructions(case, 2 * args.count)
        print(f"{case:18} {(high - low) / args.count:>10,.0f} instructions/request", flush=True)


if __name__ == "__main__":
    main()
