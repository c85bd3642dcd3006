"""The governed lists kept per process behind the version row's xmin (issue 7)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from policy.models import Institution, ListsVersion, StemField
from policy.selectors import engine_lists

pytestmark = pytest.mark.django_db


def _version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM policy_listsversion WHERE id = 1")
        return cursor.fetchone()[0]


def test_unchanged_lists_are_read_once_then_only_their_version(django_assert_num_queries):
    with django_assert_num_queries(3):  # the version, then the two lists
        first = engine_lists()
    with django_assert_num_queries(1):
        again = engine_lists()
    assert again is first
    assert first.stem_field_ids == frozenset(
        StemField.objects.filter(is_active=True).values_list("pk", flat=True)
    )
    assert dict(first.institution_tiers) == dict(
        Institution.objects.filter(is_active=True).values_list("pk", "tier")
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda field: StemField.objects.filter(pk=field.pk).update(is_active=False),
        lambda field: field.delete(),
        lambda field: StemField.objects.bulk_create(
            [StemField(code="new-field", discipline=field.discipline, name_en="New", name_zh="新")]
        ),
        lambda field: connection.cursor().execute(
            "UPDATE policy_stemfield SET is_active = false WHERE id = %s", [field.pk]
        ),
    ],
    ids=["update", "delete", "bulk_create", "raw_sql"],
)
def test_every_kind_of_write_to_a_list_is_seen_at_the_next_read(change):
    field = StemField.objects.filter(is_active=True).first()
    before = engine_lists()
    change(field)
    after = engine_lists()
    assert after is not before
    assert after.stem_field_ids == frozenset(
        StemField.objects.filter(is_active=True).values_list("pk", flat=True)
    )
    assert after.stem_field_ids != before.stem_field_ids


def test_an_institutions_new_tier_is_seen():
    institution = Institution.objects.filter(is_active=True).first()
    engine_lists()
    Institution.objects.filter(pk=institution.pk).update(tier=1 if institution.tier != 1 else 2)
    assert engine_lists().institution_tiers[institution.pk] != institution.tier


def test_a_rolled_back_change_and_a_later_one_never_share_a_version():
    """A counter would read the same after a rollback and one more change; the row's xmin,
    the id of the transaction that wrote it, does not."""
    field = StemField.objects.filter(is_active=True).first()
    start = _version()
    with transaction.atomic():
        StemField.objects.filter(pk=field.pk).update(is_active=False)
        rolled_back = _version()
        counted = ListsVersion.objects.get(pk=1).changes
        assert field.pk not in engine_lists().stem_field_ids
        transaction.set_rollback(True)
    assert _version() == start
    with transaction.atomic():
        StemField.objects.filter(pk=field.pk).update(name_en="Renamed")
        assert _version() not in (start, rolled_back)
        assert ListsVersion.objects.get(pk=1).changes == counted  # the counter repeats itself
        assert field.pk in engine_lists().stem_field_ids  # a counter would give the stale lists


def test_lists_are_not_kept_without_a_version_row(django_assert_num_queries):
    ListsVersion.objects.all().delete()
    engine_lists()
    with django_assert_num_queries(3):
        engine_lists()
