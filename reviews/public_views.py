"""Pages of the decisions outside the officer workspace: the public visa check, reached from the
QR code on an approval letter, and the applicant's download of their own decision letter."""

from __future__ import annotations

import re
from typing import cast
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_countries import countries

from accounts.models import User
from applications.selectors import application_of
from applications.uploads import private_file_response
from kvisa.ratelimit import allow, client_ip
from reviews import selectors
from reviews.services import visa_state

# secrets.token_urlsafe(32) makes 43 characters; anything else is refused before the database.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@require_GET
def visa_verify(request: HttpRequest, token: str) -> HttpResponse:
    """Public: valid or not (and why), validity, entries, stay, holder's name and nationality.

    Nothing else about the holder, and the same 404 for a malformed and an unknown token. Every
    request counts against a per-address limit, so tokens cannot be enumerated.
    """
    context: dict[str, object] = {"checked_at": timezone.now()}
    status = 200
    if not allow(
        scope="visa-verify",
        key=client_ip(request),
        limit=settings.VISA_VERIFY_RATE,
        window_seconds=3600,
    ):
        context["rate_limited"] = True
        status = 429
    else:
        visa = selectors.visa_by_token(token=token) if TOKEN_PATTERN.fullmatch(token) else None
        if visa is None:
            status = 404
        else:
            context |= {
                "visa": visa,
                "state": visa_state(visa),
                "nationality": countries.name(visa.holder_nationality),
            }
    response = render(request, "reviews/verify.html", context, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    # The token is in the address: no other site may learn it from a link followed here.
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_GET
def letter_download(request: HttpRequest, public_id: UUID) -> FileResponse:
    """The applicant's own decision letter, as a download; 404 for anyone else's or none yet."""
    application = application_of(cast(User, request.user), public_id)
    letter = next(iter(application.letters.all()), None)
    if letter is None:
        raise Http404
    return private_file_response(
        letter.file, filename=letter.download_name, content_type="application/pdf"
    )
