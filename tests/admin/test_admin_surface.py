"""The admin's public surface is deliberate, documented, and needs its extras."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import textwrap

import plait.admin

PUBLIC = [
    "Action",
    "Admin",
    "GroupAdmin",
    "LogEntry",
    "ModelAdmin",
    "Permission",
    "StackedInline",
    "TabularInline",
    "UserAdmin",
    "action",
]


def test_public_names() -> None:
    assert plait.admin.__all__ == PUBLIC
    for name in ("Admin", "ModelAdmin"):
        obj = getattr(plait.admin, name)
        assert obj.__doc__
        assert "::" in obj.__doc__  # with an example
    assert plait.admin.Admin.register.__doc__


def test_every_module_declares_all() -> None:
    for info in pkgutil.iter_modules(plait.admin.__path__):
        module = importlib.import_module(f"plait.admin.{info.name}")
        assert info.name.startswith("_"), info.name
        assert isinstance(module.__all__, list), info.name
        for name in module.__all__:
            assert hasattr(module, name), f"{info.name}.{name}"


def test_missing_jinja2_names_the_extra() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["jinja2"] = None  # as if it were not installed
        try:
            import plait.admin
        except ImportError as exc:
            from plait._optional import MissingDependencyError
            assert isinstance(exc, MissingDependencyError)
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "plait.admin needs the 'jinja2' package: pip install 'plait[templates]'" in result.stdout


def test_templates_and_stylesheet_ship_in_the_package() -> None:
    from importlib import resources

    root = resources.files("plait.admin")
    for name in (
        "base",
        "base_site",
        "index",
        "change_list",
        "change_form",
        "delete_confirmation",
        "error",
    ):
        assert (root / "templates" / "admin" / f"{name}.html").is_file(), name
    assert (root / "static" / "admin.css").is_file()
