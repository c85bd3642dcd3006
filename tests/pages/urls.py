"""The project's URLs plus views that fail on purpose, to exercise the error handlers."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from kvisa.urls import handler400, handler403, handler404, handler500

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def raise_suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("malformed on purpose")


def raise_permission_denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def raise_database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("could not connect to server")


urlpatterns = [
    path("__test__/400/", raise_suspicious),
    path("__test__/403/", raise_permission_denied),
    path("__test__/500/", raise_database_down),
    path("", include("kvisa.urls")),
]
