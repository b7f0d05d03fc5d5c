from plait import App

app = App()


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/hello/{name}")
async def hello(name: str) -> str:
    return f"Hello, {name}!"
