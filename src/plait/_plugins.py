"""Entry points of the batteries an app uses: how ``plait check`` and ``plait shell`` get
the batteries' contributions without the core importing a battery.

A battery's entry point (``db = "plait.db._checks:CHECKS"``) is loaded only when the package
holding its module (``plait.db``) was imported already, by the app: a battery the app does
not use has nothing to contribute, and is not imported for nothing.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from typing import Any

__all__ = ["battery_entry_points"]


def battery_entry_points(group: str) -> list[Any]:
    """The objects of ``group``'s entry points whose battery is imported, sorted by name
    (one whose extra is missing is skipped)."""
    loaded = []
    for entry_point in sorted(entry_points(group=group), key=lambda ep: ep.name):
        package = entry_point.module.rpartition(".")[0] or entry_point.module
        if package not in sys.modules:
            continue
        try:
            loaded.append(entry_point.load())
        except ImportError:
            continue
    return loaded
