"""The benchmarked RealWorld endpoints in Django, the way its docs teach: models, async
function views with the async ORM (``select_related``, ``prefetch_related``, ``annotate``),
``JsonResponse``, Django's password hashers, PyJWT for the ``Authorization: Token`` header
(Django has no JWT of its own), and psycopg's connection pool (``OPTIONS: {"pool": True}``,
Django's advice for ASGI).

``POST /api/users``, ``GET /api/user``, ``GET /api/articles`` and ``POST /api/articles``, as
in fastapi_app.py.
The database is PostgreSQL when ``RW_PG_DSN`` is set, else the SQLite file ``RW_SQLITE``.
"""

import datetime
import json
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlparse

import django
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _databases() -> dict:
    dsn = os.environ.get("RW_PG_DSN")
    if not dsn:
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.environ.get("RW_SQLITE", "rw-django.sqlite3"),
            }
        }
    url = urlparse(dsn)
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "USER": url.username or "postgres",
            "PASSWORD": url.password or "",
            "HOST": url.hostname or "127.0.0.1",
            "PORT": str(url.port or 5432),
            "OPTIONS": {"pool": {"min_size": 4, "max_size": 20}},
        }
    }


settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("RW_SECRET_KEY", secrets.token_hex(32)),
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["djangorw"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES=_databases(),
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    # Django's advice for test runs: a fast hasher (RW_FAST_HASHER=1, the self-check only).
    **(
        {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}
        if os.environ.get("RW_FAST_HASHER")
        else {}
    ),
)
django.setup()

import jwt  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.validators import validate_email  # noqa: E402
from django.db.models import Count, Exists, OuterRef, Prefetch  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.text import slugify  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from djangorw.models import Article, Tag, User  # noqa: E402


class Unauthorized(Exception):
    pass


def token_for(user: User) -> str:
    expire = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7)
    return jwt.encode({"sub": str(user.pk), "exp": expire}, settings.SECRET_KEY, "HS256")


async def reader_of(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    try:
        if scheme.lower() != "token":
            raise jwt.InvalidTokenError
        user_id = int(jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])["sub"])
        return await User.objects.aget(pk=user_id)
    except (jwt.InvalidTokenError, KeyError, ValueError, User.DoesNotExist):
        raise Unauthorized from None


def errors(status: int, **fields: list[str]) -> JsonResponse:
    return JsonResponse({"errors": fields}, status=status)


def body_of(request: HttpRequest, key: str) -> dict:
    try:
        data = json.loads(request.body)[key]
    except (ValueError, KeyError, TypeError):
        raise ValidationError({key: ["can't be empty"]}) from None
    if not isinstance(data, dict):
        raise ValidationError({key: ["is invalid"]})
    return data


def text(data: dict, field: str, max_length: int | None = None, required: bool = True) -> str:
    value = data.get(field, "")
    if not isinstance(value, str) or (required and not value):
        raise ValidationError({field: ["can't be empty"]})
    if max_length is not None and len(value) > max_length:
        raise ValidationError({field: [f"is too long (maximum is {max_length} characters)"]})
    return value


@csrf_exempt
async def register(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return errors(405, body=["method not allowed"])
    try:
        data = body_of(request, "user")
        username, email = text(data, "username", 150), text(data, "email", 254)
        validate_email(email)
        password = text(data, "password")
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=422)
    user = await User.objects.acreate(
        username=username, email=email, password=make_password(password)
    )
    return JsonResponse({"user": user_json(user)}, status=201)


def user_json(user: User) -> dict:
    view = {"email": user.email, "token": token_for(user), "username": user.username}
    return {**view, "bio": user.bio, "image": user.image}


async def current_user(request: HttpRequest) -> JsonResponse:
    try:
        reader = await reader_of(request)
    except Unauthorized:
        return errors(401, body=["invalid token"])
    if reader is None:
        return errors(401, body=["authentication required"])
    return JsonResponse({"user": user_json(reader)})


