"""Headers, query parameters, URLs, state, uploads and form data."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl as stdlib_parse_qsl

import pytest

from plait import URL, FormData, Headers, QueryParams, State, UploadFile
from plait._datastructures import MultiDict, MutableHeaders, parse_qsl

# ------------------------------------------------------------------ MultiDict / QueryParams


def test_multidict_last_value_wins_and_getlist_keeps_all() -> None:
    d = MultiDict([("a", "1"), ("b", "2"), ("a", "3")])
    assert d["a"] == "3"
    assert d.getlist("a") == ["1", "3"]
    assert d.getlist("missing") == []
    assert list(d) == ["a", "b"]
    assert len(d) == 2
    assert d.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
    assert "b" in d
    assert d.get("zzz", "default") == "default"
    with pytest.raises(KeyError):
        d["zzz"]
    assert repr(d) == "MultiDict([('a', '1'), ('b', '2'), ('a', '3')])"


def test_multidict_from_a_mapping_and_equality() -> None:
    d = MultiDict({"x": "1"})
    assert d == {"x": "1"}
    assert d == MultiDict([("x", "1")])
    assert MultiDict([("a", "1"), ("b", "2")]) == MultiDict([("b", "2"), ("a", "1")])
    assert MultiDict([("a", "1"), ("a", "2")]) != MultiDict([("a", "2")])
    assert d != ["x"]
    with pytest.raises(TypeError):
        hash(d)


def test_query_params_from_bytes_str_pairs_and_mapping() -> None:
    assert QueryParams(b"a=1&b=%20x") == {"a": "1", "b": " x"}
    assert QueryParams("a=1&a=2").getlist("a") == ["1", "2"]
    assert QueryParams([("k", "v")])["k"] == "v"
    assert QueryParams({"k": "v"})["k"] == "v"
    assert QueryParams() == {}
    assert QueryParams(b"caf%C3%A9=1")["café"] == "1"


def test_query_params_str_reencodes() -> None:
    params = QueryParams([("q", "a b&c"), ("q", "é")])
    assert str(params) == "q=a+b%26c&q=%C3%A9"
    assert QueryParams(str(params)).getlist("q") == ["a b&c", "é"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "a=1",
        "a=1&b=2&a=3",
        "a=&b",
        "a=1&&b=2&",
        "x=a+b%20c%2B",
        "k%3D=v%26",
        "=novalue",
        "bad=%zz%",
        "uni=%E2%82%AC",
        "a=b=c",
    ],
)
def test_parse_qsl_agrees_with_the_standard_library(query: str) -> None:
    assert parse_qsl(query) == stdlib_parse_qsl(query, keep_blank_values=True)


def test_parse_qsl_invalid_utf8_percent_escapes_are_replaced() -> None:
    assert parse_qsl("a=%FF") == [("a", "\ufffd")]


# ------------------------------------------------------------------ Headers


def test_headers_are_case_insensitive_and_fold_repeats() -> None:
    headers = Headers(
        [
            (b"content-type", b"text/plain"),
            (b"X-Multi", b"a"),
            (b"x-multi", b"b"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ]
    )
    assert headers["Content-Type"] == "text/plain"
    assert headers["x-multi"] == "a, b"
    assert headers["cookie"] == "a=1; b=2"
    assert headers.getlist("X-MULTI") == ["a", "b"]
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert "CONTENT-TYPE" in headers
    assert 42 not in headers
    assert sorted(headers) == ["content-type", "cookie", "x-multi"]
    assert len(headers) == 3
    assert repr(headers).startswith("Headers({'content-type': 'text/plain'")
    with pytest.raises(KeyError):
        headers["nope"]


def test_headers_from_a_mapping_and_empty() -> None:
    headers = Headers(headers={"X-Thing": "1"})
    assert headers.raw == [(b"x-thing", b"1")]
    assert Headers().raw == []
    assert len(Headers()) == 0


def test_headers_decode_latin1() -> None:
    assert Headers([(b"x", "café".encode("latin-1"))])["x"] == "café"


def test_mutable_headers_write_through_to_the_raw_list() -> None:
    raw: list[tuple[bytes, bytes]] = [(b"vary", b"a"), (b"x-old", b"1"), (b"x-old", b"2")]
    headers = MutableHeaders(raw)
    assert headers["x-old"] == "1, 2"
    headers["X-Old"] = "3"
    assert headers["x-old"] == "3"
    assert raw == [(b"vary", b"a"), (b"x-old", b"3")]
    headers.append("Vary", "b")
    assert headers.getlist("vary") == ["a", "b"]
    assert headers["vary"] == "a, b"
    del headers["vary"]
    assert "vary" not in headers
    assert headers.setdefault("x-new", "n") == "n"
    assert headers.setdefault("x-new", "other") == "n"
    assert raw == [(b"x-old", b"3"), (b"x-new", b"n")]


# ------------------------------------------------------------------ URL


def _scope(**overrides: object) -> dict[str, object]:
    scope: dict[str, object] = {
        "type": "http",
        "scheme": "http",
        "path": "/a/b",
        "query_string": b"",
        "headers": [],
        "server": ("example.com", 80),
    }
    scope.update(overrides)
    return scope


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://example.com/a/b"),
        ({"query_string": b"x=1&y=2"}, "http://example.com/a/b?x=1&y=2"),
        ({"headers": [(b"host", b"h.test:9000")]}, "http://h.test:9000/a/b"),
        ({"server": ("example.com", 8080)}, "http://example.com:8080/a/b"),
        ({"scheme": "https", "server": ("example.com", 443)}, "https://example.com/a/b"),
        ({"scheme": "https", "server": ("example.com", 80)}, "https://example.com:80/a/b"),
        ({"scheme": "wss", "server": ("example.com", 443)}, "wss://example.com/a/b"),
        ({"server": ("unix.sock", None)}, "http://unix.sock/a/b"),
        ({"server": None}, "http://localhost/a/b"),
        ({"root_path": "/a", "path": "/a/b"}, "http://example.com/a/b"),
    ],
)
def test_url_from_scope(overrides: dict[str, object], expected: str) -> None:
    assert str(URL.from_scope(_scope(**overrides))) == expected


def test_url_defaults_without_scheme() -> None:
    scope = _scope()
    del scope["scheme"]
    assert str(URL.from_scope(scope)) == "http://example.com/a/b"


def test_url_parts_and_replace() -> None:
    url = URL("https://user@example.com:8443/path/x?q=1#frag")
    assert url.scheme == "https"
    assert url.netloc == "user@example.com:8443"
    assert url.hostname == "example.com"
    assert url.port == 8443
    assert url.path == "/path/x"
    assert url.query == "q=1"
    assert url.parts is url.parts
    other = url.replace(path="/other", query="")
    assert str(other) == "https://user@example.com:8443/other#frag"
    assert repr(other) == "URL('https://user@example.com:8443/other#frag')"


def test_url_equality_and_hash() -> None:
    assert URL("http://a/") == URL("http://a/")
    assert URL("http://a/") == "http://a/"
    assert URL("http://a/") != URL("http://b/")
    assert len({URL("http://a/"), URL("http://a/")}) == 1


# ------------------------------------------------------------------ State


def test_state_attribute_bag() -> None:
    backing: dict[str, object] = {}
    state = State(backing)
    state.user = "ann"
    assert state.user == "ann"
    assert backing == {"user": "ann"}
    del state.user
    assert backing == {}
    with pytest.raises(AttributeError, match="'State' object has no attribute 'user'"):
        _ = state.user
    with pytest.raises(AttributeError, match="'State' object has no attribute 'user'"):
        del state.user
    assert getattr(State(), "anything", "default") == "default"


def test_state_copies_and_pickles() -> None:
    import copy
    import pickle

    state = State({"a": 1})
    shallow = copy.copy(state)
    assert shallow.a == 1
    deep = copy.deepcopy(state)
    deep.a = 2
    assert state.a == 1
    assert pickle.loads(pickle.dumps(state)).a == 1


# ------------------------------------------------------------------ UploadFile / FormData


def test_upload_file_in_memory_then_rolled_to_disk() -> None:
    async def main() -> None:
        upload = UploadFile("a.txt", content_type="text/plain", max_memory=4)
        assert upload.headers == Headers()
        upload._write(b"abc")
        assert upload.in_memory
        upload._write(b"defg")
        assert not upload.in_memory
        assert upload.size == 7
        await upload.seek(0)
        assert await upload.read(2) == b"ab"
        assert await upload.read() == b"cdefg"
        assert repr(upload) == "UploadFile(filename='a.txt', size=7)"
        await upload.close()
        assert upload.file.closed

    asyncio.run(main())


def test_form_data_mapping_and_close() -> None:
    async def main() -> None:
        upload = UploadFile("f.bin")
        form = FormData([("a", "1"), ("f", upload), ("a", "2")])
        assert form["a"] == "2"
        assert form.getlist("a") == ["1", "2"]
        assert form["f"] is upload
        assert sorted(form) == ["a", "f"]
        assert len(form) == 2
        assert form.multi_items() == [("a", "1"), ("f", upload), ("a", "2")]
        await form.close()
        assert upload.file.closed
        assert len(FormData()) == 0

    asyncio.run(main())
