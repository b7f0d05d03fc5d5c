"""Security review of plait.forms: everything drawn is escaped, a password is never echoed."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from msgspec import Meta

from plait import forms

XSS = '"><script>alert(1)</script>'


class Colour(enum.Enum):
    RED = '"><img src=x onerror=alert(1)>'


class Evil(forms.Form):
    title: Annotated[str, Meta(title=XSS, description=XSS, max_length=500)]
    body: forms.TextArea
    kind: Literal['"><b>x</b>', "plain"]
    colour: Colour
    hidden: forms.Hidden
    password: forms.Password


def test_every_label_value_choice_help_text_and_error_is_escaped() -> None:
    form = Evil(
        {
            "title": XSS,
            "body": "</textarea><script>alert(1)</script>",
            "kind": '"><b>x</b>',
            "colour": "nope",
            "hidden": XSS,
            "password": XSS,
        }
    )
    form.add_error(None, XSS)
    form.add_error("title", XSS)
    html = str(form)
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_password_is_never_sent_back() -> None:
    form = Evil({"title": "t", "body": "b", "kind": "plain", "colour": "x", "password": "hunter22"})
    assert not form.is_valid()
    assert "hunter22" not in str(form)
    assert "hunter22" not in str(form["password"].input)
    initial = Evil(initial={"password": "hunter22"})
    assert "hunter22" not in str(initial)
