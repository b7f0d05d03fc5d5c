from litestar import Litestar, MediaType, get


@get("/")
async def index() -> dict[str, str]:
    return {"message": "Hello, World!"}


@get("/hello/{name:str}", media_type=MediaType.TEXT)
async def hello(name: str) -> str:
    return f"Hello, {name}!"


app = Litestar([index, hello])
