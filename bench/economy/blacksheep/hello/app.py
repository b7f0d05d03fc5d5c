from blacksheep import Application, get, json, text

app = Application()


@get("/")
async def index():
    return json({"message": "Hello, World!"})


@get("/hello/{name}")
async def hello(name: str):
    return text(f"Hello, {name}!")
