from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_user, logout_user

from .forms import LoginForm, RegisterForm
from .models import User, db

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/register", methods=("GET", "POST"))
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        user = User(username=form.username.data)
        user.set_password(form.password.data)
        db.session.add(user)
        db.session.commit()
        flash("Account created, please log in.")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=("GET", "POST"))
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(db.select(User).filter_by(username=form.username.data))
        if user is not None and user.check_password(form.password.data):
            login_user(user)
            flash("You are logged in.")
            return redirect(url_for("blog.index"))
        flash("Incorrect username or password.")
    return render_template("auth/login.html", form=form)


@bp.route("/logout")
def logout():
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("blog.index"))
