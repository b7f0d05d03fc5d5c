"""Typed settings read from ``PLAIT_*`` environment variables and a ``.env`` file.

Settings are a msgspec Struct: fields are typed, defaults live in the class, and a subclass
adds an app's own settings. :meth:`Settings.load` reads every field from the environment (then
the ``.env`` file, then the class default), converts the strings to the field types, and
reports every bad or missing value at once, before the app serves anything.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, Union, get_args, get_origin

import msgspec

__all__ = [
    "BODY_TIMEOUT_ENV",
    "DEBUG_ENV",
    "SERVER_HEADER_ENV",
    "Settings",
    "SettingsError",
    "default_database_url",
    "env_flag",
    "env_seconds",
    "read_env_file",
]

logger = logging.getLogger("plait.settings")

_MIN_SECRET_KEY_LENGTH = 32
_MIN_SECRET_KEY_CHARACTERS = 5  # as Django's check: "a" * 50 is no key
# Keys copied from documentation and templates rather than generated.
_PLACEHOLDER_KEY = re.compile(
    r"change.?me|replace.?me|your.?secret|secret.?here|insecure|placeholder|not.?secret|"
    r"example.?key|dummy|x{8}",
    re.IGNORECASE,
)
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_SECRET = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_BOOLEANS = {
    **dict.fromkeys(("1", "true", "yes", "on", "y", "t"), True),
    **dict.fromkeys(("0", "false", "no", "off", "n", "f"), False),
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}

DEBUG_ENV = "PLAIT_DEBUG"
"""``App()`` without ``debug=`` reads it (``plait run --debug`` sets it), as ``Settings`` does."""
SERVER_HEADER_ENV = "PLAIT_SERVER_HEADER"
"""The ``SERVER_HEADER`` setting's variable (``plait run --no-server-header`` sets it)."""
BODY_TIMEOUT_ENV = "PLAIT_BODY_TIMEOUT"
"""``App()`` without ``body_timeout=`` reads it (``plait run --body-timeout`` sets it)."""


