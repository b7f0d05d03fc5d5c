"""``plait createsuperuser``: the first administrator (a ``plait.commands`` entry point)."""

from __future__ import annotations

import os
from typing import Any

import click

from plait._clioptions import app_option
from plait.db._cli import app_database

__all__ = ["PASSWORD_ENVVAR", "createsuperuser"]

PASSWORD_ENVVAR = "PLAIT_SUPERUSER_PASSWORD"


def _problems(target: Any, password: str, username: str, email: str) -> list[str]:
    """The app's password validators' complaints (Django's four by default)."""
    from plait.auth._models import User
    from plait.auth._validators import password_problems

    auth = getattr(getattr(target.app, "state", None), "auth", None)
    validators = getattr(auth, "password_validators", None)
    return password_problems(password, User(username=username, email=email), validators)


def _ask_password(target: Any, username: str, email: str) -> str:
    """Ask until the password passes, or the user bypasses the validation (as Django asks)."""
    while True:
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problems = _problems(target, password, username, email)
        if not problems:
            return password
        click.echo("\n".join(problems), err=True)
        if click.confirm("Bypass password validation and create user anyway?", default=False):
            return password


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
    takes them from --username, --email and $PLAIT_SUPERUSER_PASSWORD. The password must
    pass the app's password validators (Django's four by default); asked interactively, a
    refused one can be kept anyway, as with Django.
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
        email = email or ""
        problems = _problems(target, password, username, email)
        if problems:
            raise click.ClickException(" ".join(problems))
    else:
        username = username or click.prompt("Username")
        if email is None:
            email = click.prompt("Email address", default="", show_default=False)
        password = _ask_password(target, username, email)
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
