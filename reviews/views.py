"""Officer workspace pages. Every view is behind ``officer_required`` or stricter."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import mfa_verified_at, officer_required
from accounts.models import User
from accounts.selectors import user_capabilities, user_role_labels, user_security_summary


@officer_required  # outermost: a non-officer learns nothing, not even the allowed methods
@require_GET
def workspace_home(request: HttpRequest) -> HttpResponse:
    """The officer's start page: who they are, what they may do, and their sign-in security."""
    user = cast(User, request.user)  # officer_required admits signed-in users only
    context = {
        "roles": user_role_labels(user=user),
        "capabilities": user_capabilities(user=user),
        "security": user_security_summary(user=user),
        "mfa_verified_at": mfa_verified_at(request),
    }
    return render(request, "reviews/home.html", context)
