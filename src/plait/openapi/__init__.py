"""OpenAPI 3.1 documents and the Swagger UI / ReDoc pages of a plait app.

Every app serves its document at ``/openapi.json``, Swagger UI at ``/docs`` and ReDoc at
``/redoc`` (``App(openapi_url=None)`` turns them off). The document is generated from the
routes' signatures, the same plans that validate requests::

    from plait.openapi import Problem, openapi_schema

    @app.get("/items/{item_id}", responses={404: Problem})
    async def get_item(item_id: int) -> Item: ...

    document = openapi_schema(app)

``plait openapi APP`` prints it from the command line.
"""

from typing import TYPE_CHECKING, Any

from plait.openapi._generator import openapi_schema
from plait.openapi._models import FieldError, Problem, ValidationProblem

if TYPE_CHECKING:
    from plait.openapi._cli import openapi_command

__all__ = ["FieldError", "Problem", "ValidationProblem", "openapi_command", "openapi_schema"]


def __getattr__(name: str) -> Any:
    if name == "openapi_command":
        # Loaded only when asked for: serving the docs does not need click.
        from plait.openapi._cli import openapi_command

        return openapi_command
    raise AttributeError(f"module 'plait.openapi' has no attribute {name!r}")
