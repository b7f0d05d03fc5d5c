from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def index(request):
    return JSONResponse({"message": "Hello, World!"})


async def hello(request):
    return PlainTextResponse(f"Hello, {request.path_params['name']}!")


app = Starlette(routes=[Route("/", index), Route("/hello/{name}", hello)])
