"""Options that several ``plait`` commands share.

A module of its own: :mod:`plait.cli` imports the commands (``plait openapi``), so they
cannot import their options from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["app_dir_option"]

F = TypeVar("F", bound=Callable[..., Any])


def app_dir_option(func: F) -> F:
    """``--app-dir``: the directory put first on ``sys.path`` to import APP from."""
    return click.option(
        "--app-dir",
        default=".",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Directory put first on sys.path to import APP from.",
    )(func)
