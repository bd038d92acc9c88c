"""Texts and plain-text emails are not HTML: a practice named "Children's Health & Care" must read so,
not "Children&#x27;s Health &amp; Care"."""

from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

PLAIN_TEXT = sorted(
    str(path.relative_to(settings.BASE_DIR / "templates"))
    for folder in ("welcome", "portal/email", "portal/sms")
    for path in (Path(settings.BASE_DIR) / "templates" / folder).glob("*.txt")
)
NAME = "Children's Health & Care <Downtown>"


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("template", PLAIN_TEXT)
def test_plain_text_messages_show_names_as_typed(template, language):
    context = {"practice_name": NAME, "first_name": "D'Angelo", "code": "123456", "link": "https://x/#a.b"}
    with translation.override(language):
        text = render_to_string(template, context)
    assert "&#x27;" not in text and "&amp;" not in text and "&lt;" not in text
    if "practice_name" in (Path(settings.BASE_DIR) / "templates" / template).read_text():
        assert NAME in text
