"""Every endpoint of the RealWorld spec and every error case, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _conduit_support import PASSWORD, Conduit, log_in, register

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JSON = {"Content-Type": "application/json"}


def write(api: Conduit, username: str = "ada", **fields: Any) -> dict[str, Any]:
    article = {"title": "How to train your dragon", "description": "Ever wonder how?"}
    article |= {"body": "You have to believe", **fields}
    response = api.client.post(
        "/api/articles", json={"article": article}, headers=api.auth(username)
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()["article"]
    return made


def errors(response: Any, status: int) -> dict[str, list[str]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    found: dict[str, list[str]] = response.json()["errors"]
    return found


# ---------------------------------------------------------------- users


def test_register_log_in_and_the_current_user(api: Conduit) -> None:
    client = api.client
    user = register(client, "carol")
    assert user["username"] == "carol"
    assert user["email"] == "carol@example.com"
    assert (user["bio"], user["image"]) == (None, None)
    assert set(user) == {"email", "token", "username", "bio", "image"}
    token = log_in(client, "carol@example.com")
    for credential in (user["token"], token):
        me = client.get("/api/user", headers={"Authorization": f"Token {credential}"})
        assert me.status_code == 200
        assert me.json()["user"]["username"] == "carol"
        assert me.json()["user"]["token"]


def test_register_refuses_taken_names_and_bad_fields(api: Conduit) -> None:
    client = api.client
    taken = {"username": "ada", "email": "new@example.com", "password": PASSWORD}
    assert errors(client.post("/api/users", json={"user": taken}), 422) == {
        "username": ["has already been taken"]
    }
    taken = {"username": "newbie", "email": "ada@example.com", "password": PASSWORD}
    assert errors(client.post("/api/users", json={"user": taken}), 422) == {
        "email": ["has already been taken"]
    }
    assert errors(client.post("/api/users", json={"user": {}}), 422) == {
        "username": ["can't be empty"],
        "email": ["can't be empty"],
        "password": ["can't be empty"],
    }
    empty = {"username": "", "email": "", "password": ""}
    found = errors(client.post("/api/users", json={"user": empty}), 422)
    assert found["username"] == ["can't be empty"]
    assert found["email"] == ["can't be empty"]
    bad = {"username": "a b/c", "email": "not-an-address", "password": "short"}
    assert errors(client.post("/api/users", json={"user": bad}), 422) == {
        "username": ["is invalid"],
        "email": ["is invalid"],
        "password": ["is too short (minimum is 8 characters)"],
    }
    assert errors(client.post("/api/users", json={}), 422) == {"user": ["can't be empty"]}
    assert errors(client.post("/api/users", content=b"", headers=JSON), 422)


def test_log_in_refuses_wrong_credentials(api: Conduit) -> None:
    client = api.client
    for email, password in (
        ("ada@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
    ):
        refused = client.post(
            "/api/users/login", json={"user": {"email": email, "password": password}}
        )
        assert errors(refused, 401) == {"body": ["email or password is invalid"]}
    assert errors(client.post("/api/users/login", json={"user": {"email": ""}}), 422) == {
        "email": ["can't be empty"],
        "password": ["can't be empty"],
    }


def test_tokens_are_required_and_checked(api: Conduit) -> None:
    client = api.client
    for headers in (
        {},
        {"Authorization": "Token not.a.jwt"},
        {"Authorization": "Token "},
        {"Authorization": f"Bearer {api.tokens['ada']}"},
        {"Authorization": f"Token {api.tokens['ada'][:-2]}xx"},
    ):
        refused = client.get("/api/user", headers=headers)
        assert errors(refused, 401), headers
        assert "www-authenticate" in refused.headers


def test_update_the_user(api: Conduit) -> None:
    client, ada = api.client, api.auth("ada")
    changes = {"bio": "I like to skateboard", "image": "https://i.example/ada.png"}
    updated = client.put("/api/user", json={"user": changes}, headers=ada)
    assert updated.status_code == 200, updated.text
    assert updated.json()["user"]["bio"] == "I like to skateboard"
    assert client.get("/api/user", headers=ada).json()["user"]["image"] == changes["image"]

    renamed = {"username": "ada2", "email": "ada2@example.com", "password": "a new passphrase"}
    moved = client.put("/api/user", json={"user": renamed}, headers=ada)
    assert moved.status_code == 200
    assert errors(client.get("/api/user", headers=ada), 401)  # a new password ends old tokens
    ada = {"Authorization": f"Token {moved.json()['user']['token']}"}
    assert client.get("/api/user", headers=ada).json()["user"]["username"] == "ada2"
    assert client.get("/api/profiles/ada2").json()["profile"]["bio"] == "I like to skateboard"
    assert client.get("/api/profiles/ada").status_code == 404
    log_in(client, "ada2@example.com", "a new passphrase")
    old = {"user": {"email": "ada2@example.com", "password": PASSWORD}}
    assert client.post("/api/users/login", json=old).status_code == 401

    taken = client.put("/api/user", json={"user": {"username": "bob"}}, headers=ada)
    assert errors(taken, 422) == {"username": ["has already been taken"]}
    assert errors(client.put("/api/user", json={"user": {"email": ""}}, headers=ada), 422) == {
        "email": ["can't be empty"]
    }
    assert errors(client.put("/api/user", json={"user": {"bio": "x"}}), 401)


# ---------------------------------------------------------------- profiles


def test_profiles_and_follows(api: Conduit) -> None:
    client, ada = api.client, api.auth("ada")
    anonymous = client.get("/api/profiles/bob").json()
    assert anonymous == {
        "profile": {"username": "bob", "bio": None, "image": None, "following": False}
    }
    followed = client.post("/api/profiles/bob/follow", headers=ada)
    assert followed.json()["profile"]["following"] is True
    assert client.post("/api/profiles/bob/follow", headers=ada).json()["profile"]["following"]
    assert client.get("/api/profiles/bob", headers=ada).json()["profile"]["following"] is True
    assert client.get("/api/profiles/bob").json()["profile"]["following"] is False
    unfollowed = client.delete("/api/profiles/bob/follow", headers=ada)
    assert unfollowed.json()["profile"]["following"] is False
    assert client.get("/api/profiles/bob", headers=ada).json()["profile"]["following"] is False

    for method in ("GET", "POST", "DELETE"):
        path = "/api/profiles/nobody" + ("/follow" if method != "GET" else "")
        assert errors(client.request(method, path, headers=ada), 404)
    assert errors(client.post("/api/profiles/bob/follow"), 401)
    assert errors(client.delete("/api/profiles/bob/follow"), 401)


# ---------------------------------------------------------------- articles


def test_create_and_get_an_article(api: Conduit) -> None:
    article = write(api, tagList=["reactjs", "angularjs", "dragons"])
    assert article["slug"] == "how-to-train-your-dragon"
    assert article["tagList"] == ["angularjs", "dragons", "reactjs"]
    assert TIMESTAMP.match(article["createdAt"])
    assert TIMESTAMP.match(article["updatedAt"])
    assert (article["favorited"], article["favoritesCount"]) == (False, 0)
    assert article["author"] == {"username": "ada", "bio": None, "image": None, "following": False}
    assert article["body"] == "You have to believe"

    fetched = api.client.get(f"/api/articles/{article['slug']}")
    assert fetched.json() == {"article": article}
    again = write(api)  # the same title: a slug of its own
    assert again["slug"].startswith("how-to-train-your-dragon-")
    assert again["tagList"] == []
    assert write(api, title="¿Qué?")["slug"] == "que"
    assert write(api, title="!!!")["slug"].startswith("article")


def test_article_errors(api: Conduit) -> None:
    client, ada = api.client, api.auth("ada")
    empty = {"title": "", "description": "", "body": ""}
    assert errors(client.post("/api/articles", json={"article": empty}, headers=ada), 422) == {
        "title": ["can't be empty"],
        "description": ["can't be empty"],
        "body": ["can't be empty"],
    }
    missing = client.post("/api/articles", json={"article": {"title": "t"}}, headers=ada)
    assert set(errors(missing, 422)) == {"description", "body"}
    bad_tags = {"title": "t", "description": "d", "body": "b", "tagList": [""]}
    assert errors(client.post("/api/articles", json={"article": bad_tags}, headers=ada), 422) == {
        "tagList": ["can't be empty"]
    }
    valid = {"title": "t", "description": "d", "body": "b"}
    assert errors(client.post("/api/articles", json={"article": valid}), 401)
    assert errors(client.get("/api/articles/no-such-article"), 404)


def test_update_and_delete_an_article(api: Conduit) -> None:
    client, ada, bob = api.client, api.auth("ada"), api.auth("bob")
    slug = write(api, tagList=["a"])["slug"]
    changed = client.put(
        f"/api/articles/{slug}", json={"article": {"body": "New body"}}, headers=ada
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["article"]["body"], changed.json()["article"]["slug"]) == (
        "New body",
        slug,
    )
    assert changed.json()["article"]["tagList"] == ["a"]

    retitled = client.put(
        f"/api/articles/{slug}", json={"article": {"title": "Did you train it?"}}, headers=ada
    )
    new_slug = retitled.json()["article"]["slug"]
    assert new_slug == "did-you-train-it"
    assert retitled.json()["article"]["title"] == "Did you train it?"
    assert client.get(f"/api/articles/{slug}").status_code == 404
    assert client.get(f"/api/articles/{new_slug}").json()["article"]["body"] == "New body"

    path = f"/api/articles/{new_slug}"
    assert errors(client.put(path, json={"article": {"body": "mine"}}, headers=bob), 403)
    assert errors(client.put(path, json={"article": {"body": "x"}}), 401)
    assert errors(client.put(path, json={"article": {"title": ""}}, headers=ada), 422) == {
        "title": ["can't be empty"]
    }
    assert errors(client.put("/api/articles/nope", json={"article": {}}, headers=ada), 404)
    assert errors(client.delete(path, headers=bob), 403)
    assert errors(client.delete(path), 401)
    deleted = client.delete(path, headers=ada)
    assert deleted.status_code == 200
    assert errors(client.get(path), 404)
    assert errors(client.delete(path, headers=ada), 404)


def test_list_articles_filters_and_pages(api: Conduit) -> None:
    client, ada, bob = api.client, api.auth("ada"), api.auth("bob")
    first = write(api, title="First", tagList=["dragons"])
    second = write(api, "bob", title="Second", tagList=["dragons", "training"])
    third = write(api, title="Third")
    client.post(f"/api/articles/{first['slug']}/favorite", headers=bob)

    listed = client.get("/api/articles").json()
    assert listed["articlesCount"] == 3
    assert [a["slug"] for a in listed["articles"]] == [third["slug"], second["slug"], first["slug"]]
    assert all("body" not in a for a in listed["articles"])

    def slugs(query: str, headers: dict[str, str] | None = None) -> list[str]:
        page = client.get(f"/api/articles?{query}", headers=headers).json()
        assert page["articlesCount"] >= len(page["articles"])
        return [a["slug"] for a in page["articles"]]

    assert slugs("tag=dragons") == [second["slug"], first["slug"]]
    assert slugs("tag=training") == [second["slug"]]
    assert slugs("author=ada") == [third["slug"], first["slug"]]
    assert slugs("favorited=bob") == [first["slug"]]
    assert slugs("favorited=ada") == []
    assert slugs("author=nobody") == []
    assert slugs("limit=1&offset=1") == [second["slug"]]
    assert client.get("/api/articles?limit=1").json()["articlesCount"] == 3
    mine = client.get("/api/articles?favorited=bob", headers=bob).json()["articles"][0]
    assert (mine["favorited"], mine["favoritesCount"]) == (True, 1)
    assert (
        client.get("/api/articles?favorited=bob", headers=ada).json()["articles"][0]["favorited"]
        is False
    )
    for bad in ("limit=0", "limit=101", "offset=-1", "limit=x"):
        assert errors(client.get(f"/api/articles?{bad}"), 422), bad


def test_feed(api: Conduit) -> None:
    client, ada = api.client, api.auth("ada")
    write(api, title="Mine")
    bobs = write(api, "bob", title="Bob's")
    assert client.get("/api/articles/feed", headers=ada).json() == {
        "articles": [],
        "articlesCount": 0,
    }
    client.post("/api/profiles/bob/follow", headers=ada)
    feed = client.get("/api/articles/feed", headers=ada).json()
    assert feed["articlesCount"] == 1
    assert feed["articles"][0]["slug"] == bobs["slug"]
    assert feed["articles"][0]["author"]["following"] is True
    assert "body" not in feed["articles"][0]
    assert errors(client.get("/api/articles/feed"), 401)


def test_favorites(api: Conduit) -> None:
    client, ada, bob = api.client, api.auth("ada"), api.auth("bob")
    slug = write(api)["slug"]
    path = f"/api/articles/{slug}/favorite"
    liked = client.post(path, headers=bob).json()["article"]
    assert (liked["favorited"], liked["favoritesCount"]) == (True, 1)
    assert client.post(path, headers=bob).json()["article"]["favoritesCount"] == 1
    both = client.post(path, headers=ada).json()["article"]
    assert (both["favorited"], both["favoritesCount"]) == (True, 2)
    assert client.get(f"/api/articles/{slug}", headers=bob).json()["article"]["favorited"] is True
    assert client.get(f"/api/articles/{slug}").json()["article"]["favorited"] is False
    unliked = client.delete(path, headers=bob).json()["article"]
    assert (unliked["favorited"], unliked["favoritesCount"]) == (False, 1)
    assert errors(client.post(path), 401)
    assert errors(client.delete(path), 401)
    assert errors(client.post("/api/articles/nope/favorite", headers=ada), 404)
    assert errors(client.delete("/api/articles/nope/favorite", headers=ada), 404)


# ---------------------------------------------------------------- comments and tags


def test_comments(api: Conduit) -> None:
    client, ada, bob = api.client, api.auth("ada"), api.auth("bob")
    slug = write(api)["slug"]
    path = f"/api/articles/{slug}/comments"
    made = client.post(path, json={"comment": {"body": "Thank you so much!"}}, headers=bob)
    assert made.status_code == 200, made.text
    comment = made.json()["comment"]
    assert set(comment) == {"id", "body", "createdAt", "updatedAt", "author"}
    assert comment["body"] == "Thank you so much!"
    assert TIMESTAMP.match(comment["createdAt"])
    assert comment["author"]["username"] == "bob"
    later = client.post(path, json={"comment": {"body": "Later"}}, headers=ada).json()["comment"]

    assert client.get(path).json() == {"comments": [later, comment]}
    client.post("/api/profiles/bob/follow", headers=ada)
    seen_by_ada = client.get(path, headers=ada).json()["comments"]
    assert [c["author"]["following"] for c in seen_by_ada] == [False, True]

    assert errors(client.post(path, json={"comment": {"body": ""}}, headers=ada), 422) == {
        "body": ["can't be empty"]
    }
    assert errors(client.post(path, json={"comment": {"body": "x"}}), 401)
    assert errors(
        client.post("/api/articles/nope/comments", json={"comment": {"body": "x"}}, headers=ada),
        404,
    )
    assert errors(client.get("/api/articles/nope/comments"), 404)
    one = f"{path}/{comment['id']}"
    assert errors(client.delete(one, headers=ada), 403)
    assert errors(client.delete(one), 401)
    assert errors(client.delete(f"{path}/999999", headers=bob), 404)
    assert errors(client.delete(f"/api/articles/nope/comments/{comment['id']}", headers=bob), 404)
    assert client.delete(one, headers=bob).status_code == 200
    assert client.get(path).json() == {"comments": [later]}


def test_tags(api: Conduit) -> None:
    assert api.client.get("/api/tags").json() == {"tags": []}
    write(api, tagList=["dragons", "training"])
    write(api, tagList=["dragons", "angular"])
    assert api.client.get("/api/tags").json() == {"tags": ["angular", "dragons", "training"]}


# ---------------------------------------------------------------- HTTP


@pytest.mark.parametrize(
    ("method", "path", "user"),
    [
        ("GET", "/api/articles", None),
        ("GET", "/api/articles/feed", "ada"),
        ("GET", "/api/articles/{slug}", None),
        ("GET", "/api/articles/{slug}/comments", None),
        ("GET", "/api/user", "ada"),
        ("GET", "/api/tags", None),
        ("GET", "/api/profiles/bob", None),
        ("POST", "/api/profiles/bob/follow", "ada"),
        ("DELETE", "/api/profiles/bob/follow", "ada"),
        ("POST", "/api/articles/{slug}/favorite", "bob"),
        ("DELETE", "/api/articles/{slug}/favorite", "bob"),
        ("DELETE", "/api/articles/{slug}/comments/{comment}", "ada"),
        ("DELETE", "/api/articles/{slug}", "ada"),
    ],
)
def test_requests_without_a_body_accept_an_empty_json_one(
    api: Conduit, method: str, path: str, user: str | None
) -> None:
    slug = write(api)["slug"]
    comment = api.client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=api.auth("ada")
    ).json()["comment"]["id"]
    headers = {**JSON, **(api.auth(user) if user else {})}
    url = path.format(slug=slug, comment=comment)
    response = api.client.request(method, url, content=b"", headers=headers)
    assert response.status_code == 200, response.text


def test_cors_is_open(api: Conduit) -> None:
    preflight = api.client.options(
        "/api/articles",
        headers={
            "Origin": "https://demo.realworld.io",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    listed = api.client.get("/api/tags", headers={"Origin": "http://localhost:4200"})
    assert listed.headers["access-control-allow-origin"] == "*"


def test_openapi_docs(api: Conduit) -> None:
    client = api.client
    assert client.get("/api/docs").status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/api/docs"
    document = client.get("/api/openapi.json").json()
    assert all(path.startswith("/api/") for path in document["paths"])
    get = document["paths"]["/api/articles/{slug}"]["get"]["responses"]
    assert get["404"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}
    }
    create = document["paths"]["/api/articles"]["post"]
    assert "201" in create["responses"]
    assert create["responses"]["422"]["content"]["application/json"]
    body = document["components"]["schemas"]["ArticleCreate"]["properties"]
    assert set(body) == {"title", "description", "body", "tagList"}


def test_the_walk_through_quotes_the_example_as_it_is() -> None:
    """docs/conduit.md's code blocks are excerpts of examples/conduit: they stay true."""
    from _conduit_support import CONDUIT

    source = "\n".join(path.read_text() for path in CONDUIT.glob("*.py"))
    page = (CONDUIT.parents[1] / "docs" / "conduit.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        assert block in source, block


def test_the_migrations_match_the_models(tmp_path: Path) -> None:
    """examples/conduit/migrations holds every table its models (plait.auth's included) need:
    after a battery adds a table, `plait db makemigrations` must be run for the example."""
    from _conduit_support import CONDUIT

    shutil.copytree(CONDUIT / "migrations", tmp_path / "migrations")
    script = (
        "import sys\n"
        "from plait.cli import load_app\n"
        "from plait.db import Database\n"
        "from plait.db.migrations import makemigrations, migrate\n"
        "db = Database.of(load_app(sys.argv[1]).app)\n"
        "migrate(db, directory=sys.argv[2])\n"
        "print(len(makemigrations(db, 'check', directory=sys.argv[2])))\n"
    )
    env = {**os.environ, "PLAIT_DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-c", script, f"{CONDUIT / 'app.py'}:app", str(tmp_path / "migrations")],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0", "run plait db makemigrations for conduit"
