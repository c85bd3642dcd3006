"""A URLconf for ops tests: the real ops routes plus two plain views standing in for the app's."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from ops.tasks import worker_heartbeat


def publish(request: HttpRequest) -> HttpResponse:
    """Queue a task from inside a request, as application views do."""
    worker_heartbeat.delay()
    return HttpResponse("queued")


def private(request: HttpRequest) -> HttpResponse:
    """An ordinary view: LoginRequiredMiddleware, when enabled, guards it."""
    return HttpResponse("private")


urlpatterns = [
    path("", include("ops.urls")),
    path("publish", publish),
    path("private", private),
]
