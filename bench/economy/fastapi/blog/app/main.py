from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi_csrf_protect import CsrfProtect
from fastapi_csrf_protect.exceptions import CsrfProtectError
from pydantic import BaseModel
from sqladmin import Admin
from sqlmodel import SQLModel
from starlette.middleware.sessions import SessionMiddleware

from . import auth, posts
from .admin import AdminAuth, CommentAdmin, PostAdmin
from .models import engine

SECRET_KEY = "change-me"


class CsrfSettings(BaseModel):
    secret_key: str = SECRET_KEY
    token_location: str = "body"
    token_key: str = "csrf-token"


@CsrfProtect.load_config
def get_csrf_config():
    return CsrfSettings()


@asynccontextmanager
async def lifespan(app: FastAPI):
    SQLModel.metadata.create_all(engine)
    yield


app = FastAPI(lifespan=lifespan)
app.add_middleware(SessionMiddleware, secret_key=SECRET_KEY)
app.include_router(auth.router)
app.include_router(posts.router)

admin = Admin(app, engine, authentication_backend=AdminAuth(secret_key=SECRET_KEY))
admin.add_view(PostAdmin)
admin.add_view(CommentAdmin)


@app.exception_handler(CsrfProtectError)
def csrf_protect_exception_handler(request: Request, exc: CsrfProtectError):
    return PlainTextResponse(exc.message, status_code=exc.status_code)
