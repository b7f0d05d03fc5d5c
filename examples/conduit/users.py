"""Accounts and profiles: register, log in, the current user, profiles and follows."""

import asyncio
from typing import Annotated

from models import Follow, Profile
from queries import profile
from schemas import (
    LoginBody,
    NewUserBody,
    ProfileBody,
    UpdateUserBody,
    UserBody,
    UserView,
    profile_view,
)
from sqlalchemy import delete, or_, select

from plait import Depends, HTTPException, Request, Router
from plait.auth import CurrentUser, LoginRequired, Tokens, User, authenticate, hash_password
from plait.db import Session, apply

__all__ = ["router"]

router = Router()


def app_tokens(request: Request) -> Tokens:
    """The app's token issuer (``auth.add_tokens(...)`` in app.py)."""
    tokens: Tokens = request.app.state.tokens
    return tokens


Issuer = Annotated[Tokens, Depends(app_tokens)]


def taken(field: str) -> HTTPException:
    """A 422 naming ``field``, as RealWorld answers a username or e-mail already in use."""
    error = {"loc": ["body", "user", field], "msg": "has already been taken", "type": "unique"}
    return HTTPException(422, f"{field} has already been taken", extra={"errors": [error]})


async def refuse_taken(
    session: Session, username: str | None, email: str | None, user_id: int | None = None
) -> None:
    """422 when another user has this username or e-mail."""
    clashes = []
    if username is not None:
        clashes.append(User.username == username)
    if email is not None:
        clashes.append(User.email == email)
    if not clashes:
        return
    others = select(User.username, User.email).where(or_(*clashes), User.id != (user_id or 0))
    for other in await session.execute(others):
        raise taken("username" if other.username == username else "email")


async def own_profile(session: Session, user: User) -> Profile:
    """The user's profile, made on first use (an account from ``plait createsuperuser``)."""
    found = await session.get(Profile, user.id)
    if found is None:
        found = Profile(user_id=user.id)
        session.add(found)
    return found


def user_body(user: User, mine: Profile, tokens: Tokens) -> UserBody:
    token = tokens.access_token(user)
    return UserBody(UserView(user.email, token, user.username, mine.bio, mine.image))


@router.post("/users", status_code=201)
async def register(body: NewUserBody, session: Session, tokens: Issuer) -> UserBody:
    """Register: the new user, with a token."""
    new = body.user
    await refuse_taken(session, new.username, new.email)
    user = User(username=new.username, email=new.email)
    user.password = await asyncio.to_thread(hash_password, new.password)
    session.add(user)
    await session.flush()
    mine = Profile(user_id=user.id)
    session.add(mine)
    return user_body(user, mine, tokens)


@router.post("/users/login", responses={401: "Wrong e-mail or password"})
async def log_in(body: LoginBody, session: Session, tokens: Issuer) -> UserBody:
    """Log in with e-mail and password: the user, with a token."""
    username = await session.scalar(select(User.username).where(User.email == body.user.email))
    user = await authenticate(session, username or "", body.user.password)
    if user is None:
        raise HTTPException(401, "email or password is invalid")
    return user_body(user, await own_profile(session, user), tokens)


@router.get("/user")
async def current_user(user: LoginRequired, session: Session, tokens: Issuer) -> UserBody:
    """The logged-in user."""
    return user_body(user, await own_profile(session, user), tokens)


@router.put("/user")
async def update_user(
    body: UpdateUserBody, user: LoginRequired, session: Session, tokens: Issuer
) -> UserBody:
    """Change any of e-mail, username, password, bio and image."""
    changes = body.user
    username = changes.username if isinstance(changes.username, str) else None
    email = changes.email if isinstance(changes.email, str) else None
    await refuse_taken(session, username, email, user.id)
    mine = await own_profile(session, user)
    apply(mine, {"bio": changes.bio, "image": changes.image})
    apply(user, {"username": changes.username, "email": changes.email})
    if isinstance(changes.password, str):
        user.password = await asyncio.to_thread(hash_password, changes.password)
    return user_body(user, mine, tokens)


@router.get(
    "/profiles/{username}", responses={404: "No such user", 401: "A token was sent and refused"}
)
async def get_profile(username: str, user: CurrentUser, session: Session) -> ProfileBody:
    """A user's profile; ``following`` says whether the reader follows them."""
    return ProfileBody(profile_view(await profile(session, username, user and user.id)))


@router.post("/profiles/{username}/follow", responses={404: "No such user"})
async def follow(username: str, user: LoginRequired, session: Session) -> ProfileBody:
    """Follow a user (following twice changes nothing)."""
    followed = await profile(session, username, user.id)
    if not followed.following and followed.user_id != user.id:
        await own_profile(session, user)
        session.add(Follow(follower_id=user.id, followed_id=followed.user_id))
    return ProfileBody(profile_view(followed, following=followed.user_id != user.id))


@router.delete("/profiles/{username}/follow", responses={404: "No such user"})
async def unfollow(username: str, user: LoginRequired, session: Session) -> ProfileBody:
    """Stop following a user."""
    followed = await profile(session, username, user.id)
    await session.execute(
        delete(Follow).where(Follow.follower_id == user.id, Follow.followed_id == followed.user_id)
    )
    return ProfileBody(profile_view(followed, following=False))
