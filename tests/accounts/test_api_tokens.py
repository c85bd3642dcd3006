"""Integration clients and tokens: hashed at rest, expiring, revocable, several per client,
and scopes that decide what each caller may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import ApiClient, ApiToken, Scope
from accounts.services import api_client_create, api_token_issue, api_token_revoke
from accounts.tasks import tokens_purge_expired
from tests.factories import ApplicantFactory, OfficerFactory, login_with_mfa

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.urls_scopes")]


def _get(client, scope: str, token: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(f"/scoped/{scope}/", **headers)


def test_the_command_creates_a_client_and_prints_its_token_once(capsys, client):
    call_command(
        "create_api_client",
        "--name",
        "Tsinghua Intl Office",
        "--scopes",
        "applications:submit,cases:read",
    )
    out = capsys.readouterr().out
    token = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("Token"))
    api = ApiClient.objects.get(name="Tsinghua Intl Office")
    assert api.scopes == ["applications:submit", "cases:read"]
    stored = ApiToken.objects.get(user=api.user)
    assert token.startswith("kv_")
    assert token not in (stored.digest, stored.token_key)
    assert _get(client, "cases:read", token).status_code == 200


def test_the_command_refuses_unknown_scopes():
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_client", "--name", "X", "--scopes", "cases:everything")
    assert not ApiClient.objects.exists()


def test_a_client_has_exactly_its_scopes(client):
    api = api_client_create(name="Border", scopes=[Scope.VISAS_VERIFY])
    _token, plain = api_token_issue(user=api.user)
    for scope in Scope:
        response = _get(client, scope.value, plain)
        expected = 200 if scope == Scope.VISAS_VERIFY else 403
        assert response.status_code == expected, scope
    refused = _get(client, "cases:read", plain)
    assert refused.json()["code"] == "missing_scope"
    assert "cases:read" in refused.json()["detail"]


def test_several_tokens_each_revocable_and_expiring(client, time_machine):
    api = api_client_create(name="Institution", scopes=[Scope.STATS_READ])
    first, first_plain = api_token_issue(user=api.user, label="prod")
    _second, second_plain = api_token_issue(user=api.user, ttl=timedelta(days=1))
    assert _get(client, "stats:read", first_plain).status_code == 200
    assert _get(client, "stats:read", second_plain).status_code == 200

    api_token_revoke(token=first)
    assert _get(client, "stats:read", first_plain).status_code == 401

    time_machine.move_to(timezone.now() + timedelta(days=2))
    assert _get(client, "stats:read", second_plain).status_code == 401
    assert not ApiToken.objects.filter(user=api.user).exists()  # expired tokens are removed


def test_a_request_reads_only_its_own_token_and_the_daily_task_purges_expired_ones(
    client, time_machine, django_assert_num_queries
):
    api = api_client_create(name="Institution", scopes=[Scope.STATS_READ])
    _long, long_plain = api_token_issue(user=api.user)
    short, _short_plain = api_token_issue(user=api.user, ttl=timedelta(days=1))
    for _ in range(5):  # more tokens of the caller: still the same queries
        api_token_issue(user=api.user, ttl=timedelta(days=1))
    time_machine.move_to(timezone.now() + timedelta(days=2))
    # the token with its user, the client (its scopes) and the permissions, in one query: the
    # caller's other tokens unread
    with django_assert_num_queries(1):
        assert _get(client, "stats:read", long_plain).status_code == 200
    assert ApiToken.objects.filter(pk=short.pk).exists()

    assert tokens_purge_expired.apply().get() == 6
    assert list(ApiToken.objects.filter(user=api.user)) == [_long]


def test_a_deactivated_client_can_do_nothing(client):
    api = api_client_create(name="Old", scopes=[Scope.STATS_READ])
    _token, plain = api_token_issue(user=api.user)
    ApiClient.objects.filter(pk=api.pk).update(is_active=False)
    assert _get(client, "stats:read", plain).status_code == 403


def test_an_officer_token_and_session_carry_the_cases_scopes_only(
    client, django_assert_num_queries
):
    officer = OfficerFactory()
    _token, plain = api_token_issue(user=officer)
    with django_assert_num_queries(1):  # the permission that gives the scopes came with it
        assert _get(client, "cases:read", plain).status_code == 200
    assert _get(client, "cases:read", plain).status_code == 200
    assert _get(client, "cases:decide", plain).status_code == 200
    assert _get(client, "visas:verify", plain).status_code == 403
    login_with_mfa(client, officer)
    assert _get(client, "cases:decide").status_code == 200
    assert _get(client, "stats:read").status_code == 403


def test_an_applicant_token_or_session_has_no_scope(client):
    applicant = ApplicantFactory()
    _token, plain = api_token_issue(user=applicant)
    assert _get(client, "cases:read", plain).status_code == 403
    client.force_login(applicant)
    assert _get(client, "cases:read").status_code == 403


def test_an_officer_session_without_the_second_factor_is_told_what_to_do(client):
    client.force_login(OfficerFactory())
    refused = _get(client, "cases:read")
    assert refused.status_code == 403
    assert refused.json()["code"] == "mfa_not_passed"


def test_anonymous_and_bad_tokens_get_401_with_the_scheme(client):
    response = _get(client, "cases:read")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert _get(client, "cases:read", "kv_not-a-real-token").status_code == 401


def test_client_names_are_unique_and_required():
    api_client_create(name="Same", scopes=[])
    with pytest.raises(ValidationError):
        api_client_create(name="same", scopes=[])
    with pytest.raises(ValidationError):
        api_client_create(name="  ", scopes=[])
