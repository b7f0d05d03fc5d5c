import marshmallow as ma
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    published: Mapped[bool] = mapped_column(default=False)


class PostSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    title = ma.fields.String(required=True, validate=ma.validate.Length(max=200))
    body = ma.fields.String(required=True)
    published = ma.fields.Boolean(load_default=False)


class PostUpdateSchema(ma.Schema):
    title = ma.fields.String(validate=ma.validate.Length(max=200))
    body = ma.fields.String()
    published = ma.fields.Boolean()


blp = Blueprint("posts", __name__, url_prefix="/posts", description="Operations on posts")


@blp.route("/")
class Posts(MethodView):
    @blp.response(200, PostSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        page = db.paginate(
            db.select(Post).order_by(Post.id),
            page=pagination_parameters.page,
            per_page=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = page.total
        return page.items

    @blp.arguments(PostSchema)
    @blp.response(201, PostSchema)
    def post(self, new_post):
        post = Post(**new_post)
        db.session.add(post)
        db.session.commit()
        return post


@blp.route("/<int:post_id>")
class PostById(MethodView):
    @blp.response(200, PostSchema)
    def get(self, post_id):
        return db.get_or_404(Post, post_id)

    @blp.arguments(PostUpdateSchema)
    @blp.response(200, PostSchema)
    def patch(self, update_data, post_id):
        post = db.get_or_404(Post, post_id)
        for key, value in update_data.items():
            setattr(post, key, value)
        db.session.commit()
        return post

    @blp.response(204)
    def delete(self, post_id):
        db.session.delete(db.get_or_404(Post, post_id))
        db.session.commit()


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///posts.sqlite3"
app.config["API_TITLE"] = "Posts"
app.config["API_VERSION"] = "v1"
app.config["OPENAPI_VERSION"] = "3.0.3"
app.config["OPENAPI_URL_PREFIX"] = "/"
app.config["OPENAPI_SWAGGER_UI_PATH"] = "/docs"
app.config["OPENAPI_SWAGGER_UI_URL"] = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"
app.config.from_prefixed_env()
db.init_app(app)
api = Api(app)
api.register_blueprint(blp)

with app.app_context():
    db.create_all()
