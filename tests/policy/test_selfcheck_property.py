"""The self-check and screening agree: the same answers give the same evaluation.

Hypothesis draws an applicant; the answers go through the self-check form and, separately,
into a real application built, submitted and screened through the services. Both results
must match rule by rule, explanations in both languages included. The self-check counts age
on today and screening on the submission day: the same day within a test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from applications import services as app_services
from applications.models import ApplicantPath, Application, DegreeLevel, DocumentKind
from policy.engine import Facts, evaluate
from policy.forms import NOT_LISTED, SelfCheckForm
from policy.models import Institution, StemField
from policy.selectors import engine_lists, policy_in_force
from screening.services import screening_run
from tests.applications.conftest import (  # media_root: a fixture, for the uploads
    ANSWERS,
    media_root,  # noqa: F401
    pdf_upload,
    png_upload,
)
from tests.factories import ApplicantFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
RULE_KEYS = ("code", "kind", "passed", "points", "max_points", "explanation")


@dataclass(frozen=True)
class DegreeAnswer:
    level: str
    field: StemField
    institution: Institution | None  # None: typed by the applicant (not in the list)


@dataclass(frozen=True)
class Applicant:
    path: str
    date_of_birth: date
    degrees: tuple[DegreeAnswer, ...]
    post_is_stem: bool | None
    post_field: StemField | None
    post_institution: Institution | None
    years_experience: int
    hsk_level: int
    taught_in_chinese: bool
    publications: int
    patents: int


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # today is 29 February
        return day.replace(year=day.year - years, day=28)


def birth_dates() -> st.SearchStrategy[date]:
    """Mostly around the birthdays that matter (18, 26, 45, 46 …), plus anything from 14 to 70."""
    around_a_birthday = st.builds(
        lambda years, shift: _years_before(TODAY, years) + timedelta(days=shift),
        st.sampled_from([17, 18, 25, 26, 45, 46, 55, 56, 60, 61]),
        st.integers(-1, 1),
    )
    in_range = st.dates(min_value=_years_before(TODAY, 44), max_value=_years_before(TODAY, 19))
    anywhere = st.dates(min_value=_years_before(TODAY, 70), max_value=_years_before(TODAY, 14))
    return st.one_of(around_a_birthday, in_range, anywhere)


@st.composite
def applicants(
    draw: Any, fields: list[StemField], institutions: list[Institution | None]
) -> Applicant:
    """`fields` and `institutions` mix active entries with inactive ones (and None: typed);
    active entries are drawn more often, so that eligible applicants are common too."""
    field = st.one_of(st.sampled_from([f for f in fields if f.is_active]), st.sampled_from(fields))
    institution = st.one_of(
        st.sampled_from([i for i in institutions if i is not None and i.is_active]),
        st.sampled_from(institutions),
    )
    path = draw(st.sampled_from(ApplicantPath.values))
    born = draw(birth_dates())
    age = Facts(path=path, date_of_birth=born, reference_date=TODAY).age or 0
    most_years = min(max(age - 14, 0), 60)  # the self-check refuses more
    degree = st.builds(
        DegreeAnswer,
        level=st.sampled_from(DegreeLevel.values),
        field=field,
        institution=institution,
    )
    if path == ApplicantPath.RESEARCHER:
        # The application cannot be submitted on this route without a STEM post and its field.
        post_is_stem: bool | None = True
        post_field: StemField | None = draw(field)
    else:
        post_is_stem = draw(st.sampled_from([None, True, False]))
        post_field = draw(st.one_of(st.none(), field))
    return Applicant(
        path=path,
        date_of_birth=born,
        degrees=tuple(draw(st.lists(degree, min_size=1, max_size=2))),
        post_is_stem=post_is_stem,
        post_field=post_field,
        post_institution=draw(institution),
        years_experience=draw(st.one_of(st.integers(0, most_years), st.just(most_years))),
        hsk_level=draw(st.integers(0, 9)),
        taught_in_chinese=draw(st.booleans()),
        publications=draw(st.integers(0, 12)),
        patents=draw(st.integers(0, 6)),
    )


def _choice(item: StemField | Institution | None, *, answered: bool = True) -> str:
    """What the self-check's select box sends for a list entry: inactive or typed → not listed."""
    if item is None:
        return NOT_LISTED if answered else ""
    return str(item.pk) if item.is_active else NOT_LISTED


def selfcheck_answers(applicant: Applicant) -> dict[str, str]:
    data = {
        "path": applicant.path,
        "date_of_birth": applicant.date_of_birth.isoformat(),
        "post_is_stem": "" if applicant.post_is_stem is None else str(applicant.post_is_stem),
        "post_field": _choice(applicant.post_field, answered=applicant.post_field is not None),
        "post_institution": _choice(applicant.post_institution),
        "years_experience": str(applicant.years_experience),
        "hsk_level": str(applicant.hsk_level),
        "publications": str(applicant.publications),
        "patents": str(applicant.patents),
    }
    if applicant.taught_in_chinese:
        data["taught_in_chinese"] = "on"
    for slot, degree in enumerate(applicant.degrees, start=1):
        data[f"degree{slot}_level"] = degree.level
        data[f"degree{slot}_field"] = _choice(degree.field)
        data[f"degree{slot}_institution"] = _choice(degree.institution)
    return data


