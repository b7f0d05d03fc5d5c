"""plait.forms: binding, validation messages, cleaned values, and drawing as HTML."""

from __future__ import annotations

import datetime
import enum
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import pytest
from msgspec import Meta

from plait import App, FormData, HTMLResponse, Request, UploadFile, forms
from plait.testing import TestClient


class SignUp(forms.Form):
    username: Annotated[str, Meta(max_length=10, title="User name")]
    password: Annotated[forms.Password, Meta(min_length=4)]
    password2: Annotated[forms.Password, Meta(title="Password (again)")]
    age: int | None = None
    color: Literal["red", "blue"] = "red"
    news: bool = False

    def clean(self) -> None:
        password = self.cleaned_data.get("password")
        if password is not None and password != self.cleaned_data.get("password2"):
            self.add_error("password2", "The two passwords differ.")


def _app() -> App:
    app = App()

    @app.route("/signup", methods=["GET", "POST"])
    async def signup(request: Request, form: SignUp) -> Any:
        if form.is_valid():
            if form.username == "taken":
                form.add_error("username", "That name is taken.")
            else:
                return {"user": form.username, "age": form.age, "news": form.news}
        return HTMLResponse(str(form), status_code=422 if form.bound else 200)

    return app


def test_get_gives_an_unbound_form_drawn_with_browser_constraints() -> None:
    with TestClient(_app()) as client:
        response = client.get("/signup")
    assert response.status_code == 200
    html = response.text
    assert '<label for="id_username">User name</label>' in html
    assert 'name="username" id="id_username" required maxlength="10"' in html
    assert 'type="password" name="password" id="id_password" required minlength="4"' in html
    assert '<label for="id_password2">Password (again)</label>' in html
    assert '<input type="number" name="age" id="id_age">' in html  # optional: no required
    assert '<option value="red" selected>red</option>' in html
    assert '<input type="checkbox" value="on" name="news" id="id_news">' in html
    assert "errors" not in html


def test_valid_post_gives_converted_values_as_attributes() -> None:
    data = {"username": "  ada ", "password": "secret", "password2": "secret", "age": "36"}
    with TestClient(_app()) as client:
        response = client.post("/signup", data={**data, "news": "on"})
        assert response.json() == {"user": "ada", "age": 36, "news": True}
        blank_age = client.post("/signup", data={**data, "age": ""})
    assert blank_age.json() == {"user": "ada", "age": None, "news": False}


def test_invalid_post_lists_every_error_and_keeps_the_input() -> None:
    data = {"username": "<b>x</b>-too-long", "password": "abc", "password2": "", "age": "x"}
    with TestClient(_app()) as client:
        response = client.post("/signup", data={**data, "color": "green"})
    assert response.status_code == 422
    html = response.text
    assert "Ensure this value has at most 10 characters (it has 17)." in html
    assert "Ensure this value has at least 4 characters (it has 3)." in html
    assert html.count("This field is required.") == 1  # password2
    assert "Enter a whole number." in html
    assert "Select a valid choice." in html
    assert 'value="&lt;b&gt;x&lt;/b&gt;-too-long"' in html  # kept, and escaped
    assert "<b>x" not in html
    assert 'value="abc"' not in html  # passwords are never sent back
    assert 'value="x" name="age"' in html
    assert 'aria-invalid="true"' in html


def test_clean_and_add_error_from_the_handler() -> None:
    base = {"username": "ada", "password": "secret"}
    with TestClient(_app()) as client:
        differ = client.post("/signup", data={**base, "password2": "other"})
        taken = client.post("/signup", data={**base, "username": "taken", "password2": "secret"})
    assert "The two passwords differ." in differ.text
    assert '<div class="field invalid"><label for="id_password2">' in differ.text
    assert "That name is taken." in taken.text
    assert 'value="taken"' in taken.text


class Colour(enum.Enum):
    LIGHT_RED = "lr"
    DARK_BLUE = "db"


class Everything(forms.Form):
    when: datetime.date
    at: datetime.datetime | None = None
    ratio: float = 1.0
    score: Annotated[int, Meta(ge=1, le=5)] = 3
    tags: list[Literal["a", "b", "c"]] = []
    colour: Colour | None = None
    email: forms.Email = "nobody@example.com"
    note: Annotated[forms.TextArea, forms.Widget("textarea", rows="3")] = ""
    token: forms.Hidden = "t"


def test_types_convert_and_draw() -> None:
    form = Everything(
        FormData(
            [
                ("when", "2026-11-26"),
                ("at", "2026-11-26T10:30"),
                ("ratio", "0.5"),
                ("score", "5"),
                ("tags", "a"),
                ("tags", "c"),
                ("colour", "db"),
                ("note", "<hi>"),
            ]
        )
    )
    assert form.is_valid(), form.errors
    assert form.when == datetime.date(2026, 11, 26)
    assert form.at == datetime.datetime(2026, 11, 26, 10, 30)
    assert Everything({"when": "2026-01-01", "at": "2026-01-01T09:15:30"}).is_valid()
    assert (form.ratio, form.score, form.tags) == (0.5, 5, ["a", "c"])
    assert form.colour is Colour.DARK_BLUE
    assert form.cleaned_data["email"] == "nobody@example.com"
    html = str(form)
    assert '<input type="date" value="2026-11-26" name="when" id="id_when" required>' in html
    assert 'type="datetime-local"' in html
    assert 'step="any"' in html
    assert 'min="1" max="5"' in html
    assert '<select name="tags" id="id_tags" multiple>' in html
    assert '<option value="a" selected>a</option><option value="b">b</option>' in html
    assert '<option value="">---------</option><option value="lr">Light red</option>' in html
    assert '<textarea name="note" id="id_note" rows="3">\n&lt;hi&gt;</textarea>' in html
    assert '<input type="hidden" name="token" id="id_token">' in html  # not sent: not shown
    assert '<input type="hidden" value="t" name="token" id="id_token">' in str(Everything())
    assert '<label for="id_token">' not in html


