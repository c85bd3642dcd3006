"""Screening tests build applications with the applicant-journey builders."""

from __future__ import annotations

import pytest

from applications import services as app_services
from tests.applications.conftest import complete_draft, media_root  # noqa: F401 (fixture)


def submit(application):
    return app_services.application_submit(
        application=application, actor=application.applicant, signature_name=application.full_name
    )


@pytest.fixture
def submitted_app(db, media_root, django_capture_on_commit_callbacks):  # noqa: F811
    """A submitted application whose after-commit task was not run (nothing screened yet)."""
    with django_capture_on_commit_callbacks(execute=False):
        return submit(complete_draft())
