from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def assert_no_inline_code(html: str) -> None:
    """The CSP allows only scripts and styles from our own origin: nothing inline."""
    scripts = SCRIPT_TAG.findall(html)
    assert scripts, "expected the vendored scripts to be loaded"
    for attributes, body in scripts:
        assert "src=" in attributes, f"inline <script> block: {body[:80]!r}"
        assert not body.strip()
    assert "<style" not in html.lower()
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert not INLINE_HANDLER.search(html)


@pytest.fixture
def applicant(django_user_model):
    return django_user_model.objects.create_user("ada@example.org", "a-long-password-1")


@pytest.fixture
def officer(django_user_model):
    user = django_user_model.objects.create_user("officer@example.org", "a-long-password-1")
    group, _ = Group.objects.get_or_create(name="officer")
    user.groups.add(group)
    return user
