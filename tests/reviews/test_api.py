"""The officer API: the workspace's rules over HTTP, with ETags, problem details and cursors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Scope
from accounts.services import api_client_create
from applications.models import Application, Status
from reviews import services
from reviews.models import CaseAccess, Decision, Visa
from screening.models import QueueEntry
from tests.factories import ApplicantFactory, OfficerFactory, bearer
from tests.reviews.conftest import officer_in, queued_cases

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(officer):
    return bearer(officer)


def _claim(client, auth, queue):
    return client.post(f"/api/v1/queues/{queue.code}/claim/", **auth)


def test_queues_list_the_callers_queues_with_counts(client, auth, queue, case):
    response = client.get("/api/v1/queues/", **auth)
    assert response.status_code == 200
    (row,) = response.json()
    assert row["code"] == queue.code
    assert row["waiting_count"] == 1
    assert row["overdue_count"] == 0


def test_claim_next_returns_the_case_then_204_when_empty(client, auth, queue, case, officer):
    claimed = _claim(client, auth, queue)
    assert claimed.status_code == 200
    assert claimed.json()["reference"] == case.reference
    assert claimed.json()["queue_entry"]["state"] == "in_review"
    assert claimed.json()["queue_entry"]["held_by"] == officer.email
    # holding a case: the same one again
    assert _claim(client, auth, queue).json()["reference"] == case.reference
    other = officer_in(queue)
    assert _claim(client, bearer(other), queue).status_code == 204


def test_claim_from_a_queue_one_does_not_belong_to_is_404(client, queue, case):
    response = _claim(client, bearer(OfficerFactory()), queue)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_case_detail_has_the_explanation_an_etag_and_records_the_access(
    client, auth, case, officer
):
    response = client.get(f"/api/v1/cases/{case.reference}/", **auth)
    assert response.status_code == 200
    body = response.json()
    assert body["screening"]["eligible"] is True
    rule = body["screening"]["rules"][0]
    assert set(rule["explanation"]) == {"en", "zh-hans"}
    assert body["documents"]
    assert body["snapshot"]
    assert response["ETag"].startswith('"')
    assert CaseAccess.objects.filter(officer=officer, application=case).count() == 1


def test_deciding_needs_if_match_and_refuses_a_stale_one(client, auth, queue, case, settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    _claim(client, auth, queue)
    etag = client.get(f"/api/v1/cases/{case.reference}/", **auth)["ETag"]
    terms = services.default_visa_terms(case)
    body = {
        "outcome": "approve",
        "valid_from": terms.valid_from.isoformat(),
        "valid_until": terms.valid_until.isoformat(),
        "entries": terms.entries,
        "max_stay_days": 90,
    }
    url = f"/api/v1/cases/{case.reference}/decisions/"

    missing = client.post(url, body, content_type="application/json", **auth)
    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition_required"

    stale = client.post(url, body, content_type="application/json", HTTP_IF_MATCH='"0000"', **auth)
    assert stale.status_code == 412

    done = client.post(url, body, content_type="application/json", HTTP_IF_MATCH=etag, **auth)
    assert done.status_code == 201, done.json()
    assert done.json()["state"] == "final"
    assert Visa.objects.get(application=case).max_stay_days == 90


def test_invalid_terms_are_422_with_errors_per_field(client, auth, queue, case):
    _claim(client, auth, queue)
    etag = client.get(f"/api/v1/cases/{case.reference}/", **auth)["ETag"]
    terms = services.default_visa_terms(case)
    response = client.post(
        f"/api/v1/cases/{case.reference}/decisions/",
        {
            "outcome": "approve",
            "valid_from": terms.valid_from.isoformat(),
            "valid_until": (terms.valid_until + timedelta(days=30)).isoformat(),
            "entries": "multiple",
            "max_stay_days": 999,
        },
        content_type="application/json",
        HTTP_IF_MATCH=etag,
        **auth,
    )
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"valid_until", "max_stay_days"}
    assert not Decision.objects.exists()


def test_a_refusal_is_confirmed_by_a_second_officer_through_the_api(
    client, auth, queue, case, second_officer
):
    _claim(client, auth, queue)
    etag = client.get(f"/api/v1/cases/{case.reference}/", **auth)["ETag"]
    proposed = client.post(
        f"/api/v1/cases/{case.reference}/decisions/",
        {"outcome": "refuse", "reasons": ["criteria-not-met"]},
        content_type="application/json",
        HTTP_IF_MATCH=etag,
        **auth,
    ).json()
    assert proposed["state"] == "awaiting_review"
    review_url = f"/api/v1/decisions/{proposed['id']}/second-review/"

    own = client.post(review_url, {"action": "confirm"}, content_type="application/json", **auth)
    assert own.status_code == 403

    confirmed = client.post(
        review_url, {"action": "confirm"}, content_type="application/json", **bearer(second_officer)
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["state"] == "final"
    assert confirmed.json()["reviewed_by"] == second_officer.email
    case.refresh_from_db()
    assert case.status == Status.REFUSED


def test_notes_evidence_and_timeline(client, auth, queue, case):
    _claim(client, auth, queue)
    note = client.post(
        f"/api/v1/cases/{case.reference}/notes/",
        {"text": "Called the university."},
        content_type="application/json",
        **auth,
    )
    assert note.status_code == 201
    assert [
        n["text"] for n in client.get(f"/api/v1/cases/{case.reference}/notes/", **auth).json()
    ] == ["Called the university."]
    evidence = client.post(
        f"/api/v1/cases/{case.reference}/evidence-requests/",
        {
            "items": ["Transcript"],
            "message": "Please send the transcript.",
            "due_on": (timezone.localdate() + timedelta(days=20)).isoformat(),
        },
        content_type="application/json",
        **auth,
    )
    assert evidence.status_code == 201
    case.refresh_from_db()
    assert case.status == Status.EVIDENCE_REQUESTED
    timeline = client.get(f"/api/v1/cases/{case.reference}/timeline/", **auth).json()
    kinds = [event["kind"] for event in timeline["results"]]
    assert kinds[0] == "created"
    assert "note" in kinds


def test_releasing_a_case_one_does_not_hold_is_a_409(client, auth, case):
    response = client.post(f"/api/v1/cases/{case.reference}/release/", **auth)
    assert response.status_code == 409
    assert response.json()["detail"]


def test_a_document_downloads_and_the_access_is_recorded(client, auth, case, officer):
    document = case.documents.first()
    response = client.get(f"/api/v1/cases/{case.reference}/documents/{document.public_id}/", **auth)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == document.file.open("rb").read()
    assert CaseAccess.objects.filter(document=document, action="download").count() == 1


def test_case_list_filters_and_pages_with_a_cursor(client, auth, queue, case):
    queued_cases(queue, 60)
    first = client.get("/api/v1/cases/", {"queue": queue.code, "page_size": 50}, **auth).json()
    assert len(first["results"]) == 50
    second = client.get(first["next"], **auth).json()
    assert len(second["results"]) == 11
    assert (
        client.get("/api/v1/cases/", {"reference": case.reference}, **auth).json()["results"][0][
            "reference"
        ]
        == case.reference
    )
    assert client.get("/api/v1/cases/", {"nationality": "NG"}, **auth).json()["results"]
    assert not client.get("/api/v1/cases/", {"overdue": "true"}, **auth).json()["results"]
    QueueEntry.objects.filter(application=case).update(due_at=timezone.now() - timedelta(days=1))
    overdue = client.get("/api/v1/cases/", {"overdue": "true"}, **auth).json()["results"]
    assert [c["reference"] for c in overdue] == [case.reference]


def test_case_list_runs_a_fixed_number_of_queries(client, auth, queue, django_assert_num_queries):
    queued_cases(queue, 5)
    # the token with its user and permissions (one query), the page: never per row
    with django_assert_num_queries(2):
        client.get("/api/v1/cases/", **auth)
    queued_cases(queue, 40)
    with django_assert_num_queries(2):
        client.get("/api/v1/cases/", **auth)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_the_list_shows_each_case_as_the_case_serializer_does(
    client, auth, queue, officer, settings, zone
):
    """The list reads values() rows (reviews.apis.common.case_summary); the serializer is the
    published shape: both must agree for a case in every queue state, in any time zone."""
    from reviews.apis.common import CaseSummarySerializer

    settings.TIME_ZONE = zone

    _waiting, _held, overdue, paused = queued_cases(queue, 4)
    services.case_claim_next(officer=officer, queue=queue)  # the oldest: now held, with a lease
    QueueEntry.objects.filter(application=overdue).update(due_at=timezone.now() - timedelta(1))
    QueueEntry.objects.filter(application=paused).update(state="paused", paused_at=timezone.now())
    listed = client.get("/api/v1/cases/", **auth).json()["results"]
    shown = {row["reference"]: row for row in listed}
    assert {row["queue_entry"]["state"] for row in listed} == {"waiting", "in_review", "paused"}
    assert any(row["queue_entry"]["overdue"] for row in listed)
    assert any(row["queue_entry"]["held_by"] == officer.email for row in listed)
    for application in Application.objects.filter(reference__in=shown).select_related(
        "queue_entry__queue", "queue_entry__claimed_by"
    ):
        assert shown[application.reference] == CaseSummarySerializer(application).data


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC"])
def test_an_entrys_summary_is_the_case_serializers_in_every_queue_state(
    queue, officer, settings, zone
):
    """Claim and release answer with entry_summary (reviews.apis.common), the serializer's
    shape built without its fields: both must agree for every state, in any time zone."""
    from reviews.apis.common import CaseSummarySerializer, entry_summary

    settings.TIME_ZONE = zone
    _waiting, _held, overdue, paused = queued_cases(queue, 4)
    services.case_claim_next(officer=officer, queue=queue)
    QueueEntry.objects.filter(application=overdue).update(due_at=timezone.now() - timedelta(1))
    QueueEntry.objects.filter(application=paused).update(state="paused", paused_at=timezone.now())
    entries = list(
        QueueEntry.objects.filter(queue=queue).select_related("application", "queue", "claimed_by")
    )
    assert {e.state for e in entries} >= {"waiting", "in_review", "paused"}
    for entry in entries:
        # as JSON, and type for type: a Country equals its code, but cannot be rendered
        summary = json.dumps(entry_summary(entry), sort_keys=True)
        assert summary == json.dumps(CaseSummarySerializer(entry.application).data, sort_keys=True)


def test_the_field_filter_finds_a_case_by_its_post_or_any_degree_once(client, auth, case):
    degree_field = case.degrees.first().field
    found = client.get("/api/v1/cases/", {"field": degree_field.code}, **auth).json()["results"]
    assert [row["reference"] for row in found] == [case.reference]  # once, however many match
    assert not client.get("/api/v1/cases/", {"field": "no-such-field"}, **auth).json()["results"]


def test_the_filtered_list_reads_a_page_without_distinct(client, auth, case):
    """DISTINCT makes PostgreSQL sort every matching case before it can return the first 50
    (10 s at a million cases); the page must be an index range instead."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    field = case.degrees.first().field.code
    query = {"status": ["queued", "in_review"], "field": field, "queue": "standard"}
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/cases/", query, **auth).status_code == 200
    page = [q["sql"] for q in queries.captured_queries if "applications_application" in q["sql"]]
    assert page
    assert not [sql for sql in page if "DISTINCT" in sql.upper()]


