"""Starlette: the bench endpoints, hand-validated with msgspec the way Starlette's docs leave it to you."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from operator import attrgetter
from pathlib import Path
from typing import Annotated

import msgspec
from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

db = AsyncDB()
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


class Customer(msgspec.Struct):
    name: str
    email: str


class Item(msgspec.Struct):
    sku: str
    qty: Annotated[int, msgspec.Meta(ge=1)]
    price: float


class Order(msgspec.Struct):
    customer: Customer
    items: list[Item]
    note: str | None = None


async def plaintext(request: Request) -> Response:
    return PlainTextResponse("Hello, World!")


async def json(request: Request) -> Response:
    return JSONResponse({"message": "Hello, World!"})


async def read_item(request: Request) -> Response:
    try:
        limit = int(request.query_params.get("limit", 10))
    except ValueError:
        return JSONResponse({"detail": "limit must be an integer"}, status_code=422)
    if not 1 <= limit <= 100:
        return JSONResponse({"detail": "limit must be between 1 and 100"}, status_code=422)
    item_id = request.path_params["item_id"]
    return JSONResponse({"item_id": item_id, "q": request.query_params.get("q"), "limit": limit})


async def create_order(request: Request) -> Response:
    try:
        order = msgspec.json.decode(await request.body(), type=Order)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    total = sum(item.qty * item.price for item in order.items)
    summary = {
        "customer": order.customer.name,
        "item_count": len(order.items),
        "total": round(total, 2),
    }
    return JSONResponse(summary, status_code=201)


async def single_query(request: Request) -> Response:
    return JSONResponse(await db.world(random_id()))


async def queries(request: Request) -> Response:
    return JSONResponse(await db.worlds(query_count(request.query_params.get("queries"))))


async def fortunes(request: Request) -> Response:
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})


async def upload(request: Request) -> Response:
    return JSONResponse({"size": len(await request.body())})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await db.connect()
    yield
    await db.close()


app = Starlette(
    routes=[
        Route("/plaintext", plaintext),
        Route("/json", json),
        Route("/items/{item_id:int}", read_item),
        Route("/orders", create_order, methods=["POST"]),
        Route("/db", single_query),
        Route("/queries", queries),
        Route("/fortunes", fortunes),
        Route("/upload", upload, methods=["POST"]),
    ],
    lifespan=lifespan,
)
