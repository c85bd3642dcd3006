"""Screening tests build applications with the applicant-journey builders."""

from tests.applications.conftest import (  # noqa: F401 (fixtures and builders)
    complete_draft,
    draft,
    media_root,
    submit,
    submitted,
)
