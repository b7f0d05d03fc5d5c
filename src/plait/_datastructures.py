"""Small containers shared by requests, responses and forms: headers, query params, URLs, state."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, TypeVar, overload
from urllib.parse import SplitResult, unquote, urlencode, urlsplit

__all__ = [
    "URL",
    "FormData",
    "Headers",
    "MultiDict",
    "MutableHeaders",
    "QueryParams",
    "State",
    "UploadFile",
    "WatchedDict",
    "header_separator",
    "query_dict",
]


T = TypeVar("T")


class MultiDict(Mapping[str, str]):
    """An immutable mapping that keeps every value of a repeated key.

    ``d[key]`` gives the last value (as Flask and Starlette do), ``d.getlist(key)`` all of them.
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        self._list: list[tuple[str, str]] = pairs
        self._dict: dict[str, str] = dict(pairs)

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    # PERF: Mapping.get goes through __getitem__ and catches KeyError for a missing key.
    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: T) -> str | T: ...
    def get(self, key: str, default: Any = None) -> Any:
        return self._dict.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._list)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MultiDict):
            return sorted(self._list) == sorted(other._list)
        return isinstance(other, Mapping) and self._dict == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._list!r})"


class QueryParams(MultiDict):
    """Parsed query string. Built from the raw bytes with a hand-rolled fast parser."""

    __slots__ = ()

    def __init__(
        self, query: bytes | str | Iterable[tuple[str, str]] | Mapping[str, str] = b""
    ) -> None:
        # PERF: the per-request path (raw bytes from the scope) is one exact type check, and
        # skips MultiDict's Mapping check and copy: the parsed list is already ours.
        if type(query) is bytes:
            pairs = parse_qsl(query.decode("latin-1"))
        elif isinstance(query, bytes | str):
            pairs = parse_qsl(query if isinstance(query, str) else query.decode("latin-1"))
        else:
            super().__init__(query)
            return
        self._list = pairs
        self._dict = dict(pairs)

    def __str__(self) -> str:
        return urlencode(self._list)


def _unquote(value: str) -> str:
    if "+" in value:
        value = value.replace("+", " ")
    if "%" in value:
        return unquote(value, errors="replace")
    return value


def parse_qsl(qs: str) -> list[tuple[str, str]]:
    """Parse ``a=1&b=2`` into pairs, keeping blank values.

    # PERF: ``urllib.parse.parse_qsl`` is several times slower on the common case of a few
    plain ASCII pairs; this only unquotes when a ``%`` or ``+`` is present.
    """
    pairs: list[tuple[str, str]] = []
    if not qs:
        return pairs
    if "%" not in qs and "+" not in qs:
        # PERF: nothing to unquote: a plain loop, no comprehension frame, no tuple slicing.
        for part in qs.split("&"):
            if part:
                key, _, value = part.partition("=")
                pairs.append((key, value))
        return pairs
    for part in qs.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((_unquote(key), _unquote(value)))
    return pairs


def header_separator(name: str) -> str:
    """How repeated headers fold into one value (RFC 9110 §5.3): ", ", except Cookie's
    pairs, which are joined with "; "."""
    return "; " if name == "cookie" else ", "


