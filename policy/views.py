"""Public policy pages: the eligibility self-check.

Anyone may use it, without an account, and nothing is stored: the answers are evaluated by the
same rule engine and the same policy in force as screening, and only shown back.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from policy.engine import Evaluation, RuleResult, evaluate, explanation_in_active_language
from policy.forms import SelfCheckForm
from policy.selectors import NoPolicyInForce, engine_lists, policy_in_force

RULE_LABELS = {
    "age": _("Age"),
    "degree_level": _("Degree level"),
    "stem_field": _("STEM field"),
    "recognised_institution": _("Recognised institution"),
    "stem_post": _("STEM teaching or research post"),
    "post_institution": _("Institution of the post"),
    "education": _("Education"),
    "experience": _("Relevant experience"),
    "age_band": _("Age band"),
    "institution_tier": _("Institution tier"),
    "chinese": _("Chinese language"),
    "research_output": _("Research output"),
    "fast_track": _("Fast track"),
}


def _rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """The evaluation as table rows: what each rule is, its outcome and why, in the active
    language."""

    def row(rule: RuleResult) -> dict[str, Any]:
        return {
            "code": rule.code,
            "label": RULE_LABELS.get(rule.code, rule.code),
            "kind": rule.kind,
            "passed": rule.passed,
            "points": rule.points,
            "max_points": rule.max_points,
            "explanation": explanation_in_active_language(rule.explanation),
        }

    return [row(rule) for rule in evaluation.rules]


@require_http_methods(["GET", "POST"])
def selfcheck(request: HttpRequest) -> HttpResponse:
    form = SelfCheckForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_valid():
        try:
            policy = policy_in_force()
        except NoPolicyInForce:
            context["unavailable"] = True
            status = 503
        else:
            evaluation = evaluate(
                facts=form.facts(),
                criteria=policy.criteria,
                points_model=policy.points_model,
                lists=engine_lists(),
            )
            context.update(evaluation=evaluation, rows=_rows(evaluation), policy=policy)
    return render(request, "policy/selfcheck.html", context, status=status)
