"""Django's async ORM: the data path as one file (minimal settings, models, async views), on
ASGI.

The views are ``async def`` and use the ORM's async API (``aget``, ``acreate``, ``async for``),
as Django's docs teach; the updates run in ``transaction.atomic()`` inside a synchronous
function called with ``sync_to_async`` (the docs' advice: transactions do not work in async
mode yet). PostgreSQL through psycopg 3 with Django's connection pool (under ASGI the docs
advise a pool instead of persistent connections); SQLite through sqlite3. No middleware, as
in the other Django app.
"""

import json
import os
from operator import attrgetter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import django
from benchdb import DEFAULT_PG_DSN, DEFAULT_SQLITE, POOL_SIZE
from django.conf import settings


def _database() -> dict[str, Any]:
    if os.environ.get("BENCH_DB", "sqlite") != "postgres":
        path = os.environ.get("BENCH_SQLITE", DEFAULT_SQLITE)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    dsn = urlsplit(os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN))
    options: dict[str, Any] = {"pool": {"min_size": POOL_SIZE, "max_size": POOL_SIZE}}
    options.update({key: values[-1] for key, values in parse_qs(dsn.query).items()})
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": dsn.path.lstrip("/"),
        "USER": dsn.username or "",
        "PASSWORD": dsn.password or "",
        "HOST": dsn.hostname or "",
        "PORT": str(dsn.port or ""),
        "OPTIONS": options,
    }


settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    DATABASES={"default": _database()},
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [Path(__file__).parent / "templates"],
        }
    ],
)
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from benchdb import (  # noqa: E402
    EXTRA_FORTUNE,
    RELATED_ROWS,
    query_count,
    random_city,
    random_id,
    random_ids,
)
from django.core.asgi import get_asgi_application  # noqa: E402
from django.db import models, transaction  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.shortcuts import aget_object_or_404, render  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402


class World(models.Model):
    randomnumber = models.IntegerField()

    class Meta:
        app_label = "bench"
        db_table = "world"
        managed = False


class Fortune(models.Model):
    message = models.TextField()

    class Meta:
        app_label = "bench"
        db_table = "fortune"
        managed = False


class Country(models.Model):
    name = models.TextField()

    class Meta:
        app_label = "bench"
        db_table = "country"
        managed = False


class City(models.Model):
    name = models.TextField()
    country = models.ForeignKey(Country, on_delete=models.CASCADE)

    class Meta:
        app_label = "bench"
        db_table = "city"
        managed = False


def world_json(world: World) -> dict[str, int]:
    return {"id": world.id, "randomNumber": world.randomnumber}


@require_GET
async def plaintext(request):
    return HttpResponse("Hello, World!", content_type="text/plain")


@require_GET
async def single_query(request):
    return JsonResponse(world_json(await World.objects.aget(id=random_id())))


@require_GET
async def queries(request):
    count = query_count(request.GET.get("queries"))
    worlds = [world_json(await World.objects.aget(id=random_id())) for _ in range(count)]
    return JsonResponse(worlds, safe=False)


@require_GET
async def read_world(request, world_id):
    return JsonResponse(world_json(await aget_object_or_404(World, id=world_id)))


@require_GET
async def cities(request):
    query = City.objects.select_related("country").filter(id__gte=random_city()).order_by("id")
    rows = [
        {
            "id": city.id,
            "name": city.name,
            "country_id": city.country_id,
            "country": {"id": city.country.id, "name": city.country.name},
        }
        async for city in query[:RELATED_ROWS]
    ]
    return JsonResponse(rows, safe=False)


@require_POST
async def create_world(request):
    try:
        number = json.loads(request.body)["randomNumber"]
    except (ValueError, TypeError, KeyError):
        number = None
    if type(number) is not int or not -(2**31) <= number < 2**31:
        return JsonResponse({"detail": "randomNumber must be an integer"}, status=422)
    return JsonResponse(world_json(await World.objects.acreate(randomnumber=number)), status=201)


@sync_to_async
def update_worlds(count: int) -> list[dict[str, int]]:
    with transaction.atomic():
        worlds = [World.objects.get(id=id_) for id_ in random_ids(count)]
        for world in worlds:
            world.randomnumber = random_id()
        World.objects.bulk_update(worlds, ["randomnumber"])
    return [world_json(world) for world in worlds]


@require_GET
async def updates(request):
    count = query_count(request.GET.get("queries"))
    return JsonResponse(await update_worlds(count), safe=False)


@require_GET
async def fortunes(request):
    rows = [fortune async for fortune in Fortune.objects.all()]
    rows.append(Fortune(id=0, message=EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return render(request, "fortunes.html", {"fortunes": rows})


urlpatterns = [
    path("plaintext", plaintext),
    path("db", single_query),
    path("queries", queries),
    path("worlds/<int:world_id>", read_world),
    path("cities", cities),
    path("worlds", create_world),
    path("updates", updates),
    path("fortunes", fortunes),
]

app = get_asgi_application()
