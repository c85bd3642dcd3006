"""Idempotency-Key on the API's POSTs: replayed, refused when reused, once under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from ops.idempotency import idempotent
from ops.models import IdempotencyRecord
from policy.models import ReviewQueue
from reviews.models import CaseNote
from tests.reviews.conftest import officer_in, queued_cases
from tests.reviews.test_api import bearer


def _note(client, auth, reference, text, key):
    return client.post(
        f"/api/v1/cases/{reference}/notes/",
        {"text": text},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **auth,
    )


@pytest.mark.django_db
def test_a_repeat_replays_the_first_response_and_a_changed_body_is_refused(client, case, officer):
    auth = bearer(officer)
    first = _note(client, auth, case.reference, "Checked.", "key-1")
    again = _note(client, auth, case.reference, "Checked.", "key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert CaseNote.objects.count() == 1

    changed = _note(client, auth, case.reference, "Something else.", "key-1")
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    assert CaseNote.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_caller(client, case, officer, second_officer):
    _note(client, bearer(officer), case.reference, "Mine.", "shared-key")
    other = _note(client, bearer(second_officer), case.reference, "Mine.", "shared-key")
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert CaseNote.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_request_gives_its_key_up(client, case, officer):
    auth = bearer(officer)
    refused = _note(client, auth, case.reference, "   ", "retry-key")  # blank: 400/422
    assert refused.status_code in (400, 422)
    assert not IdempotencyRecord.objects.exists()
    assert _note(client, auth, case.reference, "Now with text.", "retry-key").status_code == 201


@pytest.mark.django_db
def test_an_expired_key_is_forgotten_and_runs_the_work_again(client, case, officer, settings):
    auth = bearer(officer)
    assert _note(client, auth, case.reference, "First.", "old-key").status_code == 201
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS, minutes=1)
    )
    again = _note(client, auth, case.reference, "Second, another body.", "old-key")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert CaseNote.objects.count() == 2
    (record,) = IdempotencyRecord.objects.all()
    assert record.response_body == again.json()


@pytest.mark.django_db
def test_a_malformed_key_is_refused(client, case, officer):
    response = _note(client, bearer(officer), case.reference, "x", "k" * 256)
    assert response.status_code == 422


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_posts_with_one_key_create_one_record():
    queue = ReviewQueue.objects.get(code="standard")
    (case,) = queued_cases(queue, 1)
    auth = bearer(officer_in(queue, with_totp=False))
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def post() -> None:
        try:
            barrier.wait()
            response = _note(Client(), auth, case.reference, "Once.", "parallel-key")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert CaseNote.objects.filter(application=case).count() == 1
    assert statuses == [201] * 20  # the others waited for the first, then replayed it


class _Answering:
    """A view's post under @idempotent, answering whatever the test gives it."""

    def __init__(self, response):
        self.response = response

    @idempotent
    def post(self, request):
        return self.response


def _request(user, key):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory, force_authenticate

    raw = APIRequestFactory().post("/api/v1/anything/", {}, format="json")
    raw.META["HTTP_IDEMPOTENCY_KEY"] = key
    force_authenticate(raw, user=user)
    request = Request(raw)
    request.user = user
    return request


@pytest.mark.django_db
def test_the_answer_is_kept_as_the_models_json_fields_keep_it(officer):
    from decimal import Decimal
    from uuid import UUID

    from django.core.serializers.json import DjangoJSONEncoder
    from django.utils.translation import gettext_lazy
    from rest_framework.response import Response

    when = timezone.now()
    body = {
        "message": gettext_lazy("Not found."),
        "at": when,
        "amount": Decimal("1.50"),
        "id": UUID(int=7),
        "list": [1, "二"],
    }
    response = Response(
        body, status=201, headers={"ETag": '"v1"', "Location": "/x/", "X-Other": "1"}
    )
    _Answering(response).post(_request(officer, "kept"))

    record = IdempotencyRecord.objects.get(owner=officer, key="kept")
    by_orm = IdempotencyRecord.objects.create(
        owner=officer, key="orm", method="POST", path="/", request_hash="", response_body=body
    )
    assert record.status_code == 201
    assert record.response_body == IdempotencyRecord.objects.get(pk=by_orm.pk).response_body
    assert record.response_body["message"] == "Not found."
    assert record.response_body["at"] == DjangoJSONEncoder().default(when)
    assert record.response_headers == {"ETag": '"v1"', "Location": "/x/"}  # others not kept


@pytest.mark.django_db
def test_an_answer_without_a_body_is_kept_as_null(officer):
    from rest_framework.response import Response

    _Answering(Response(status=204)).post(_request(officer, "empty"))
    record = IdempotencyRecord.objects.get(owner=officer, key="empty")
    assert (record.status_code, record.response_body) == (204, None)
    assert IdempotencyRecord.objects.filter(key="empty", response_body__isnull=True).exists()
