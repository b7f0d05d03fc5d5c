"""BlackSheep: the bench endpoints, written the way BlackSheep's docs teach (Pydantic models)."""

import os
from operator import attrgetter
from pathlib import Path

# BlackSheep looks templates up as "<name>.jinja"; the suite shares one "fortunes.html".
os.environ.setdefault("APP_JINJA_EXTENSION", ".html")

from benchdb import EXTRA_FORTUNE, AsyncDB, Fortune, query_count, random_id
from blacksheep import Application, FromJSON, Request, bad_request, get, json, post, text
from blacksheep.server.rendering.jinja2 import JinjaRenderer
from blacksheep.server.responses import view
from blacksheep.settings.html import html_settings
from jinja2 import FileSystemLoader
from pydantic import BaseModel, Field

app = Application()
html_settings.use(JinjaRenderer(FileSystemLoader(Path(__file__).parent / "templates")))
db = AsyncDB()


@app.on_start
async def open_db(application: Application) -> None:
    await db.connect()


@app.on_stop
async def close_db(application: Application) -> None:
    await db.close()


class Customer(BaseModel):
    name: str
    email: str


class Item(BaseModel):
    sku: str
    qty: int = Field(ge=1)
    price: float


class Order(BaseModel):
    customer: Customer
    items: list[Item]
    note: str | None = None


@get("/plaintext")
async def plaintext():
    return text("Hello, World!")


@get("/json")
async def json_():
    return json({"message": "Hello, World!"})


@get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, limit: int = 10):
    if not 1 <= limit <= 100:
        return bad_request("limit must be between 1 and 100")
    return json({"item_id": item_id, "q": q, "limit": limit})


@post("/orders")
async def create_order(data: FromJSON[Order]):
    order = data.value
    total = sum(item.qty * item.price for item in order.items)
    summary = {
        "customer": order.customer.name,
        "item_count": len(order.items),
        "total": round(total, 2),
    }
    return json(summary, status=201)


@get("/db")
async def single_query():
    return json(await db.world(random_id()))


@get("/queries")
async def queries(queries: str | None = None):
    return json(await db.worlds(query_count(queries)))


@get("/fortunes")
async def fortunes():
    rows = await db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return view("fortunes", {"fortunes": rows})


@post("/upload")
async def upload(request: Request):
    return json({"size": len(await request.read())})