def article_json(article: Article, with_body: bool) -> dict:
    data = {
        "slug": article.slug,
        "title": article.title,
        "description": article.description,
        "tagList": [tag.name for tag in article.tags.all()],
        "createdAt": article.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "updatedAt": article.updated_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "favorited": getattr(article, "favorited", False),
        "favoritesCount": article.favorites_count,
        "author": {
            "username": article.author.username,
            "bio": article.author.bio,
            "image": article.author.image,
            "following": getattr(article, "following", False),
        },
    }
    if with_body:
        data["body"] = article.body
    return data


def with_reader(articles, reader: User | None):  # type: ignore[no-untyped-def]
    tags = Prefetch("tags", queryset=Tag.objects.order_by("name"))
    articles = articles.select_related("author").prefetch_related(tags)
    articles = articles.annotate(favorites_count=Count("favorited_by"))
    if reader is None:
        return articles
    return articles.annotate(
        favorited=Exists(
            User.favorites.through.objects.filter(article_id=OuterRef("pk"), user_id=reader.pk)
        ),
        following=Exists(
            User.follows.through.objects.filter(
                from_user_id=reader.pk, to_user_id=OuterRef("author_id")
            )
        ),
    )


@csrf_exempt
async def articles(request: HttpRequest) -> JsonResponse:
    try:
        reader = await reader_of(request)
    except Unauthorized:
        return errors(401, body=["invalid token"])
    if request.method == "POST":
        if reader is None:
            return errors(401, body=["authentication required"])
        return await create_article(request, reader)
    if request.method != "GET":
        return errors(405, body=["method not allowed"])
    try:
        limit = int(request.GET.get("limit", 20))
        offset = int(request.GET.get("offset", 0))
        if not (1 <= limit <= 100 and offset >= 0):
            raise ValueError
    except ValueError:
        return errors(422, limit=["is invalid"])
    page = [a async for a in with_reader(Article.objects.all(), reader)[offset : offset + limit]]
    total = await Article.objects.acount()
    items = [article_json(article, with_body=False) for article in page]
    return JsonResponse({"articles": items, "articlesCount": total})


async def create_article(request: HttpRequest, author: User) -> JsonResponse:
    try:
        data = body_of(request, "article")
        title = text(data, "title", 255)
        description = text(data, "description", 2000)
        body = text(data, "body")
        names = data.get("tagList", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ValidationError({"tagList": ["is invalid"]})
    except ValidationError as exc:
        return JsonResponse({"errors": exc.message_dict}, status=422)
    slug = slugify(title) or "article"
    if await Article.objects.filter(slug=slug).aexists():
        slug = f"{slug}-{secrets.token_hex(3)}"
    article = await Article.objects.acreate(
        slug=slug, title=title, description=description, body=body, author=author
    )
    tags = [(await Tag.objects.aget_or_create(name=name))[0] for name in sorted(set(names))]
    await article.tags.aset(tags)
    article = await with_reader(Article.objects.filter(pk=article.pk), author).aget()
    return JsonResponse({"article": article_json(article, with_body=True)}, status=201)


urlpatterns = [
    path("api/users", register),
    path("api/user", current_user),
    path("api/articles", articles),
]
application = get_asgi_application()


def create_tables() -> None:
    """Create the tables (``migrate --run-syncdb``: the bench keeps no migration files)."""
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def self_check() -> None:
    """Seed and check the app in-process (tests/test_bench_realworld.py runs this)."""
    from django.test import Client
    from run import check, seed

    client = Client()

    def call(method: str, path: str, body: object = None, token: str | None = None) -> object:
        headers = {"Authorization": f"Token {token}"} if token else {}
        response = client.generic(
            method, path, json.dumps(body) if body is not None else "",
            content_type="application/json", headers=headers,
        )  # fmt: skip
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.content!r}")
        return json.loads(response.content)

    create_tables()
    check(call, seed(call)["bob"])


if __name__ == "__main__" and sys.argv[1:] == ["create-tables"]:
    create_tables()
elif __name__ == "__main__" and sys.argv[1:] == ["self-check"]:
    self_check()
