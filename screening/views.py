"""Supervisor pages for policy simulations: start one for a draft, follow it, read the result."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import supervisor_required
from accounts.models import User
from kvisa.errors import DomainError
from screening import simulation
from screening.models import PolicySimulation

# The page refreshes itself this often while a simulation runs (htmx, or <meta> without JS).
REFRESH_SECONDS = 3
LIST_LENGTH = 50
LIST_COLUMNS = (
    "public_id",
    "state",
    "total",
    "processed",
    "created_at",
    "version",
    "version__name",
    "requested_by",
    "requested_by__email",
    "requested_by__full_name",
)


# One small form, kept beside its only view rather than in a forms module of its own.
class SimulationStartForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=simulation.simulation_versions(), label=_("Draft policy version")
    )


@supervisor_required  # outermost: a non-supervisor learns nothing, not even the methods
@require_http_methods(["GET", "POST"])
def simulation_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # supervisor_required admits signed-in users only
    form = SimulationStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            started = simulation.simulation_create(version=form.cleaned_data["version"], actor=user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The simulation has started."))
            return redirect("screening:simulation_detail", public_id=started.public_id)
    context = {
        # the list shows no results, so their (large) JSON is not read
        "simulations": list(
            simulation.simulations_visible_to(user).only(*LIST_COLUMNS)[:LIST_LENGTH]
        ),
        "form": form,
        # the template renders the options from this list (one query, not one more per use)
        "versions": list(simulation.simulation_versions().only("pk", "name")),
    }
    return render(request, "screening/simulation_list.html", context)


@supervisor_required
@require_GET
def simulation_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    user = cast(User, request.user)
    item = get_object_or_404(simulation.simulations_visible_to(user), public_id=public_id)
    running = item.state in (PolicySimulation.State.PENDING, PolicySimulation.State.RUNNING)
    context = {
        "simulation": item,
        "running": running,
        "refresh_seconds": REFRESH_SECONDS,
        "report": simulation.simulation_report(item)
        if item.state == PolicySimulation.State.DONE
        else None,
    }
    return render(request, "screening/simulation_detail.html", context)
