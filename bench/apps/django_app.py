"""Django: the bench endpoints as one file (minimal settings, URLconf, function views).

No middleware is configured: a project would keep Django's default stack, which costs more.
"""

import json as jsonlib
from operator import attrgetter
from pathlib import Path
from typing import Any

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [Path(__file__).parent / "templates"],
        }
    ],
)
django.setup()

from benchdb import EXTRA_FORTUNE, Fortune, SyncDB, query_count, random_id  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.shortcuts import render  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

db = SyncDB()


def order_error(data: Any) -> str | None:
    """Why ``data`` is not a valid order, or None when it is."""
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    customer = data.get("customer")
    if not isinstance(customer, dict) or not all(
        isinstance(customer.get(key), str) for key in ("name", "email")
    ):
        return "customer needs a name and an email"
    items = data.get("items")
    if not isinstance(items, list):
        return "items must be a list"
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            return "each item needs a sku"
        qty, price = item.get("qty"), item.get("price")
        if type(qty) is not int or qty < 1:
            return "qty must be an integer >= 1"
        if type(price) not in (int, float):
            return "price must be a number"
    if not isinstance(data.get("note"), str | None):
        return "note must be a string or null"
    return None


@require_GET
def plaintext(request):
    return HttpResponse("Hello, World!", content_type="text/plain")


@require_GET
def json(request):
    return JsonResponse({"message": "Hello, World!"})


@require_GET
def read_item(request, item_id):
    try:
        limit = int(request.GET.get("limit", 10))
    except ValueError:
        return JsonResponse({"detail": "limit must be an integer"}, status=422)
    if not 1 <= limit <= 100:
        return JsonResponse({"detail": "limit must be between 1 and 100"}, status=422)
    return JsonResponse({"item_id": item_id, "q": request.GET.get("q"), "limit": limit})


@require_POST
def create_order(request):
    try:
        order = jsonlib.loads(request.body)
    except ValueError:
        order = None
    error = order_error(order)
    if error:
        return JsonResponse({"detail": error}, status=422)
    total = sum(item["qty"] * item["price"] for item in order["items"])
    summary = {
        "customer": order["customer"]["name"],
        "item_count": len(order["items"]),
        "total": round(total, 2),
    }
    return JsonResponse(summary, status=201)


@require_GET
def single_query(request):
    return JsonResponse(db.world(random_id()))


@require_GET
def queries(request):
    return JsonResponse(db.worlds(query_count(request.GET.get("queries"))), safe=False)


@require_GET
def fortunes(request):
    rows = db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return render(request, "fortunes.html", {"fortunes": rows})


@require_POST
def upload(request):
    return JsonResponse({"size": len(request.body)})


urlpatterns = [
    path("plaintext", plaintext),
    path("json", json),
    path("items/<int:item_id>", read_item),
    path("orders", create_order),
    path("db", single_query),
    path("queries", queries),
    path("fortunes", fortunes),
    path("upload", upload),
]

app = get_wsgi_application()
