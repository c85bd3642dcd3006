"""The project's URLconf plus the baselines under /bench/ (bench.settings uses it)."""

from django.urls import include, path

from kvisa import urls as project

urlpatterns = [path("bench/", include("bench.baselines")), *project.urlpatterns]

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