def env_flag(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a true value (``1``, ``true``, …)."""
    raw = os.environ.get(name, "").strip().lower()
    value = _BOOLEANS.get(raw)
    if value is None and raw:
        raise SettingsError([f"{name}={raw!r} (from the environment): expected 1/0, true/false"])
    return bool(value)


def env_seconds(name: str, default: float) -> float:
    """The environment variable ``name`` as a number of seconds (``default`` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise SettingsError([f"{name}={raw!r} (from the environment): expected seconds >= 0"])
    return seconds


class SettingsError(ValueError):
    """Settings that are missing or malformed; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"Invalid settings ({len(problems)} problem(s)):\n{lines}")


def default_database_url(directory: str | os.PathLike[str] | None = None) -> str:
    """``sqlite+aiosqlite:///./<project>.sqlite3``: a SQLite file named after the project's
    directory (the current one unless given), in that directory."""
    base = Path(directory) if directory is not None else Path.cwd()
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", base.resolve().name).strip("_") or "plait"
    if directory is None:
        return f"sqlite+aiosqlite:///./{name}.sqlite3"
    return f"sqlite+aiosqlite:///{base / (name + '.sqlite3')}"


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        if raw[0] == "'":
            return inner
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), inner)
    # An unquoted value ends at a `` #`` comment.
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=value`` lines, optional ``export``, quotes, ``#`` comments.

    A missing file reads as empty. Double-quoted values understand ``\\n``-style escapes;
    single-quoted values are taken literally.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise SettingsError([f"{path}, line {number}: expected KEY=value, got {stripped!r}"])
        values[match.group(1)] = _unquote(match.group(2))
    return values


def _allows_none(tp: Any) -> bool:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _allows_none(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return type(None) in get_args(tp)
    return tp is None or tp is type(None) or tp is Any


def _base_kind(tp: Any) -> Any:
    """The container kind of a field type (list, dict, Struct…), through Annotated/Optional."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _base_kind(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        kinds = [_base_kind(a) for a in get_args(tp) if a is not type(None)]
        return kinds[0] if len(kinds) == 1 else None
    if origin is not None:
        return origin
    return tp


def _parse(raw: str, tp: Any) -> Any:
    """An environment string as the JSON-ish value msgspec converts to ``tp``."""
    if raw == "" and _allows_none(tp):
        return None
    kind = _base_kind(tp)
    if kind is bool:
        return _BOOLEANS.get(raw.strip().lower(), raw)
    structured = kind in (list, set, frozenset, tuple, dict) or (
        isinstance(kind, type) and issubclass(kind, msgspec.Struct)
    )
    if not structured:
        return raw
    if raw.lstrip().startswith(("[", "{")):
        return msgspec.json.decode(raw)
    # ``a, b, c`` is a list of three strings.
    return [part.strip() for part in raw.split(",") if part.strip()]


class Settings(msgspec.Struct, kw_only=True):
    """Typed settings, loaded from ``PLAIT_<NAME>`` environment variables and ``.env``::

        from plait import Settings

        class AppSettings(Settings):
            STRIPE_KEY: str                 # required: start-up fails if it is not set
            PAGE_SIZE: int = 20

        settings = AppSettings.load()       # reads PLAIT_STRIPE_KEY, PLAIT_PAGE_SIZE, PLAIT_DEBUG…

    Environment variables win over the ``.env`` file, which wins over the defaults.
    Strings are converted to the field types (``"1"``/``"true"`` for booleans, JSON or
    ``a,b,c`` for lists). Every problem is reported at once as a :class:`SettingsError`.

    Without ``SECRET_KEY``, a random key is generated when ``DEBUG`` is on (with a warning:
    sessions signed with it end at each restart); when ``DEBUG`` is off, loading fails, so a
    production server never signs with a key nobody chose. Apps that sign nothing can set
    ``secret_key_required = False`` on their subclass.
    """

    DEBUG: bool = False
    """Development mode: detailed error pages, a generated ``SECRET_KEY`` allowed."""
    SECRET_KEY: str | None = None
    """The key for signing sessions, cookies and tokens (at least 32 characters in production)."""
    DATABASE_URL: str = msgspec.field(default_factory=default_database_url)
    """SQLAlchemy URL; default a SQLite file named after the project, in the current directory."""
    ALLOWED_HOSTS: list[str] = msgspec.field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]", "testserver"]
    )
    """Host names the app answers to: a request for any other is a 400 (``App`` reads it
    at start-up; ``App(allowed_hosts=...)`` wins). Empty with DEBUG off: start-up fails."""
    API_DOCS: bool = True
    """Serve the OpenAPI document and its interactive pages (``/openapi.json``, ``/docs``,
    ``/redoc``); ``PLAIT_API_DOCS=0`` turns all three off, e.g. in production."""
    SERVER_HEADER: bool = True
    """Whether responses may name the server software (``server: granian``/``uvicorn``).
    ``PLAIT_SERVER_HEADER=0``: every response carries an empty ``Server`` header instead, on
    any server (granian 2.8 has no option to drop its own but keeps the one a response sets;
    ``plait run`` also turns uvicorn's off)."""
    REDIS_URL: str | None = None
    """Redis server: when set, sessions, the cache, rate limits and channels keep their state
    there (shared by every process and machine) instead of in this process."""
    TRUSTED_PROXIES: list[str] = msgspec.field(default_factory=list)
    """Proxy addresses or networks whose ``X-Forwarded-For``/``-Proto`` are believed; the
    app reads it at start-up unless ``App(trusted_proxies=...)`` says otherwise. None by
    default."""
    STATIC_ROOT: str = "staticfiles"
    """The folder ``plait collectstatic`` fills; with DEBUG off, static mounts serve their
    collected files from it (content-hashed names, immutable caching) when it has them."""
    SILENCED_CHECKS: list[str] = msgspec.field(default_factory=list)
    """IDs of ``plait check`` findings to leave out (``deploy.W005,deploy.W006``): a finding
    you have dealt with another way, as Django's ``SILENCED_SYSTEM_CHECKS``."""

    env_prefix: ClassVar[str] = "PLAIT_"
    """The prefix of the environment variables (``PLAIT_DEBUG`` sets ``DEBUG``)."""
    secret_key_required: ClassVar[bool] = True
    """Whether loading fails without ``SECRET_KEY`` when ``DEBUG`` is off."""

    @classmethod
    def load(
        cls,
        *,
        env_file: str | os.PathLike[str] | None = ".env",
        environ: Mapping[str, str] | None = None,
        check: bool = True,
        **overrides: Any,
    ) -> Self:
        """Read, convert and check the settings; raise :class:`SettingsError` listing problems.

        ``environ`` replaces ``os.environ`` (for tests); ``env_file=None`` skips the ``.env``
        file; ``overrides`` set fields directly (already typed). ``check=False`` skips the
        production checks of :meth:`check` and leaves a missing ``SECRET_KEY`` as ``None``
        (for tools that only read another setting, such as ``DATABASE_URL``).
        """
        env = dict(os.environ if environ is None else environ)
        from_file = read_env_file(env_file) if env_file is not None else {}
        fields = {f.name: f for f in msgspec.structs.fields(cls)}
        unknown = sorted(set(overrides) - set(fields))
        if unknown:
            raise TypeError(f"{cls.__name__} has no settings named {', '.join(unknown)}")
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, field in fields.items():
            if name in overrides:
                values[name] = overrides[name]
                continue
            key = cls.env_prefix + name
            if key in env:
                raw, origin = env[key], "environment"
            elif key in from_file:
                raw, origin = from_file[key], str(env_file)
            else:
                if field.required:
                    problems.append(f"{key} is required: set it in the environment or in .env")
                continue
            try:
                values[name] = msgspec.convert(_parse(raw, field.type), field.type, strict=False)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                problems.append(f"{key}={raw!r} (from the {origin}): {exc}")
        if problems:
            raise SettingsError(problems)
        try:
            settings = cls(**values)
        except (TypeError, ValueError, msgspec.ValidationError) as exc:
            raise SettingsError([str(exc)]) from None
        if check and settings.SECRET_KEY is None and settings.DEBUG:
            logger.warning(
                "SECRET_KEY is not set: using a random key for this run (DEBUG is on). "
                "Sessions and signed values will not survive a restart."
            )
            settings = msgspec.structs.replace(settings, SECRET_KEY=secrets.token_urlsafe(48))
        if check:
            problems = settings.check()
            if problems:
                raise SettingsError(problems)
        return settings

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks: never print secrets or URL passwords.
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is not None and _SECRET.search(name):
                shown = "'***'"
            elif isinstance(value, str):
                shown = repr(_URL_PASSWORD.sub(r"\1***@", value))
            else:
                shown = repr(value)
            parts.append(f"{name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def check(self) -> list[str]:
        """Production checks run by :meth:`load`; a subclass may add its own and call super."""
        problems: list[str] = []
        if self.DEBUG or not self.secret_key_required:
            return problems
        hint = (
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
            f"and set {self.env_prefix}SECRET_KEY in the environment or .env "
            f"(or set {self.env_prefix}DEBUG=1 in development)"
        )
        if self.SECRET_KEY is None:
            problems.append(f"{self.env_prefix}SECRET_KEY is not set and DEBUG is off: {hint}")
        elif (weakness := _secret_key_weakness(self.SECRET_KEY)) is not None:
            problems.append(f"{self.env_prefix}SECRET_KEY {weakness}: {hint}")
        return problems

    @staticmethod
    def check_secret_key(key: str, *, name: str = "SECRET_KEY") -> None:
        """Refuse a key nobody should sign with: shorter than 32 characters, fewer than 5
        different characters, or a placeholder copied from documentation
        (``"change-me…"``). Every battery that takes a key calls it::

            Settings.check_secret_key(secret_key, name="secret_key")
        """
        weakness = _secret_key_weakness(key)
        if weakness is not None:
            raise SettingsError(
                [
                    f"{name} {weakness}: generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                ]
            )


def _secret_key_weakness(key: str) -> str | None:
    if len(key) < _MIN_SECRET_KEY_LENGTH:
        return f"is too short ({len(key)} characters; use at least {_MIN_SECRET_KEY_LENGTH})"
    if len(set(key)) < _MIN_SECRET_KEY_CHARACTERS:
        return f"has fewer than {_MIN_SECRET_KEY_CHARACTERS} different characters"
    if _PLACEHOLDER_KEY.search(key):
        return "is a placeholder from documentation, not a secret"
    return None
