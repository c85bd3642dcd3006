"""The emailed link by which an applicant takes over an application filed for them (by an
institution through the API) to check and sign it. A signed token: the application and its
applicant, valid for settings.FILING_LINK_DAYS."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.core import signing

from applications.models import Application

SALT = "kvisa.applications.confirm"


@dataclass(frozen=True)
class Confirmation:
    public_id: UUID
    applicant_id: int


def confirmation_token(application: Application) -> str:
    return signing.dumps(
        {"a": str(application.public_id), "u": application.applicant_id}, salt=SALT
    )


def confirmation_read(token: str) -> Confirmation | None:
    """What the link names, or None when it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.FILING_LINK_DAYS * 86400)
        return Confirmation(public_id=UUID(data["a"]), applicant_id=int(data["u"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
