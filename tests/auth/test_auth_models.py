"""Passwords, the models' schemas, and permissions (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import argon2
import msgspec
import pytest
from auth_services import new_user, seed

from plait.auth import (
    Group,
    Permission,
    User,
    has_perm,
    hash_password,
    needs_rehash,
    verify_password,
)
from plait.db import Database


def test_hashing() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert hash_password("correct horse") != hashed  # salted
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "correct horsE")
    assert not verify_password("", "correct horse")
    assert not verify_password("not a hash", "correct horse")
    assert not needs_rehash(hashed)
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    assert needs_rehash(weak.hash("correct horse"))
    assert verify_password(weak.hash("correct horse"), "correct horse")
    assert needs_rehash("")


def test_user_passwords() -> None:
    user = User(username="ada")
    user.set_password("correct horse")
    assert user.password.startswith("$argon2id$")
    assert user.check_password("correct horse")
    assert not user.check_password("wrong")
    assert (str(user), repr(user)) == ("ada", "<User 'ada'>")  # the admin shows str()


def test_the_password_is_in_no_schema() -> None:
    for schema in (User.Read, User.Create, User.Update):
        assert "password" not in schema.__struct_fields__
    assert {"id", "username", "email", "is_active", "is_staff", "is_superuser"} <= set(
        User.Read.__struct_fields__
    )
    # Privileges are not for the API's clients to set.
    for field in ("is_staff", "is_superuser", "last_login", "date_joined", "id"):
        assert field not in User.Create.__struct_fields__
        assert field not in User.Update.__struct_fields__
    with pytest.raises(msgspec.ValidationError, match="unknown field `password`"):
        msgspec.convert({"username": "ada", "password": "x"}, User.Create)


def test_table_names() -> None:
    assert User.__tablename__ == "auth_user"
    assert Group.__tablename__ == "auth_group"
    assert Permission.__tablename__ == "auth_permission"
    assert User.__table__.c.username.type.length == 150  # type: ignore[attr-defined]
    assert User.__table__.c.username.unique


def check_perms(db_url: str, checks: dict[str, str]) -> dict[str, bool]:
    """``{username: perm}`` -> ``{username: has_perm(...)}`` against the database."""
    import sqlalchemy as sa

    async def main() -> dict[str, bool]:
        db = Database(url=db_url)
        try:
            async with db.session() as session:
                results = {}
                for username, perm in checks.items():
                    user = await session.scalar(sa.select(User).where(User.username == username))
                    results[username] = await has_perm(session, user, perm)
                return results
        finally:
            await db.disconnect()

    return asyncio.run(main())


@pytest.fixture
def permissions_db(db_url: str) -> str:
    publish = Permission(app_label="blog", codename="publish", name="Can publish")
    delete = Permission(app_label="blog", codename="delete", name="Can delete")
    editors = Group(name="editors", permissions=[publish])
    seed(
        db_url,
        new_user("editor", groups=[editors]),
        new_user("deleter", user_permissions=[delete]),
        new_user("nobody"),
        new_user("root", is_superuser=True),
        new_user("retired", is_superuser=True, is_active=False, groups=[editors]),
    )
    return db_url


def test_has_perm_through_a_group(permissions_db: str) -> None:
    assert check_perms(permissions_db, {"editor": "blog.publish"}) == {"editor": True}
    assert check_perms(permissions_db, {"editor": "blog.delete"}) == {"editor": False}
    assert check_perms(permissions_db, {"editor": "shop.publish"}) == {"editor": False}


def test_has_perm_directly(permissions_db: str) -> None:
    assert check_perms(permissions_db, {"deleter": "blog.delete", "nobody": "blog.delete"}) == {
        "deleter": True,
        "nobody": False,
    }
    assert check_perms(permissions_db, {"deleter": "blog.publish"}) == {"deleter": False}


def test_superusers_have_every_permission_inactive_users_none(permissions_db: str) -> None:
    assert check_perms(permissions_db, {"root": "anything.at_all", "retired": "blog.publish"}) == {
        "root": True,
        "retired": False,
    }


def test_anonymous_has_no_permission() -> None:
    async def main() -> bool:
        return await has_perm(None, None, "blog.publish")  # type: ignore[arg-type]

    assert asyncio.run(main()) is False


def test_public_surface() -> None:
    import plait.auth

    assert set(plait.auth.__all__) == {
        "HASH_SESSION_KEY",
        "SESSION_KEY",
        "APIKey",
        "Auth",
        "AuthMiddleware",
        "CommonPasswordValidator",
        "Credentials",
        "CurrentUser",
        "Group",
        "JWTKey",
        "LoginRequired",
        "MinimumLengthValidator",
        "NumericPasswordValidator",
        "PasswordInvalid",
        "PasswordValidator",
        "Permission",
        "RefreshToken",
        "ResetTokenInvalid",
        "StaffRequired",
        "Token",
        "TokenPair",
        "Tokens",
        "User",
        "UserAttributeSimilarityValidator",
        "authenticate",
        "change_password",
        "credentials_of",
        "has_perm",
        "hash_password",
        "login",
        "login_required",
        "logout",
        "needs_rehash",
        "password_problems",
        "require_perm",
        "require_scopes",
        "safe_next",
        "validate_password",
        "verify_password",
    }
    modules = ("_auth", "_cli", "_credentials", "_dependencies", "_jwt", "_login", "_models")
    modules += ("_permissions", "_reset", "_validators", "_throttle", "_endpoint")
    modules += ("_passwordpages", "_pages")
    for module in (*modules, "_passwords", "_stored", "_tokenmodels", "_tokens"):
        imported = __import__(f"plait.auth.{module}", fromlist=["__all__"])
        assert all(hasattr(imported, name) for name in imported.__all__), module