def query_dict(scope: Any) -> dict[str, str]:
    """The query string of an HTTP ``scope`` as a plain dict (a repeated key keeps its last
    value, as ``QueryParams`` lookups do)."""
    raw = scope.get("query_string")
    if not raw:
        return {}
    qs = raw.decode("latin-1")
    if "%" in qs or "+" in qs:
        return dict(parse_qsl(qs))
    # PERF: nothing to unquote: a plain loop is twice as fast as dict() over pairs.
    values = {}
    for part in qs.split("&"):
        if part:
            key, _, value = part.partition("=")
            values[key] = value
    return values


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only view over raw ASGI headers (``list[tuple[bytes, bytes]]``).

    Lookups decode lazily: the raw list is kept, and a dict is only built on first use.
    """

    __slots__ = ("_dict", "raw")

    def __init__(
        self,
        raw: list[tuple[bytes, bytes]] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if headers is not None:
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.raw: list[tuple[bytes, bytes]] = raw if raw is not None else []
        self._dict: dict[str, str] | None = None

    def _lookup(self) -> dict[str, str]:
        d = self._dict
        if d is None:
            d = {}
            for k, v in self.raw:
                key = k.decode("latin-1").lower()
                value = v.decode("latin-1")
                if key in d:
                    d[key] = f"{d[key]}{header_separator(key)}{value}"
                else:
                    d[key] = value
            self._dict = d
        return d

    def __getitem__(self, key: str) -> str:
        return self._lookup()[key.lower()]

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    @overload
    def get(self, key: str, default: T) -> str | T: ...
    def get(self, key: str, default: Any = None) -> Any:
        return self._lookup().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self._lookup())

    def __len__(self) -> int:
        return len(self._lookup())

    def getlist(self, key: str) -> list[str]:
        name = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k.lower() == name]

    def __repr__(self) -> str:
        return f"Headers({self._lookup()!r})"


class MutableHeaders(Headers):
    """Headers that write through to the raw list they wrap (a response's or a message's)."""

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        """Set a header, replacing every previous value of it."""
        name = key.lower().encode("latin-1")
        self.raw[:] = [(k, v) for k, v in self.raw if k != name]
        self.raw.append((name, value.encode("latin-1")))
        self._dict = None

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        self.raw[:] = [(k, v) for k, v in self.raw if k != name]
        self._dict = None

    def append(self, key: str, value: str) -> None:
        """Add a header, keeping earlier values of it (``Set-Cookie``, ``Vary``…)."""
        self.raw.append((key.lower().encode("latin-1"), value.encode("latin-1")))
        self._dict = None

    def setdefault(self, key: str, value: str) -> str:
        current: str | None = self.get(key)
        if current is None:
            self.append(key, value)
            return value
        return current


class URL:
    """A parsed URL; components are computed once from the string."""

    __slots__ = ("_parts", "_url")

    def __init__(self, url: str) -> None:
        self._url = url
        self._parts: SplitResult | None = None

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> URL:
        scheme = scope.get("scheme", "http")
        server = scope.get("server")
        # The ASGI path already includes root_path (mounts and proxies only set root_path).
        path = scope["path"]
        query = scope.get("query_string", b"")
        host = None
        for key, value in scope.get("headers", ()):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if host is None:
            if server:
                host_name, port = server[0], server[1]
                default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme)
                host = host_name if port == default or port is None else f"{host_name}:{port}"
            else:
                host = "localhost"
        url = f"{scheme}://{host}{path}"
        if query:
            url += "?" + query.decode("latin-1")
        return cls(url)

    @property
    def parts(self) -> SplitResult:
        if self._parts is None:
            self._parts = urlsplit(self._url)
        return self._parts

    @property
    def scheme(self) -> str:
        return self.parts.scheme

    @property
    def netloc(self) -> str:
        return self.parts.netloc

    @property
    def hostname(self) -> str | None:
        return self.parts.hostname

    @property
    def port(self) -> int | None:
        return self.parts.port

    @property
    def path(self) -> str:
        return self.parts.path

    @property
    def query(self) -> str:
        return self.parts.query

    def replace(self, **kwargs: Any) -> URL:
        return URL(self.parts._replace(**kwargs).geturl())

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"URL({self._url!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self._url)


class State:
    """Attribute bag for ``app.state`` and ``request.state``."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        super().__setattr__("_state", state if state is not None else {})

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        # Through __dict__: copy and pickle probe attributes before "_state" exists.
        try:
            return self.__dict__["_state"][key]
        except KeyError:
            raise AttributeError(f"'State' object has no attribute {key!r}") from None

    def __delattr__(self, key: str) -> None:
        try:
            del self._state[key]
        except KeyError:
            raise AttributeError(f"'State' object has no attribute {key!r}") from None


class UploadFile:
    """An uploaded file, kept in memory and spooled to disk past ``max_memory`` bytes."""

    def __init__(
        self,
        filename: str | None,
        *,
        content_type: str = "application/octet-stream",
        headers: Headers | None = None,
        max_memory: int = 1024 * 1024,
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = headers if headers is not None else Headers()
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=max_memory)  # noqa: SIM115
        self.size = 0

    @property
    def in_memory(self) -> bool:
        return not getattr(self.file, "_rolled", False)

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    async def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)

    async def close(self) -> None:
        self.file.close()

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, size={self.size})"


class FormData(Mapping[str, "str | UploadFile"]):
    """Parsed form fields and files; repeated keys are kept (``getlist``)."""

    __slots__ = ("_dict", "_list")

    def __init__(self, items: Iterable[tuple[str, str | UploadFile]] = ()) -> None:
        self._list = list(items)
        self._dict = dict(self._list)

    def __getitem__(self, key: str) -> str | UploadFile:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def getlist(self, key: str) -> list[str | UploadFile]:
        return [v for k, v in self._list if k == key]

    def multi_items(self) -> list[tuple[str, str | UploadFile]]:
        return list(self._list)

    async def close(self) -> None:
        for _, value in self._list:
            if isinstance(value, UploadFile):
                await value.close()


class WatchedDict(dict[Any, Any]):
    """A dict that calls ``on_change()`` after every change (``app.dependency_overrides``:
    changing it makes the app compile its routes again)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__()
        self._on_change = on_change

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._on_change()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._on_change()

    def clear(self) -> None:
        super().clear()
        self._on_change()

    def pop(self, key: Any, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._on_change()
        return value

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._on_change()