def test_cases_of_other_queues_stay_hidden(client, case):
    outsider = bearer(OfficerFactory())
    assert client.get(f"/api/v1/cases/{case.reference}/", **outsider).status_code == 404
    assert client.get("/api/v1/cases/", **outsider).json()["results"] == []


def test_applicants_and_clients_without_scope_are_refused(client, case):
    applicant = bearer(ApplicantFactory())
    assert client.get("/api/v1/cases/", **applicant).status_code == 403
    border = api_client_create(name="Border", scopes=[Scope.VISAS_VERIFY])
    assert client.get("/api/v1/queues/", **bearer(border.user)).status_code == 403
    reader = api_client_create(name="Reader", scopes=[Scope.CASES_READ])
    # a client sees only the applications it filed: none here
    assert client.get("/api/v1/cases/", **bearer(reader.user)).json()["results"] == []
    assert client.get(f"/api/v1/cases/{case.reference}/", **bearer(reader.user)).status_code == 404


def test_a_client_sees_the_applications_it_filed_and_no_other(client, case, queue):
    from integrations.models import ApplicationFiling

    (other,) = queued_cases(queue, 1)
    reader = api_client_create(name="University", scopes=[Scope.CASES_READ])
    ApplicationFiling.objects.create(client=reader, application=case)
    auth = bearer(reader.user)
    listed = client.get("/api/v1/cases/", **auth).json()["results"]
    assert [c["reference"] for c in listed] == [case.reference]
    assert client.get(f"/api/v1/cases/{case.reference}/", **auth).status_code == 200
    assert client.get(f"/api/v1/cases/{other.reference}/", **auth).status_code == 404
    # reading is not working: a client cannot claim or decide
    assert client.post(f"/api/v1/queues/{queue.code}/claim/", **auth).status_code == 403


