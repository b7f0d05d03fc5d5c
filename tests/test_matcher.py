"""The compiled router: static dict, segment tree, priorities, 404 vs 405, conflicts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from plait import App, Convertor, Request, register_convertor
from plait._matcher import WEBSOCKET, Matcher, RouteConflictError
from plait._routing import parse_path
from plait.testing import TestClient


def _matcher(*routes: tuple[str, str, str]) -> Matcher[str]:
    matcher: Matcher[str] = Matcher()
    for path, method, handler in routes:
        matcher.add(parse_path(path)[0], method, handler, handler)
    return matcher


def _hit(matcher: Matcher[str], path: str, method: str = "GET") -> tuple[str | None, list[Any]]:
    leaf, values = matcher.match(path, method)
    if leaf is None:
        return None, values
    return leaf.handlers.get(method), values


# ------------------------------------------------------------------ unit level


def test_static_paths_live_in_the_dict_not_the_tree() -> None:
    matcher = _matcher(("/a/b", "GET", "ab"), ("/", "GET", "root"))
    assert set(matcher.static) == {"/a/b", "/"}
    assert not matcher._root.static
    assert _hit(matcher, "/a/b") == ("ab", [])
    assert _hit(matcher, "/") == ("root", [])
    assert _hit(matcher, "/a") == (None, [])


def test_parameter_values_come_back_converted_and_in_order() -> None:
    matcher = _matcher(("/u/{uid:int}/p/{slug}/f/{rest:path}", "GET", "deep"))
    assert _hit(matcher, "/u/4/p/hello/f/a/b/c.txt") == ("deep", [4, "hello", "a/b/c.txt"])
    leaf, values = matcher.match("/u/4/p/hello/f/x", "GET")
    assert leaf is not None
    assert leaf.params("GET", values) == {"uid": 4, "slug": "hello", "rest": "x"}


def test_static_beats_parameter_and_int_beats_str() -> None:
    matcher = _matcher(
        ("/users/me", "GET", "me"),
        ("/users/{name}", "GET", "by_name"),
        ("/users/{uid:int}", "GET", "by_id"),
    )
    assert _hit(matcher, "/users/me") == ("me", [])
    assert _hit(matcher, "/users/42") == ("by_id", [42])
    assert _hit(matcher, "/users/bob") == ("by_name", ["bob"])


def test_convertor_priority_is_independent_of_registration_order() -> None:
    matcher = _matcher(
        ("/v/{s}", "GET", "str"),
        ("/v/{f:float}", "GET", "float"),
        ("/v/{u:uuid}", "GET", "uuid"),
        ("/v/{i:int}", "GET", "int"),
    )
    some = uuid.uuid4()
    assert _hit(matcher, "/v/1") == ("int", [1])
    assert _hit(matcher, "/v/1.5") == ("float", [1.5])
    assert _hit(matcher, f"/v/{some}") == ("uuid", [some])
    assert _hit(matcher, "/v/x") == ("str", ["x"])


def test_tree_backtracks_from_a_static_branch_that_fails_deeper() -> None:
    matcher = _matcher(
        ("/a/{x}/c", "GET", "param-c"),
        ("/a/b/{y:int}", "GET", "static-b"),
    )
    assert _hit(matcher, "/a/b/3") == ("static-b", [3])
    assert _hit(matcher, "/a/b/c") == ("param-c", ["b"])


def test_static_path_falls_through_to_the_tree_for_another_method() -> None:
    matcher = _matcher(("/items/new", "POST", "create"), ("/items/{name}", "GET", "read"))
    assert _hit(matcher, "/items/new", "GET") == ("read", ["new"])
    assert _hit(matcher, "/items/new", "POST") == ("create", [])


def test_method_decides_between_candidate_leaves() -> None:
    matcher = _matcher(("/x/{i:int}", "GET", "int-get"), ("/x/{s}", "POST", "str-post"))
    # "5" converts as an int, but only the str branch has POST.
    assert _hit(matcher, "/x/5", "POST") == ("str-post", ["5"])


def test_a_leaf_without_the_method_is_a_405_candidate() -> None:
    matcher = _matcher(("/only-get", "GET", "a"), ("/p/{x}", "GET", "b"), ("/p/{x}", "PUT", "c"))
    leaf, _ = matcher.match("/only-get", "POST")
    assert leaf is not None
    assert "POST" not in leaf.handlers
    assert leaf.allow == "GET"
    leaf, values = matcher.match("/p/1", "DELETE")
    assert leaf is not None
    assert leaf.allow == "GET, PUT"
    assert values == ["1"]


def test_no_candidate_at_all_is_a_miss() -> None:
    matcher = _matcher(("/p/{x:int}", "GET", "a"), ("/files/{f:path}", "GET", "f"))
    assert matcher.match("/p/nope", "GET") == (None, [])
    assert matcher.match("/p/1/2", "GET") == (None, [])
    assert matcher.match("/nothing", "GET") == (None, [])
    assert matcher.match("/files", "GET") == (None, [])


def test_path_convertor_takes_the_rest_including_empty() -> None:
    matcher = _matcher(("/files/{f:path}", "GET", "f"))
    assert _hit(matcher, "/files/a/b/") == ("f", ["a/b/"])
    assert _hit(matcher, "/files/") == ("f", [""])


def test_same_pattern_different_methods_keep_their_own_param_names() -> None:
    matcher = _matcher(("/items/{a}", "GET", "get"), ("/items/{b}", "PUT", "put"))
    leaf, values = matcher.match("/items/7", "PUT")
    assert leaf is not None
    assert leaf.params("PUT", values) == {"b": "7"}
    assert leaf.params("GET", values) == {"a": "7"}


def test_websocket_entries_share_leaves_but_not_allow() -> None:
    matcher = _matcher(("/live", "GET", "page"), ("/live", WEBSOCKET, "socket"))
    leaf, _ = matcher.match("/live", WEBSOCKET)
    assert leaf is not None
    assert leaf.handlers[WEBSOCKET] == "socket"
    assert leaf.allow == "GET"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/same", "/same"),
        ("/items/{a}", "/items/{b}"),
        ("/items/{a:int}/x", "/items/{b:int}/x"),
        ("/files/{a:path}", "/files/{b:path}"),
    ],
)
def test_two_routes_on_one_pattern_and_method_conflict(first: str, second: str) -> None:
    matcher = _matcher((first, "GET", "one"))
    with pytest.raises(
        RouteConflictError, match="Conflicting routes: two and 'one' both handle GET"
    ):
        matcher.add(parse_path(second)[0], "GET", "two", "two")


def test_different_convertors_at_one_position_do_not_conflict() -> None:
    _matcher(("/items/{a:int}", "GET", "one"), ("/items/{b}", "GET", "two"))


class _Everything(Convertor):
    matches_rest = True

    def convert(self, value: str) -> str:
        return value


def test_two_catch_all_convertors_at_one_position_conflict(restore_convertors: None) -> None:
    register_convertor("everything", _Everything())
    matcher = _matcher(("/files/{a:path}", "GET", "one"))
    with pytest.raises(RouteConflictError, match="catch-all"):
        matcher.add(parse_path("/files/{b:everything}")[0], "POST", "two", "two")


def test_catch_all_that_refuses_the_rest_is_a_miss(restore_convertors: None) -> None:
    class NoDots(Convertor):
        matches_rest = True

        def convert(self, value: str) -> str:
            if "." in value:
                raise ValueError("no dots")
            return value

    register_convertor("nodots", NoDots())
    matcher = _matcher(("/f/{p:nodots}", "GET", "f"))
    assert _hit(matcher, "/f/a/b") == ("f", ["a/b"])
    assert matcher.match("/f/a/b.txt", "GET") == (None, [])


# ------------------------------------------------------------------ through the app


def test_conflicting_routes_fail_at_start_up() -> None:
    app = App()

    @app.get("/items/{item_id}")
    def first(item_id: str) -> str:
        return item_id

    @app.get("/items/{name}")
    def second(name: str) -> str:
        return name

    with pytest.raises(RuntimeError, match="Conflicting routes"), TestClient(app):
        pass


def test_conflicting_routes_fail_on_the_first_request_without_lifespan() -> None:
    app = App()

    @app.post("/x")
    def first() -> str:
        return "1"

    @app.route("/x", methods=["GET", "POST"])
    def second() -> str:
        return "2"

    client = TestClient(app)
    try:
        with pytest.raises(RouteConflictError, match="both handle POST /x"):
            client.get("/x")
    finally:
        client.close()


def test_int_route_does_not_match_a_word() -> None:
    app = App()

    @app.get("/items/{item_id:int}")
    def item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    with TestClient(app) as client:
        assert client.get("/items/12").json() == {"item_id": 12}
        assert client.get("/items/x").status_code == 404
        assert client.get("/items/-1").status_code == 404


def test_static_route_beats_parameter_route_through_the_app() -> None:
    app = App()

    @app.get("/users/{username}")
    async def user(username: str) -> str:
        return f"user {username}"

    @app.get("/users/me")
    async def me() -> str:
        return "me"

    with TestClient(app) as client:
        assert client.get("/users/me").text == "me"
        assert client.get("/users/ann").text == "user ann"


def test_percent_encoded_segments_are_decoded_before_matching() -> None:
    app = App()

    @app.get("/tags/{tag}")
    async def tag(tag: str, request: Request) -> str:
        return tag

    with TestClient(app) as client:
        assert client.get("/tags/a%20b").text == "a b"