def submitted_application(applicant: Applicant) -> Application:
    """The same answers as a complete application, built and submitted through the services."""
    user = ApplicantFactory()
    application = app_services.application_create(applicant=user)
    researcher = applicant.path == ApplicantPath.RESEARCHER
    application = app_services.application_update(
        application=application,
        data={
            **ANSWERS,
            "path": applicant.path,
            "date_of_birth": applicant.date_of_birth,
            "employer_name": "Institute of Examples" if researcher else "",
            "job_title": "Research fellow" if researcher else "",
            "post_since": date(2022, 9, 1) if researcher else None,
            "post_is_stem_teaching_research": applicant.post_is_stem,
            "post_field": applicant.post_field,
            "employer_institution": applicant.post_institution,
            "years_experience": applicant.years_experience,
            "hsk_level": applicant.hsk_level or None,
            "degree_taught_in_chinese": applicant.taught_in_chinese,
            "publications_count": applicant.publications,
            "patents_count": applicant.patents,
        },
    )
    for index, answer in enumerate(applicant.degrees):
        degree = app_services.degree_save(
            application=application,
            degree=None,
            data={
                "level": answer.level,
                "field": answer.field,
                "institution": answer.institution,
                "institution_other": "" if answer.institution else "Institute of Examples",
                "country": "NG",
                "started_on": date(2010 + index * 4, 9, 1),
                "awarded_on": date(2013 + index * 4, 7, 1),
            },
        )
        kinds = [DocumentKind.DEGREE_CERTIFICATE] + (
            [] if researcher else [DocumentKind.TRANSCRIPT]
        )
        for kind in kinds:
            app_services.document_add(
                application=application, kind=kind, upload=pdf_upload(), actor=user, degree=degree
            )
    for kind, upload in [
        (DocumentKind.PASSPORT_BIO, pdf_upload()),
        (DocumentKind.PHOTO, png_upload()),
        *([(DocumentKind.POST_PROOF, pdf_upload())] if researcher else []),
    ]:
        app_services.document_add(application=application, kind=kind, upload=upload, actor=user)
    application.refresh_from_db()
    return app_services.application_submit(
        application=application, actor=user, signature_name=application.full_name
    )


@pytest.fixture
def governed_lists() -> tuple[list[StemField], list[Institution | None]]:
    """A sample of the active lists at every tier, plus a retired field and institution that
    the self-check cannot offer and screening must not count."""
    retired_field = StemField.objects.create(
        code="alchemy", discipline="science", name_en="Alchemy", name_zh="炼金术", is_active=False
    )
    retired_institution = Institution.objects.create(
        name_en="Closed Academy", name_zh="已关闭学院", country="GB", tier=1, is_active=False
    )
    fields = list(StemField.objects.filter(is_active=True).order_by("code")[:4])
    institutions: list[Institution | None] = [
        Institution.objects.filter(is_active=True, tier=tier).order_by("name_en").first()
        for tier in (1, 2, 3)
    ]
    return [*fields, retired_field], [*institutions, retired_institution, None]


def _comparable(evaluation: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": evaluation["path"],
        "eligible": evaluation["eligible"],
        "points": evaluation["points"],
        "max_points": evaluation["max_points"],
        "fast_track": evaluation["fast_track"],
        "fast_track_threshold": evaluation["fast_track_threshold"],
        "rules": [{key: rule[key] for key in RULE_KEYS} for rule in evaluation["rules"]],
    }


def test_the_self_check_agrees_with_screening(governed_lists, media_root, client):  # noqa: F811
    fields, institutions = governed_lists

    # Exactly at the fast-track threshold and one point below (doctorate 20, 17 years 20,
    # age 40 15, a tier-3 institution 3, HSK 2 or 1), so both always run.
    strong = Applicant(
        path=ApplicantPath.RESEARCHER,
        date_of_birth=_years_before(TODAY, 40),
        degrees=(DegreeAnswer(DegreeLevel.DOCTORATE, fields[0], None),),
        post_is_stem=True,
        post_field=fields[0],
        post_institution=institutions[2],
        years_experience=17,
        hsk_level=2,
        taught_in_chinese=False,
        publications=0,
        patents=0,
    )
    one_short = replace(
        strong,
        path=ApplicantPath.GRADUATE,
        degrees=(DegreeAnswer(DegreeLevel.DOCTORATE, fields[1], institutions[2]),),
        post_is_stem=None,
        post_field=None,
        post_institution=None,
        hsk_level=1,
    )

    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @example(applicant=strong)
    @example(applicant=one_short)
    @given(applicant=applicants(fields, institutions))
    def check(applicant: Applicant) -> None:
        with transaction.atomic():
            answers = selfcheck_answers(applicant)
            form = SelfCheckForm(answers)
            assert form.is_valid(), form.errors
            policy = policy_in_force()
            mine = evaluate(
                facts=form.facts(),
                criteria=policy.criteria,
                points_model=policy.points_model,
                lists=engine_lists(),
            ).to_json()

            page = client.post("/eligibility/", answers).content.decode()
            assert f"{mine['points']} of {mine['max_points']}" in page
            headline = "You appear to meet" if mine["eligible"] else "You do not appear to meet"
            assert headline in page

            application = submitted_application(applicant)
            screening = screening_run(application_id=application.pk)
            assert screening is not None
            assert screening.facts["reference_date"] == TODAY.isoformat()
            assert _comparable(screening.evaluation) == _comparable(mine)
            assert (screening.eligible, screening.points, screening.fast_track) == (
                mine["eligible"],
                mine["points"],
                mine["fast_track"],
            )
            assert all(set(rule["explanation"]) == {"en", "zh-hans"} for rule in mine["rules"])
            event(f"{applicant.path}, eligible={mine['eligible']}, fast={mine['fast_track']}")
            transaction.set_rollback(True)

    check()
