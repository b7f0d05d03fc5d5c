from flask import Flask, redirect, request, url_for
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from .models import Comment, Post, User, db

login_manager = LoginManager()
login_manager.login_view = "auth.login"
csrf = CSRFProtect()


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


class StaffModelView(ModelView):
    def is_accessible(self):
        return current_user.is_authenticated and current_user.is_admin

    def inaccessible_callback(self, name, **kwargs):
        return redirect(url_for("auth.login", next=request.url))


def create_app():
    app = Flask(__name__)
    app.config.from_mapping(SECRET_KEY="dev", SQLALCHEMY_DATABASE_URI="sqlite:///blog.sqlite3")
    app.config.from_prefixed_env()
    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)

    admin = Admin(app, name="Blog")
    admin.add_view(StaffModelView(Post, db))
    admin.add_view(StaffModelView(Comment, db))

    from . import auth, blog

    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)

    with app.app_context():
        db.create_all()
    return app
