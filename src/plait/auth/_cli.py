"""``plait createsuperuser``: the first administrator (a ``plait.commands`` entry point)."""

from __future__ import annotations

import os
from typing import Any

import click

from plait._clioptions import app_option
from plait.db._cli import app_database

__all__ = ["MIN_PASSWORD_LENGTH", "PASSWORD_ENVVAR", "createsuperuser"]

PASSWORD_ENVVAR = "PLAIT_SUPERUSER_PASSWORD"
MIN_PASSWORD_LENGTH = 8
"""Django's ``MinimumLengthValidator`` default."""


def _check_password(password: str, username: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters."
    if password.casefold() == username.casefold():
        return "The password is the same as the username."
    return None


def _ask_password(username: str) -> str:
    while True:
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problem = _check_password(password, username)
        if problem is None:
            return password
        click.echo(problem, err=True)


@click.command("createsuperuser")
@app_option
@click.option("--database", default="default", show_default=True, help="Which database.")
@click.option("--username", help="The superuser's username.")
@click.option("--email", help="The superuser's email address.")
@click.option(
    "--no-input",
    "no_input",
    is_flag=True,
    help=f"Ask nothing: --username is required and the password comes from ${PASSWORD_ENVVAR}.",
)
def createsuperuser(
    app_spec: str,
    app_dir: str,
    database: str,
    username: str | None,
    email: str | None,
    no_input: bool,
) -> None:
    """Create a user with every permission (is_staff and is_superuser) in the app's database.

    Asks for the username, email and password (twice), or, with --no-input (for scripts),
    takes them from --username, --email and $PLAIT_SUPERUSER_PASSWORD.
    """
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError

    from plait.auth._models import User
    from plait.auth._passwords import hash_password

    target = app_database(app_spec, app_dir, database)
    if no_input:
        password = os.environ.get(PASSWORD_ENVVAR, "")
        if not username:
            raise click.UsageError("--no-input needs --username")
        if not password:
            raise click.UsageError(f"--no-input needs the password in ${PASSWORD_ENVVAR}")
        problem = _check_password(password, username)
        if problem is not None:
            raise click.ClickException(problem)
        email = email or ""
    else:
        username = username or click.prompt("Username")
        if email is None:
            email = click.prompt("Email address", default="", show_default=False)
        password = _ask_password(username)
    assert username is not None

    async def create(session: Any) -> bool:
        taken = await session.scalar(sa.select(User.id).where(User.username == username))
        if taken is not None:
            return False
        session.add(
            User(
                username=username,
                email=email,
                password=hash_password(password),
                is_staff=True,
                is_superuser=True,
            )
        )
        return True

    try:
        created = target.run(create)
    except DBAPIError as exc:
        raise click.ClickException(
            f"Database error: {exc.orig} (are the tables created? run `plait db migrate`)"
        ) from None
    if not created:
        raise click.ClickException(f"The username {username!r} is already taken.")
    click.echo(f"Superuser {username!r} created.")
