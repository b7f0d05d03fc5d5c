from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from .dependencies import (
    CsrfDep,
    CurrentUser,
    LoggedInUser,
    SessionDep,
    csrf_protected,
    flash,
    render_form,
    templates,
)
from .models import Comment, Post

router = APIRouter()


@router.get("/")
def index(request: Request, session: SessionDep, user: CurrentUser):
    posts = session.exec(select(Post).order_by(Post.created.desc())).all()
    return templates.TemplateResponse(request, "index.html", {"posts": posts, "user": user})


@router.get("/posts/new")
def new_post(request: Request, user: LoggedInUser, csrf_protect: CsrfDep):
    return render_form(request, csrf_protect, "create.html", {"user": user})


@router.post("/posts/new", dependencies=[Depends(csrf_protected)])
def create_post(
    request: Request,
    title: Annotated[str, Form(max_length=200)],
    body: Annotated[str, Form()],
    session: SessionDep,
    user: LoggedInUser,
):
    post = Post(title=title, body=body, author=user)
    session.add(post)
    session.commit()
    flash(request, "Your post was published.")
    return RedirectResponse(request.url_for("read_post", post_id=post.id), status_code=303)


@router.get("/posts/{post_id}")
def read_post(
    request: Request, post_id: int, session: SessionDep, user: CurrentUser, csrf_protect: CsrfDep
):
    post = session.get(Post, post_id)
    if not post:
        raise HTTPException(status_code=404, detail="Post not found")
    return render_form(request, csrf_protect, "post.html", {"post": post, "user": user})


@router.post("/posts/{post_id}/comments", dependencies=[Depends(csrf_protected)])
def add_comment(
    request: Request,
    post_id: int,
    body: Annotated[str, Form()],
    session: SessionDep,
    user: LoggedInUser,
):
    post = session.get(Post, post_id)
    if not post:
        raise HTTPException(status_code=404, detail="Post not found")
    session.add(Comment(body=body, post=post, author=user))
    session.commit()
    flash(request, "Your comment was added.")
    return RedirectResponse(request.url_for("read_post", post_id=post_id), status_code=303)
