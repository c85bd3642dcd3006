"""A URLconf with one page per gate, so the decorators and the DRF permission are tested
through the full middleware stack rather than with hand-built requests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsOfficerWithMFA, IsSupervisorWithMFA, supervisor_required


@supervisor_required
def supervisor_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("supervisor tools")


class OfficerApi(APIView):
    permission_classes = [IsOfficerWithMFA]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class SupervisorApi(APIView):
    permission_classes = [IsSupervisorWithMFA]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("supervisor-page/", supervisor_page),
    path("officer-api/", OfficerApi.as_view()),
    path("supervisor-api/", SupervisorApi.as_view()),
    path("", include("kvisa.urls")),
]
