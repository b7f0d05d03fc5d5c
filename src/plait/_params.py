"""Parameter markers used with ``Annotated``: where a value comes from and how it is checked::

async def search(
    q: Annotated[str, Query(min_length=2)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    agent: Annotated[str | None, Header(alias="User-Agent")] = None,
) -> list[Item]: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

import msgspec

__all__ = [
    "Body",
    "Cookie",
    "Depends",
    "File",
    "Form",
    "Header",
    "Param",
    "Path",
    "Query",
    "Security",
]


class _Missing:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Missing()


class Param:
    """Base of the source markers; holds the default, alias, docs and constraints."""

    source: ClassVar[str] = ""

    def __init__(
        self,
        default: Any = REQUIRED,
        *,
        alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        examples: Sequence[Any] | None = None,
        deprecated: bool = False,
        include_in_schema: bool = True,
        gt: int | float | None = None,
        ge: int | float | None = None,
        lt: int | float | None = None,
        le: int | float | None = None,
        multiple_of: int | float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
    ) -> None:
        # ``Query(...)``, FastAPI's spelling of "required", means required here too.
        self.default = REQUIRED if default is Ellipsis else default
        self.alias = alias
        self.title = title
        self.description = description
        self.examples = list(examples) if examples is not None else None
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        constraints = {
            "gt": gt,
            "ge": ge,
            "lt": lt,
            "le": le,
            "multiple_of": multiple_of,
            "min_length": min_length,
            "max_length": max_length,
            "pattern": pattern,
        }
        self.constraints = {k: v for k, v in constraints.items() if v is not None}

    def meta(self) -> msgspec.Meta | None:
        """The msgspec constraints and docs this marker adds to the parameter's type."""
        extra: dict[str, Any] = {}
        if self.title is not None:
            extra["title"] = self.title
        if self.description is not None:
            extra["description"] = self.description
        if self.examples is not None:
            extra["examples"] = self.examples
        if not self.constraints and not extra:
            return None
        # The overloads only allow consistent constraint sets; the marker has validated none,
        # so let msgspec check the combination at start-up.
        meta: Any = msgspec.Meta
        return meta(**self.constraints, **extra)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(default={self.default!r}, alias={self.alias!r})"


class Path(Param):
    """A path parameter (the default for names that appear in the route path)."""

    source = "path"


class Query(Param):
    """A query-string parameter (the default for scalars and lists of scalars)."""

    source = "query"


class Header(Param):
    """A request header; ``user_agent`` reads ``User-Agent`` (``convert_underscores=False``
    keeps the name as written)."""

    source = "header"

    def __init__(
        self, default: Any = REQUIRED, *, convert_underscores: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(Param):
    """A cookie value."""

    source = "cookie"


class Body(Param):
    """The JSON body (the default for structured types); ``embed=True`` nests it under its name."""

    source = "body"

    def __init__(
        self,
        default: Any = REQUIRED,
        *,
        embed: bool = False,
        media_type: str = "application/json",
        **kwargs: Any,
    ) -> None:
        super().__init__(default, **kwargs)
        self.embed = embed
        self.media_type = media_type


class Form(Param):
    """A field of an urlencoded or multipart form (or a whole Struct built from the form)."""

    source = "form"


class File(Form):
    """An uploaded file of a multipart form (``UploadFile``, ``bytes`` or a list of them)."""

    source = "file"


class Depends:
    """A dependency: ``dependency`` is called (with its own parameters resolved the same way)
    and its result passed in. Results are cached once per request unless ``use_cache=False``.

    A generator dependency's cleanup (the code after ``yield``) runs after the response is
    sent (``scope="request"``, the default), or as soon as the handler returns, before the
    response is sent, with ``scope="function"`` — use that when the cleanup can fail in a way
    the client must hear about, such as committing a database transaction.
    """

    def __init__(
        self,
        dependency: Callable[..., Any] | None = None,
        *,
        use_cache: bool = True,
        scope: Literal["request", "function"] = "request",
    ):
        if scope not in ("request", "function"):
            raise ValueError("Depends scope must be 'request' or 'function'")
        self.dependency = dependency
        self.use_cache = use_cache
        self.scope = scope

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__qualname__", repr(self.dependency))
        return f"Depends({name})"


class Security(Depends):
    """A dependency that is also an OpenAPI security requirement (``scopes`` optional)."""

    def __init__(
        self,
        dependency: Callable[..., Any] | None = None,
        *,
        scopes: Sequence[str] = (),
        use_cache: bool = True,
        scope: Literal["request", "function"] = "request",
    ):
        super().__init__(dependency, use_cache=use_cache, scope=scope)
        self.scopes = list(scopes)
