"""``@templates.page(name)``: a handler returning its template's context.

The endpoint plait compiles is a wrapper with the handler's own signature plus one
keyword-only ``Request`` parameter (the template needs the request); its return annotation
is ``HTMLResponse``, so the page is left out of the OpenAPI document (an HTML page is not
part of the API) unless its route says ``include_in_schema=True``.
A sync handler gets a sync wrapper: it runs, and renders, in the thread pool.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from plait import HTMLResponse, Request, Response

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plait.templates._templates import Templates

__all__ = ["page_endpoint"]

F = TypeVar("F", bound=Callable[..., Any])

_REQUEST = "_page_request"


def page_endpoint(
    func: F,
    templates: Templates,
    name: str | Sequence[str],
    status_code: int,
    headers: Mapping[str, str] | None,
) -> F:
    """Wrap ``func`` so its result renders ``name`` (see :meth:`Templates.page`)."""
    signature = inspect.signature(func)
    if _REQUEST in signature.parameters:
        raise TypeError(f"{func.__qualname__}: the parameter name {_REQUEST!r} is reserved")

    def respond(request: Request, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if result is not None and not isinstance(result, Mapping):
            raise TypeError(
                f"{func.__qualname__} is a @templates.page handler: return a dict (the "
                f"template's context) or a Response, not {type(result).__name__}"
            )
        return templates.render(request, name, result, status_code=status_code, headers=headers)

    endpoint: Callable[..., Any]
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def endpoint(**kwargs: Any) -> Response:
            request = kwargs.pop(_REQUEST)
            return respond(request, await func(**kwargs))

    else:

        @functools.wraps(func)
        def endpoint(**kwargs: Any) -> Response:
            request = kwargs.pop(_REQUEST)
            return respond(request, func(**kwargs))

    params = list(signature.parameters.values())
    extra = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
    # A **kwargs parameter must stay last.
    at = len(params) - (1 if params and params[-1].kind is params[-1].VAR_KEYWORD else 0)
    params.insert(at, extra)
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=HTMLResponse
    )
    # A copy: functools.wraps shares the handler's own dict.
    endpoint.__annotations__ = {
        **func.__annotations__,
        _REQUEST: Request,
        "return": HTMLResponse,
    }
    return cast(F, endpoint)
