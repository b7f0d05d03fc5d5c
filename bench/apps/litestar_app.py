"""Litestar: the bench endpoints, written the way Litestar's docs teach (msgspec Structs)."""

from operator import attrgetter
from pathlib import Path
from typing import Annotated

import msgspec
from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from litestar import Litestar, MediaType, Request, get, post
from litestar.params import Parameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

db = AsyncDB()


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


class OrderSummary(msgspec.Struct):
    customer: str
    item_count: int
    total: float


@get("/plaintext", media_type=MediaType.TEXT)
async def plaintext() -> str:
    return "Hello, World!"


@get("/json")
async def json() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/items/{item_id:int}")
async def read_item(
    item_id: int, q: str | None = None, limit: Annotated[int, Parameter(ge=1, le=100)] = 10
) -> dict[str, int | str | None]:
    return {"item_id": item_id, "q": q, "limit": limit}


@post("/orders")
async def create_order(data: Order) -> OrderSummary:
    total = sum(item.qty * item.price for item in data.items)
    return OrderSummary(data.customer.name, len(data.items), round(total, 2))


@get("/db")
async def single_query() -> dict[str, int]:
    return await db.world(random_id())


@get("/queries")
async def queries(queries: str | None = None) -> list[dict[str, int]]:
    return await db.worlds(query_count(queries))


@get("/fortunes")
async def fortunes() -> Template:
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return Template(template_name="fortunes.html", context={"fortunes": rows})


@post("/upload", status_code=200)
async def upload(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


app = Litestar(
    route_handlers=[
        plaintext,
        json,
        read_item,
        create_order,
        single_query,
        queries,
        fortunes,
        upload,
    ],
    on_startup=[db.connect],
    on_shutdown=[db.close],
    template_config=TemplateConfig(
        directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
    ),
)