def test_date_filters_take_any_iso_offset_and_refuse_dates_out_of_range(client, auth, case):
    # Found by schemathesis: PostgreSQL refuses offsets past ±15:59, and year 1 at +14:00 is
    # before the calendar in UTC; both were 500s.
    far_offset = client.get(
        "/api/v1/cases/", {"submitted_after": "0746-02-28T05:23:49.4-22:15"}, **auth
    )
    assert far_offset.status_code == 200
    assert [c["reference"] for c in far_offset.json()["results"]] == [case.reference]
    too_early = client.get(
        "/api/v1/cases/", {"submitted_before": "0001-01-01T00:00:00+14:00"}, **auth
    )
    assert too_early.status_code == 400
    assert "submitted_before" in too_early.json()["errors"]


def test_the_docs_page_carries_no_inline_script_or_style(client):
    """The CSP (script-src/style-src 'self') would refuse them, leaving a blank page."""
    html = client.get("/api/docs/").content.decode()
    assert "<style" not in html
    assert "<script>" not in html
    assert "?script=" in html  # the start-up script, as a file of this server
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_filter_form_class_is_built_once_and_each_request_is_still_validated(
    client, auth, case
):
    from reviews.apis.cases import CaseFilter

    assert CaseFilter(data={}).get_form_class() is CaseFilter(data={}).get_form_class()
    refused = client.get("/api/v1/cases/", {"status": "no-such-status"}, **auth)
    assert refused.status_code == 400
    assert "status" in refused.json()["errors"]
    found = client.get("/api/v1/cases/", {"reference": case.reference}, **auth).json()
    assert [row["reference"] for row in found["results"]] == [case.reference]
