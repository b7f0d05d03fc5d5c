"""Flask: the bench endpoints, written the way Flask's docs teach (checks by hand)."""

from operator import attrgetter
from pathlib import Path
from typing import Any

from benchdb import EXTRA_FORTUNE, Fortune, SyncDB, query_count, random_id
from flask import Flask, render_template, request

app = Flask(__name__, template_folder=Path(__file__).parent / "templates")
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


@app.get("/plaintext")
def plaintext():
    return "Hello, World!", {"Content-Type": "text/plain"}


@app.get("/json")
def json():
    return {"message": "Hello, World!"}


@app.get("/items/<int:item_id>")
def read_item(item_id):
    try:
        limit = int(request.args.get("limit", 10))
    except ValueError:
        return {"detail": "limit must be an integer"}, 422
    if not 1 <= limit <= 100:
        return {"detail": "limit must be between 1 and 100"}, 422
    return {"item_id": item_id, "q": request.args.get("q"), "limit": limit}


@app.post("/orders")
def create_order():
    order = request.get_json(silent=True)
    error = order_error(order)
    if error:
        return {"detail": error}, 422
    total = sum(item["qty"] * item["price"] for item in order["items"])
    return {
        "customer": order["customer"]["name"],
        "item_count": len(order["items"]),
        "total": round(total, 2),
    }, 201


@app.get("/db")
def single_query():
    return db.world(random_id())


@app.get("/queries")
def queries():
    return db.worlds(query_count(request.args.get("queries")))


@app.get("/fortunes")
def fortunes():
    rows = db.fortunes()
    rows.append(Fortune(0, EXTRA_FORTUNE))
    rows.sort(key=attrgetter("message"))
    return render_template("fortunes.html", fortunes=rows)


@app.post("/upload")
def upload():
    return {"size": len(request.get_data())}
