from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def workspace_home(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")
