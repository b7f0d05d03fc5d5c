"""The public surface, frozen (like httpx's ``test_exported_members``).

If one of these tests fails because you added a name on purpose, add it to the set below in the
same change: growing the public API must be a deliberate decision, reviewed as such. Removing or
renaming a name breaks users' imports.
"""

from __future__ import annotations

import importlib
import types

import pytest

import plait
import plait.testing

# New names must be added here deliberately (see the module docstring).
PLAIT_API = {
    "App",
    "BackgroundTask",
    "BackgroundTasks",
    "BackingService",
    "Body",
    "ClientDisconnect",
    "Convertor",
    "Cookie",
    "Depends",
    "EventSourceResponse",
    "File",
    "FileResponse",
    "Form",
    "FormData",
    "FormLimits",
    "HTMLResponse",
    "HTTPConnection",
    "HTTPException",
    "Header",
    "Headers",
    "JSONResponse",
    "Param",
    "Path",
    "PlainTextResponse",
    "Query",
    "QueryParams",
    "RedirectResponse",
    "Request",
    "Response",
    "Router",
    "Security",
    "ServerSentEvent",
    "ServiceUnavailable",
    "Settings",
    "SettingsError",
    "State",
    "StaticFiles",
    "StreamingResponse",
    "URL",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "__version__",
    "register_convertor",
}

TESTING_API = {"AsyncTestClient", "TestClient", "WebSocketDenied", "WebSocketTestSession"}

CHECKS_API = {
    "ENTRY_POINT_GROUP",
    "Check",
    "CheckFunction",
    "Finding",
    "Level",
    "https_only",
    "middleware_options",
    "register",
    "run_checks",
}

# The core's private modules: each declares what it exports.
CORE_MODULES = [
    "plait._app",
    "plait._bodytimeout",
    "plait._collected",
    "plait._background",
    "plait._concurrency",
    "plait._convertors",
    "plait._datastructures",
    "plait._debug",
    "plait._errorhandling",
    "plait._exceptions",
    "plait._formparser",
    "plait._loading",
    "plait._matcher",
    "plait._outages",
    "plait._pipeline",
    "plait._results",
    "plait._request",
    "plait._responses",
    "plait._routing",
    "plait.types",
    "plait.testing",
    "plait.checks",
    "plait._deploychecks",
    "plait._checkcli",
]


def test_plait_exports_exactly_the_frozen_names() -> None:
    exported = set(plait.__all__)
    assert exported - PLAIT_API == set(), "new public names: add them to PLAIT_API on purpose"
    assert PLAIT_API - exported == set(), "public names removed: that breaks users' imports"
    assert len(plait.__all__) == len(exported), "a name is listed twice in plait.__all__"


def test_testing_exports_exactly_the_frozen_names() -> None:
    assert set(plait.testing.__all__) == TESTING_API


def test_checks_exports_exactly_the_frozen_names() -> None:
    import plait.checks

    assert set(plait.checks.__all__) == CHECKS_API


def test_nothing_public_escapes_all() -> None:
    public = {
        name
        for name, value in vars(plait).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(plait.__all__), f"exported but not in __all__: {public - PLAIT_API}"


@pytest.mark.parametrize("name", sorted(PLAIT_API))
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(plait, name) is not None


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from plait import *", namespace)
    assert set(namespace) - {"__builtins__"} == PLAIT_API


def test_version_is_a_string() -> None:
    assert isinstance(plait.__version__, str)
    assert plait.__version__.count(".") >= 1


@pytest.mark.parametrize("module_name", CORE_MODULES)
def test_core_modules_declare_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    missing = [name for name in names if not hasattr(module, name)]
    assert missing == [], f"{module_name}.__all__ lists undefined names: {missing}"
