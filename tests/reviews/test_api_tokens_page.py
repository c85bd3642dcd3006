"""Officers make personal API tokens in the workspace (after TOTP), see them once, revoke them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from tests.factories import OfficerFactory, login_with_mfa

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_works_for_the_api_and_can_be_revoked(client, case, officer):
    login_with_mfa(client, officer)
    page = client.post(
        reverse("reviews:api_token_create"), {"label": "morning export", "days": "7"}
    )
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    plain = re.search(r'id="new-token">(kv_[^<]+)<', page.content.decode()).group(1)
    token = ApiToken.objects.get(user=officer)
    assert token.label == "morning export"
    assert plain not in client.get(reverse("reviews:api_tokens")).content.decode()

    client.logout()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    assert client.get("/api/v1/queues/", **auth).status_code == 200

    login_with_mfa(client, officer)
    client.post(reverse("reviews:api_token_revoke"), {"key": token.token_key})
    assert not ApiToken.objects.filter(user=officer).exists()
    client.logout()
    assert client.get("/api/v1/queues/", **auth).status_code == 401


def test_a_token_lives_at_most_90_days_and_needs_a_label(client, officer):
    login_with_mfa(client, officer)
    response = client.post(reverse("reviews:api_token_create"), {"label": "", "days": "365"})
    assert response.status_code == 422
    assert not ApiToken.objects.exists()


def test_nobody_revokes_another_officers_token(client, officer):
    other = OfficerFactory()
    from accounts.services import api_token_issue

    token, _plain = api_token_issue(user=other, label="theirs")
    login_with_mfa(client, officer)
    client.post(reverse("reviews:api_token_revoke"), {"key": token.token_key})
    assert ApiToken.objects.filter(pk=token.pk).exists()
