"""Domain errors and their one mapping to HTTP: RFC 9457 problem details for the API.

Services raise DomainError subclasses; views never translate them by hand. The HTML side
shows the same message through Django's messages framework (see each view).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A business rule refused the operation. `code` is stable; `message` is for people."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "domain_error"
    title = _("The request could not be processed.")

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = str(message or self.title)
        self.extra = extra or {}
        super().__init__(self.message)


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    title = _("Not found.")


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    title = _("You are not allowed to do this.")


class Conflict(DomainError):
    """The resource is not in a state that allows the operation (e.g. an illegal transition)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    title = _("The request conflicts with the current state of the resource.")


class PreconditionFailed(DomainError):
    """If-Match named a version of the resource that is no longer current."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    code = "precondition_failed"
    title = _("The resource changed since you read it.")


class PreconditionRequired(DomainError):
    """A write that must name the version it was based on came without If-Match."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    code = "precondition_required"
    title = _("This request needs an If-Match header with the resource's ETag.")


class ValidationFailed(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "validation_failed"
    title = _("The data is not valid.")


PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(
    *, status_code: int, title: str, detail: Any, code: str, extra: dict[str, Any] | None = None
) -> Response:
    body = problem_body(status_code=status_code, title=title, detail=detail, code=code, extra=extra)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_body(
    *, status_code: int, title: str, detail: Any, code: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem document (the schema's examples are built with it too)."""
    body: dict[str, Any] = {
        "type": f"about:blank#{code}",
        "title": str(title),
        "status": status_code,
        "code": code,
    }
    if isinstance(detail, dict | list):
        body["detail"] = str(title)
        body["errors"] = detail
    else:
        body["detail"] = str(detail)
    if extra:
        body.update(extra)
    return body


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every error leaves the API as problem details."""
    if isinstance(exc, DomainError):
        return problem_response(
            status_code=exc.status_code,
            title=str(exc.title),
            detail=exc.message,
            code=exc.code,
            extra=exc.extra,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        detail = detail["detail"]
    title = str(exc.default_detail)
    if "{" in title:  # DRF's 415 title is a template ('… "{media_type}" …'): no title for people
        title = str(_("The request body is in a format this operation does not read."))
    problem = problem_response(
        status_code=response.status_code,
        title=title,
        detail=detail,
        code=codes if isinstance(codes := exc.get_codes(), str) else str(exc.default_code),
    )
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    return problem
