"""Request ids: one per request, taken from the proxy when it sent a sane one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
# What proxies send (UUIDs, nginx's 32 hex digits, trace ids); anything else is replaced, so a
# client cannot write arbitrary text into every log line of its request or into task headers.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


class RequestIdMiddleware:
    """Settle the request id before django-structlog binds it, and echo it in the response.

    django-structlog (DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID) takes X-Request-ID as is;
    this middleware, placed ahead of it, guarantees the header is valid or minted here. The
    echoed header lets a user or the proxy quote the id that finds the logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.META.get(_META_KEY, "")
        if not _VALID_REQUEST_ID.fullmatch(request_id):
            request_id = str(uuid.uuid4())
            request.META[_META_KEY] = request_id
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response
