from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pwdlib import PasswordHash
from sqlmodel import select

from .dependencies import CsrfDep, CurrentUser, SessionDep, csrf_protected, flash, render_form
from .models import User

password_hash = PasswordHash.recommended()
router = APIRouter()


@router.get("/signup")
def signup_form(request: Request, user: CurrentUser, csrf_protect: CsrfDep):
    return render_form(request, csrf_protect, "signup.html", {"user": user})


@router.post("/signup", dependencies=[Depends(csrf_protected)])
def signup(
    request: Request,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form()],
    confirm: Annotated[str, Form()],
    session: SessionDep,
    csrf_protect: CsrfDep,
):
    errors = []
    if session.exec(select(User).where(User.username == username)).first():
        errors.append("A user with that username already exists.")
    if password != confirm:
        errors.append("Passwords must match.")
    if errors:
        context = {"errors": errors, "username": username}
        return render_form(request, csrf_protect, "signup.html", context)
    session.add(User(username=username, hashed_password=password_hash.hash(password)))
    session.commit()
    flash(request, "Account created, please log in.")
    return RedirectResponse("/login", status_code=303)


@router.get("/login")
def login_form(request: Request, user: CurrentUser, csrf_protect: CsrfDep):
    return render_form(request, csrf_protect, "login.html", {"user": user})


@router.post("/login", dependencies=[Depends(csrf_protected)])
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    session: SessionDep,
    csrf_protect: CsrfDep,
):
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not password_hash.verify(password, user.hashed_password):
        flash(request, "Incorrect username or password.")
        return render_form(request, csrf_protect, "login.html", {"username": username})
    request.session["user_id"] = user.id
    flash(request, "You are logged in.")
    return RedirectResponse("/", status_code=303)


@router.get("/logout")
def logout(request: Request):
    request.session.clear()
    flash(request, "You are logged out.")
    return RedirectResponse("/", status_code=303)
