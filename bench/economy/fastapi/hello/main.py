from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/hello/{name}", response_class=PlainTextResponse)
async def hello(name: str) -> str:
    return f"Hello, {name}!"
