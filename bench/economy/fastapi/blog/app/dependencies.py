from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.templating import Jinja2Templates
from fastapi_csrf_protect import CsrfProtect
from sqlmodel import Session

from .models import User, engine


def get_session():
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
CsrfDep = Annotated[CsrfProtect, Depends()]


def get_current_user(request: Request, session: SessionDep) -> User | None:
    user_id = request.session.get("user_id")
    return session.get(User, user_id) if user_id is not None else None


CurrentUser = Annotated[User | None, Depends(get_current_user)]


def login_required(user: CurrentUser) -> User:
    if user is None:
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/login"})
    return user


LoggedInUser = Annotated[User, Depends(login_required)]


async def csrf_protected(request: Request, csrf_protect: CsrfDep):
    await csrf_protect.validate_csrf(request)


def flash(request: Request, message: str) -> None:
    request.session.setdefault("messages", []).append(message)


def get_flashed_messages(request: Request) -> list[str]:
    return request.session.pop("messages", [])


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["get_flashed_messages"] = get_flashed_messages


def render_form(request: Request, csrf_protect: CsrfProtect, name: str, context: dict):
    csrf_token, signed_token = csrf_protect.generate_csrf_tokens()
    response = templates.TemplateResponse(request, name, {**context, "csrf_token": csrf_token})
    csrf_protect.set_csrf_cookie(signed_token, response)
    return response
