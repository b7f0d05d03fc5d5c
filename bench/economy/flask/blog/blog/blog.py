from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from .forms import CommentForm, PostForm
from .models import Comment, Post, db

bp = Blueprint("blog", __name__)


@bp.route("/")
def index():
    posts = db.session.scalars(db.select(Post).order_by(Post.created.desc()))
    return render_template("blog/index.html", posts=posts)


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create():
    form = PostForm()
    if form.validate_on_submit():
        post = Post(title=form.title.data, body=form.body.data, author_id=current_user.id)
        db.session.add(post)
        db.session.commit()
        flash("Your post was published.")
        return redirect(url_for("blog.post", id=post.id))
    return render_template("blog/create.html", form=form)


@bp.route("/posts/<int:id>")
def post(id):
    post = db.get_or_404(Post, id)
    return render_template("blog/post.html", post=post, form=CommentForm())


@bp.route("/posts/<int:id>/comment", methods=("POST",))
@login_required
def comment(id):
    post = db.get_or_404(Post, id)
    form = CommentForm()
    if form.validate_on_submit():
        db.session.add(Comment(body=form.body.data, post=post, author_id=current_user.id))
        db.session.commit()
        flash("Your comment was added.")
        return redirect(url_for("blog.post", id=id))
    return render_template("blog/post.html", post=post, form=form)
