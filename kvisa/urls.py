from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from applications import views as applications_views

urlpatterns = [
    path("", include("pages.urls")),
    path("", include("ops.urls")),
    path("accounts/", include("allauth.urls")),
    # The applicant's side of a decision (letter download) lives with the decisions.
    path("applications/", include("reviews.applicant_urls")),
    path("applications/", include("applications.urls")),
    path("verify/", include("reviews.verify_urls")),
    path("status/", applications_views.status_lookup, name="status_lookup"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("eligibility/", include("policy.urls")),
    path("workspace/simulations/", include("screening.urls")),
    path("workspace/", include("reviews.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("reviews.api_urls")),
    path("api/v1/", include("integrations.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline one.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
]

handler400 = "pages.views.bad_request"
handler403 = "pages.views.permission_denied"
handler404 = "pages.views.page_not_found"
handler500 = "pages.views.server_error"
