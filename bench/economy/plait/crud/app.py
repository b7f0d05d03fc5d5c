from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from plait import App
from plait.db import Database, Model, crud_router


class Post(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)


app = App()
db = Database(app, auto_migrate=True)
app.include_router(crud_router(Post))
