"""accounts.backends.ModelBackend: Django's permissions, read in one query."""

from __future__ import annotations

import pytest
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group, Permission

from accounts.api_auth import BearerTokenAuthentication
from accounts.backends import ModelBackend
from accounts.models import SUPERVISE_CASES, WORK_CASES, User
from accounts.services import api_token_issue
from tests.factories import ApplicantFactory, OfficerFactory

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no permission cache yet


def _permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.mark.parametrize(
    "make",
    [
        ApplicantFactory,
        OfficerFactory,
        lambda: OfficerFactory(is_superuser=True),
        lambda: OfficerFactory(is_active=False),
    ],
    ids=["applicant", "officer", "superuser", "inactive"],
)
def test_the_same_permissions_as_djangos_backend(make):
    user = make()
    user.user_permissions.add(_permission(SUPERVISE_CASES))  # one of its own, beside the groups
    group = Group.objects.create(name="extra")
    group.permissions.add(_permission("applications.view_application"))
    user.groups.add(group)
    ours = ModelBackend().get_all_permissions(_fresh(user))
    assert ours == DjangoModelBackend().get_all_permissions(_fresh(user))
    if user.is_active:
        assert {SUPERVISE_CASES, "applications.view_application"} <= ours
        # The bearer-token check reads the same permissions along with the token.
        _token, plain = api_token_issue(user=user)
        caller, _auth = BearerTokenAuthentication().authenticate_credentials(plain.encode())
        assert ModelBackend().get_all_permissions(caller) == ours


def test_one_query_then_the_cache(django_assert_num_queries):
    officer = _fresh(OfficerFactory())
    with django_assert_num_queries(1):
        assert officer.has_perm(WORK_CASES)
        assert not officer.has_perm(SUPERVISE_CASES)
        assert officer.is_officer
