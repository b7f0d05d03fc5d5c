from datetime import UTC, datetime

from sqlmodel import Field, Relationship, SQLModel, create_engine


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=150, unique=True)
    hashed_password: str
    is_admin: bool = False

    def __str__(self):
        return self.username


class Post(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    body: str
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    author_id: int = Field(foreign_key="user.id")
    author: User = Relationship()
    comments: list["Comment"] = Relationship(
        back_populates="post", sa_relationship_kwargs={"order_by": "Comment.created"}
    )

    def __str__(self):
        return self.title


class Comment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    body: str
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    post_id: int = Field(foreign_key="post.id")
    post: Post = Relationship(back_populates="comments")
    author_id: int = Field(foreign_key="user.id")
    author: User = Relationship()


sqlite_file_name = "blog.sqlite3"
sqlite_url = f"sqlite:///{sqlite_file_name}"
engine = create_engine(sqlite_url, connect_args={"check_same_thread": False})
