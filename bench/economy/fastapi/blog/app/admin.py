from sqladmin import ModelView
from sqladmin.authentication import AuthenticationBackend
from sqlmodel import Session, select

from .auth import password_hash
from .models import Comment, Post, User, engine


class PostAdmin(ModelView, model=Post):
    column_list = [Post.id, Post.title, Post.author, Post.created]


class CommentAdmin(ModelView, model=Comment):
    column_list = [Comment.id, Comment.post, Comment.author, Comment.created]


class AdminAuth(AuthenticationBackend):
    async def login(self, request):
        form = await request.form()
        with Session(engine) as session:
            user = session.exec(select(User).where(User.username == form["username"])).first()
        if user is None or not user.is_admin:
            return False
        if not password_hash.verify(form["password"], user.hashed_password):
            return False
        request.session["user_id"] = user.id
        return True

    async def logout(self, request):
        request.session.clear()
        return True

    async def authenticate(self, request):
        user_id = request.session.get("user_id")
        if user_id is None:
            return False
        with Session(engine) as session:
            user = session.get(User, user_id)
        return user is not None and user.is_admin
