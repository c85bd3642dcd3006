import json

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _problem(status: int, title: str, code: str) -> HttpResponse:
    """RFC 9457 problem details for API paths that never reached DRF (no route, a crash)."""
    body = {"type": f"about:blank#{code}", "title": title, "status": status, "code": code}
    body["detail"] = title
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/home.html")


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/400.html", status=400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _problem(404, "Not found.", "not_found")
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Render the 500 page without the request, as Django's own handler does.

    No request means no context processors: nothing touches the session, the user or the
    database, which may be exactly what failed. The active language still applies.
    """
    if _is_api(request):
        return _problem(500, "A server error occurred.", "server_error")
    return HttpResponseServerError(loader.get_template("errors/500.html").render())
