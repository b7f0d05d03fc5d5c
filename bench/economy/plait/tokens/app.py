from datetime import timedelta

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plait import App, Depends
from plait.auth import Auth, LoginRequired, User, login_required
from plait.db import Database, Model, crud_router


class Post(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)


app = App()
db = Database(app, auto_migrate=True)
Auth(app, db).add_tokens(lifetime=timedelta(minutes=30)).add_token_endpoint("/token")


@app.get("/users/me")
async def read_users_me(user: LoginRequired) -> User.Read:
    return user


app.include_router(crud_router(Post, dependencies=[Depends(login_required)]))
