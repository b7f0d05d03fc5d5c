"""What ``plait run`` does once it has the app: check the port, then serve on granian or uvicorn.

Both servers get the same behaviour from the same options: one access-log line format, header
and body read timeouts, a concurrency limit, workers respawned when they die, and a reloader
that watches the app's own Python and template files and survives code that fails to import.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fnmatch
import importlib.util
import logging
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

__all__ = [
    "ACCESS_LOG_FORMAT",
    "DEFAULT_RELOAD_INCLUDES",
    "AccessFormatter",
    "ServeOptions",
    "check_port",
    "reload_dirs_for",
    "serve_granian",
    "serve_uvicorn",
]

ACCESS_LOG_FORMAT = '%(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d'
"""One access-log line per request, the same on granian and uvicorn (no query string: it may
carry tokens)."""

DEFAULT_RELOAD_INCLUDES = ("*.py", "*.html", "*.htm", "*.jinja", "*.jinja2", "*.j2")
"""What ``--reload`` watches unless told otherwise: Python and template files."""

# Files no reloader should follow, whatever the includes say.
_ALWAYS_EXCLUDED = (".*", "*~", "*.py[cod]", "*.sw?", "*.tmp")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    reload: bool = False
    workers: int | None = None
    access_log: bool = True
    respawn: bool = True
    header_timeout: float = 10.0
    limit_concurrency: int = 4096
    reuse_port: bool = False
    server_header: bool = True
    reload_dirs: tuple[Path, ...] = ()
    reload_includes: tuple[str, ...] = DEFAULT_RELOAD_INCLUDES
    reload_excludes: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------- the port


def check_port(host: str, port: int, hint: str = "") -> None:
    """Fail with one line when ``host:port`` can't be bound, as a second server on it would.

    granian binds with ``SO_REUSEPORT``, so a second granian on a busy port would share it
    silently and split the requests between two apps; this bind, without it, notices.
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"Can't serve on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # As servers do: a port whose last connections are in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(
                    f"Port {port} on {host} is already in use: stop the server there or "
                    f"choose another --port{hint}"
                ) from None
            raise click.ClickException(
                f"Can't serve on {host}:{port}: {exc.strerror or exc}"
            ) from None


def _raise_open_files_limit(wanted: int) -> None:
    """Let this process (and its workers) hold ``wanted`` connections, up to the hard limit."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource  # Unix only

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# ------------------------------------------------------------------------- reloading


def reload_dirs_for(module_name: str) -> tuple[Path, ...]:
    """The app's top-level package directory (or, for a lone module, the one it is in)."""
    top = sys.modules.get(module_name.partition(".")[0])
    locations = list(getattr(top, "__path__", ()))
    if locations:
        return tuple(Path(location).resolve() for location in locations)
    file = getattr(top, "__file__", None)
    return (Path(file).resolve().parent if file else Path.cwd(),)


def _watched(path: str, includes: Sequence[str], excludes: Sequence[str]) -> bool:
    name = os.path.basename(path)
    if any(fnmatch.fnmatch(name, pattern) for pattern in _ALWAYS_EXCLUDED):
        return False
    if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in excludes):
        return False
    return any(fnmatch.fnmatch(name, pattern) for pattern in includes)


def _granian_filter(includes: Sequence[str], excludes: Sequence[str]) -> type[Any]:
    """A watchfiles filter class (granian builds it with no arguments) for these globs."""
    from watchfiles import DefaultFilter  # optional: only plait run --reload needs it

    class PlaitReloadFilter(DefaultFilter):
        """watchfiles' defaults (no .git, .venv, __pycache__, …), then these globs."""

        def __call__(self, change: Any, path: str) -> bool:
            return bool(super().__call__(change, path)) and _watched(path, includes, excludes)

    return PlaitReloadFilter


# ------------------------------------------------------------------------- access log


class AccessFormatter(logging.Formatter):
    """uvicorn's access records in granian's line, :data:`ACCESS_LOG_FORMAT`."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if not isinstance(args, tuple) or len(args) != 5:
            return super().format(record)
        client, method, path, version, status = args
        return ACCESS_LOG_FORMAT % {
            "addr": str(client).rsplit(":", 1)[0],
            "method": method,
            "path": str(path).partition("?")[0],
            "protocol": f"HTTP/{version}",
            "status": int(status),  # type: ignore[call-overload]
        }


# ------------------------------------------------------------------------- granian


def _milliseconds(seconds: float) -> int:
    """granian's header timeout: at least 1 ms, and ``0`` (none) a day."""
    return max(1, round(seconds * 1000)) if seconds else 86_400_000


def serve_granian(import_string: str, interface: str, options: ServeOptions) -> None:
    try:  # granian is optional (the server extra): imported when it serves
        from granian import Granian
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
    except ImportError:
        raise click.ClickException(
            "--server granian needs granian: pip install 'plait[granian]'"
        ) from None

    _raise_open_files_limit(options.limit_concurrency * (options.workers or 1) + 256)
    extra: dict[str, Any] = {}
    if options.reload:
        # granian forks its workers by default, and a forked worker inherits the app module
        # this process imported: a reload would serve the old code. Spawned ones import anew.
        import multiprocessing

        multiprocessing.set_start_method("spawn", force=True)
        extra.update(
            reload_paths=list(options.reload_dirs),
            reload_filter=_granian_filter(options.reload_includes, options.reload_excludes),
            # Code that fails to import: say so, and wait for the next change.
            reload_ignore_worker_failure=True,
        )
    else:
        extra["respawn_failed_workers"] = options.respawn
    workers = options.workers or 1
    Granian(
        import_string,
        address=options.host,
        port=options.port,
        interface=Interfaces(interface),
        workers=workers,
        reload=options.reload,
        backlog=max(1024, options.limit_concurrency),
        backpressure=options.limit_concurrency,
        http1_settings=HTTP1Settings(header_read_timeout=_milliseconds(options.header_timeout)),
        log_access=options.access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        **extra,
    ).serve()


# ------------------------------------------------------------------------- uvicorn


def _uvicorn_log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG  # uvicorn is optional

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"] = {"()": f"{__name__}.AccessFormatter"}
    return config


def serve_uvicorn(import_string: str, options: ServeOptions) -> None:
    import uvicorn  # optional: plait run --server uvicorn

    _raise_open_files_limit(options.limit_concurrency + 256)
    extra: dict[str, Any] = {}
    if options.reload:
        extra.update(
            reload_dirs=[str(path) for path in options.reload_dirs],
            reload_includes=list(options.reload_includes),
            reload_excludes=[*_ALWAYS_EXCLUDED, *options.reload_excludes],
        )
    if options.header_timeout and importlib.util.find_spec("httptools") is not None:
        # By import string: reload and worker processes import it anew, with this setting.
        os.environ["PLAIT_HEADER_TIMEOUT"] = str(options.header_timeout)
        extra["http"] = "plait._uvicorn:HeaderTimeoutProtocol"
    # An import string, not the object: reload and workers re-import the app in child
    # processes (which inherit sys.path, where load_app put the app's directory).
    uvicorn.run(
        import_string,
        host=options.host,
        port=options.port,
        reload=options.reload,
        workers=options.workers,
        access_log=options.access_log,
        log_config=_uvicorn_log_config(),
        limit_concurrency=options.limit_concurrency,
        server_header=options.server_header,
        **extra,
    )
    sys.stdout.flush()