def test_bounds_dates_and_emails_have_readable_messages() -> None:
    form = Everything({"when": "someday", "score": "9", "email": "not-an-address"})
    assert not form.is_valid()
    assert form.errors == {
        "when": ["Enter a valid date."],
        "score": ["Ensure this value is less than or equal to 5."],
        "email": ["Enter a valid email address."],
    }
    assert "when" not in form.cleaned_data


def test_unbound_forms_show_initial_values_and_are_not_valid() -> None:
    form = SignUp(initial={"username": "ada"})
    assert not form.bound
    assert not form.is_valid()
    assert form.errors == {}
    assert form["username"].value == "ada"
    assert form["color"].value == "red"
    assert 'value="ada"' in str(form["username"])
    assert str(form["username"].input).startswith('<input type="text" value="ada"')
    assert repr(form) == "<SignUp unbound>"


def test_form_errors_and_non_field_errors() -> None:
    form = SignUp({"username": "ada", "password": "secret", "password2": "secret"})
    assert form.is_valid()
    assert repr(form) == "<SignUp valid>"
    form.add_error(None, "Sign-ups are closed.")
    assert not form.is_valid()
    assert form.non_field_errors == ["Sign-ups are closed."]
    assert str(form).startswith('<ul class="errors"><li>Sign-ups are closed.</li></ul>')
    with pytest.raises(KeyError, match="no field 'nope'"):
        form.add_error("nope", "x")


class Upload(forms.Form):
    title: str
    photo: UploadFile
    extra: list[UploadFile] = []


def test_file_fields_and_enctype() -> None:
    app = App()

    @app.post("/upload")
    async def upload(form: Upload) -> dict[str, Any]:
        if not form.is_valid():
            return {"errors": form.errors}
        return {"name": form.photo.filename, "data": (await form.photo.read()).decode()}

    assert Upload().enctype == "multipart/form-data"
    assert SignUp().enctype == "application/x-www-form-urlencoded"
    assert '<input type="file" name="photo" id="id_photo" required>' in str(Upload())
    with TestClient(app) as client:
        ok = client.post("/upload", data={"title": "t"}, files={"photo": ("a.txt", b"hi")})
        missing = client.post("/upload", data={"title": "t"})
    assert ok.json() == {"name": "a.txt", "data": "hi"}
    assert missing.json() == {"errors": {"photo": ["This field is required."]}}


def test_csrf_input_comes_from_the_scope() -> None:
    tokens = iter(["tok-1", "tok-2"])
    request = Request({"type": "http", "method": "GET", "headers": []})
    assert "csrf_token" not in str(SignUp(request=request))
    request = Request(
        {"type": "http", "method": "GET", "headers": [], "csrf_token": lambda: next(tokens)}
    )
    html = str(SignUp(request=request))
    assert html.startswith('<input type="hidden" name="csrf_token" value="tok-1">')


def test_a_field_cannot_shadow_the_form_api() -> None:
    with pytest.raises(TypeError, match=r"Bad\.errors: a form field cannot be named 'errors'"):

        class Bad(forms.Form):
            errors: str


def test_forms_need_markupsafe(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "markupsafe" or n.startswith("plait.forms")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "markupsafe", None)
    with pytest.raises(forms.MissingDependencyError, match=r"pip install 'plait\[templates\]'"):
        import plait.forms  # noqa: F401


def test_the_form_dependency_can_be_overridden() -> None:
    app = _app()
    app.dependency_overrides[SignUp.__plait_depends__] = lambda: SignUp(
        {"username": "stub", "password": "pass", "password2": "pass"}
    )
    with TestClient(app) as client:
        assert client.get("/signup").json() == {"user": "stub", "age": None, "news": False}


def test_msgspec_sees_only_its_own_metadata() -> None:
    # Widget markers ride along in Annotated without upsetting msgspec's conversion.
    assert msgspec.convert("x", Annotated[str, forms.Widget("textarea")]) == "x"


def test_public_surface() -> None:
    assert sorted(forms.__all__) == [
        "BoundField",
        "Choices",
        "Email",
        "FieldSpec",
        "Form",
        "Hidden",
        "JSON",
        "MissingDependencyError",
        "NON_FIELD",
        "Password",
        "TextArea",
        "URL",
        "Widget",
        "WriteOnly",
    ]


def test_a_form_drawn_by_a_template_passes_the_csrf_check(tmp_path: Path) -> None:
    from plait.csrf import CSRF
    from plait.templates import Templates

    (tmp_path / "signup.html").write_text('<form method="post">{{ form }}</form>')
    app = App()
    CSRF(app)
    templates = Templates(app, tmp_path)

    @app.route("/signup", methods=["GET", "POST"])
    @templates.page("signup.html")
    async def signup(form: SignUp) -> Any:
        if form.is_valid():
            return {"form": f"welcome {form.username}"}
        return {"form": form}

    with TestClient(app) as client:
        page = client.get("/signup").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None, page
        data = {"username": "ada", "password": "secret", "password2": "secret"}
        assert client.post("/signup", data=data).status_code == 403
        done = client.post("/signup", data={**data, "csrf_token": token.group(1)})
    assert done.text == '<form method="post">welcome ada</form>'
