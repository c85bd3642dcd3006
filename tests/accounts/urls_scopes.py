"""One API view per scope, to test the scope rules through the full request stack."""

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import scope_required
from accounts.models import Scope


def _view(scope: Scope) -> type[APIView]:
    class ScopedView(APIView):
        permission_classes = [scope_required(scope)]

        def get(self, request: Request) -> Response:
            return Response({"scope": scope.value, "user": request.user.email})

    return ScopedView


urlpatterns = [
    *(path(f"scoped/{scope.value}/", _view(scope).as_view()) for scope in Scope),
    path("", include("kvisa.urls")),
]
