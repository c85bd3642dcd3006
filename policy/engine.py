"""The one rule engine: facts about an applicant + a policy version → an explained result.

The public self-check and the screening pipeline both call `evaluate`, so the applicant and
the officer read the same outcome and the same explanation. The engine is pure: no database,
no clock. What it needs from the governed lists (which fields are STEM, which institutions are
recognised and at which tier) comes in as `Lists`, loaded once by the caller, which is what
lets the policy simulator evaluate a million applications without a query each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, NamedTuple

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DEGREE_ORDER = {"bachelor": 1, "master": 2, "doctorate": 3}
EXPLANATION_LANGUAGES = ("en", "zh-hans")


@dataclass(frozen=True)
class DegreeFact:
    level: str
    field_id: int | None
    institution_id: int | None  # None: typed by the applicant, not in the recognised list


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at, as plain values (stored with each screening result)."""

    path: str
    date_of_birth: date | None
    reference_date: date  # ages are counted on this day: submission, or today for a self-check
    degrees: tuple[DegreeFact, ...] = ()
    post_is_stem: bool | None = None
    post_field_id: int | None = None
    post_institution_id: int | None = None
    years_experience: int = 0
    hsk_level: int | None = None
    taught_in_chinese: bool = False
    publications: int = 0
    patents: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date_of_birth"] = self.date_of_birth.isoformat() if self.date_of_birth else None
        data["reference_date"] = self.reference_date.isoformat()
        data["degrees"] = [asdict(d) for d in self.degrees]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Facts:
        values = dict(data)
        values["date_of_birth"] = (
            date.fromisoformat(values["date_of_birth"]) if values.get("date_of_birth") else None
        )
        values["reference_date"] = date.fromisoformat(values["reference_date"])
        values["degrees"] = tuple(DegreeFact(**d) for d in values.get("degrees", ()))
        return cls(**values)

    @property
    def highest_degree(self) -> DegreeFact | None:
        """The degree of the highest level (the first of equals), or None without degrees."""
        return max(self.degrees, key=lambda d: DEGREE_ORDER.get(d.level, 0), default=None)

    @property
    def age(self) -> int | None:
        """Completed years on the reference day (a birthday on 29 February counts on 1 March)."""
        born, on = self.date_of_birth, self.reference_date
        if born is None:
            return None
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass(frozen=True)
class Lists:
    """The governed lists as the engine needs them: active STEM field ids, institution tiers."""

    stem_field_ids: frozenset[int]
    institution_tiers: Mapping[int, int]


@dataclass
class RuleResult:
    code: str
    kind: str  # "criterion" (pass/fail), "points" (a factor) or "threshold" (fast track)
    value: Any
    threshold: Any
    passed: bool | None = None
    points: int | None = None
    max_points: int | None = None
    explanation: dict[str, str] = field(default_factory=dict)


@dataclass
class Evaluation:
    path: str
    eligible: bool
    points: int
    max_points: int
    fast_track: bool
    fast_track_threshold: int
    rules: list[RuleResult]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if r.kind == "criterion" and not r.passed]


Explain = Callable[[Promise, dict[str, Any]], dict[str, str]]


def in_both_languages(template: Promise, params: dict[str, Any]) -> dict[str, str]:
    """`template % params` rendered in each explanation language (lazy params included)."""
    texts = {}
    for language in EXPLANATION_LANGUAGES:
        with translation.override(language):
            texts[language] = str(template) % {k: _text(v) for k, v in params.items()}
    return texts


def explanation_in_active_language(texts: Mapping[str, str] | None) -> str:
    """One explanation from `in_both_languages`, in the active language, else in English."""
    texts = texts or {}
    if (translation.get_language() or "").lower().startswith("zh"):
        return texts.get("zh-hans") or texts.get("en", "")
    return texts.get("en") or next(iter(texts.values()), "")


def _explain_none(template: Promise, params: dict[str, Any]) -> dict[str, str]:
    return {}


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Promise) else value


DEGREE_LABELS = {
    "bachelor": _("a bachelor's degree"),
    "master": _("a master's degree"),
    "doctorate": _("a doctorate"),
}


def _criterion(
    explain: Explain,
    code: str,
    passed: bool,
    value: Any,
    threshold: Any,
    template: Promise,
    **params: Any,
) -> RuleResult:
    return RuleResult(
        code=code,
        kind="criterion",
        value=value,
        threshold=threshold,
        passed=passed,
        explanation=explain(template, params),
    )


def _age_rule(facts: Facts, criteria: Mapping[str, Any], explain: Explain) -> RuleResult:
    low, high = criteria["age"]["min"], criteria["age"]["max"]
    age = facts.age
    if age is None:
        return _criterion(
            explain, "age", False, None, [low, high], _("The date of birth is missing.")
        )
    passed = low <= age <= high
    template = (
        _("Age %(age)s is within the range %(min)s to %(max)s.")
        if passed
        else _("Age %(age)s is outside the range %(min)s to %(max)s.")
    )
    return _criterion(
        explain, "age", passed, age, [low, high], template, age=age, min=low, max=high
    )


def _graduate_rules(
    facts: Facts, criteria: Mapping[str, Any], lists: Lists, explain: Explain
) -> list[RuleResult]:
    """A qualifying degree must meet every condition at once; each condition is its own rule,
    evaluated on the degrees that passed the conditions before it, so the explanation says
    which condition no degree met."""
    minimum = criteria["min_degree_level"]
    rank = DEGREE_ORDER[minimum]
    results: list[RuleResult] = []
    candidates = [d for d in facts.degrees if DEGREE_ORDER.get(d.level, 0) >= rank]
    highest = facts.highest_degree
    best_level = highest.level if highest and highest.level in DEGREE_ORDER else None
    results.append(
        _criterion(
            explain,
            "degree_level",
            bool(candidates),
            best_level,
            minimum,
            _("Highest degree: %(level)s; at least %(minimum)s is required.")
            if best_level
            else _("No degree was given; at least %(minimum)s is required."),
            level=DEGREE_LABELS.get(best_level or "", ""),
            minimum=DEGREE_LABELS[minimum],
        )
    )
    if criteria.get("require_stem_field", True):
        candidates = [d for d in candidates if d.field_id in lists.stem_field_ids]
        results.append(
            _criterion(
                explain,
                "stem_field",
                bool(candidates),
                len(candidates),
                True,
                _("A degree at the required level is in a recognised STEM field.")
                if candidates
                else _("No degree at the required level is in a recognised STEM field."),
            )
        )
    if criteria.get("require_recognised_institution", True):
        candidates = [d for d in candidates if d.institution_id in lists.institution_tiers]
        results.append(
            _criterion(
                explain,
                "recognised_institution",
                bool(candidates),
                len(candidates),
                True,
                _("That degree is from a recognised university or research institution.")
                if candidates
                else _(
                    "No qualifying degree is from a recognised university or research institution."
                ),
            )
        )
    return results


def _researcher_rules(
    facts: Facts, criteria: Mapping[str, Any], lists: Lists, explain: Explain
) -> list[RuleResult]:
    stem_post = bool(facts.post_is_stem) and facts.post_field_id in lists.stem_field_ids
    results = [
        _criterion(
            explain,
            "stem_post",
            stem_post,
            {"teaching_or_research": facts.post_is_stem, "field_id": facts.post_field_id},
            True,
            _("The current post is STEM teaching or research in a recognised STEM field.")
            if stem_post
            else _("The current post is not STEM teaching or research in a recognised STEM field."),
        )
    ]
    if criteria.get("researcher_requires_stem_post", True):
        recognised = facts.post_institution_id in lists.institution_tiers
        results.append(
            _criterion(
                explain,
                "post_institution",
                recognised,
                facts.post_institution_id,
                True,
                _("The post is at a recognised university or research institution.")
                if recognised
                else _("The post is not at a recognised university or research institution."),
            )
        )
    return results


def _points(
    explain: Explain, code: str, value: Any, points: int, maximum: int, template: Promise, **p: Any
) -> RuleResult:
    points = max(0, min(points, maximum))
    return RuleResult(
        code=code,
        kind="points",
        value=value,
        threshold=None,
        points=points,
        max_points=maximum,
        explanation=explain(template, {"points": points, "max": maximum, **p}),
    )


# The points factors, in the order they are scored: (factor key in the points model, rule code,
# scoring function). A scoring function reads the factor's settings and the facts and gives
# the value it scored and the points before the factor's cap. `evaluate` explains each score
# (`_points_rules`); `evaluate_verdict` only adds them up: one formula for both.
Score = tuple[Any, Any]


def _education_score(f: Mapping[str, Any], facts: Facts, lists: Lists) -> Score:
    highest = facts.highest_degree
    level = highest.level if highest else None
    return level, int(f["levels"].get(level, 0)) if level else 0


def _experience_score(f: Mapping[str, Any], facts: Facts, lists: Lists) -> Score:
    years = facts.years_experience
    points = (
        f["points_at_min"] + (years - f["min_years"]) * f["points_per_extra_year"]
        if years >= f["min_years"]
        else 0
    )
    return years, points


def _age_band_score(f: Mapping[str, Any], facts: Facts, lists: Lists) -> Score:
    age = facts.age
    return age, next(
        (p for low, high, p in f["bands"] if age is not None and low <= age <= high), 0
    )


def _institution_tier_score(f: Mapping[str, Any], facts: Facts, lists: Lists) -> Score:
    ids = [d.institution_id for d in facts.degrees] + [facts.post_institution_id]
    tiers = [
        lists.institution_tiers[i] for i in ids if i is not None and i in lists.institution_tiers
    ]
    tier = min(tiers) if tiers else None
    return tier, int(f["tiers"].get(str(tier), 0)) if tier else 0


def _chinese_score(f: Mapping[str, Any], facts: Facts, lists: Lists) -> Score:
    points = max(
        (facts.hsk_level or 0) * f.get("per_hsk_level", 1),
        f.get("taught_in_chinese", 0) if facts.taught_in_chinese else 0,
    )
    return {"hsk_level": facts.hsk_level, "taught_in_chinese": facts.taught_in_chinese}, points


def _research_output_score(f: Mapping[str, Any], facts: Facts, lists: Lists) -> Score:
    points = facts.publications * f.get("per_publication", 0) + facts.patents * f.get(
        "per_patent", 0
    )
    return {"publications": facts.publications, "patents": facts.patents}, points


POINT_FACTORS: tuple[tuple[str, str, Callable[[Mapping[str, Any], Facts, Lists], Score]], ...] = (
    ("education", "education", _education_score),
    ("experience", "experience", _experience_score),
    ("age", "age_band", _age_band_score),
    ("institution_tier", "institution_tier", _institution_tier_score),
    ("chinese", "chinese", _chinese_score),
    ("research_output", "research_output", _research_output_score),
)


def _points_wording(code: str, value: Any, facts: Facts) -> tuple[Promise, dict[str, Any]]:
    """The explanation of one score: its template and the parameters beside points and max."""
    if code == "education":
        level = DEGREE_LABELS.get(value or "", _("no degree"))
        return _("Education (%(level)s): %(points)s of %(max)s points."), {"level": level}
    if code == "experience":
        return (
            _("Relevant experience (%(years)s years): %(points)s of %(max)s points."),
            {"years": value},
        )
    if code == "age_band":
        age = value if value is not None else "—"
        return _("Age band (%(age)s): %(points)s of %(max)s points."), {"age": age}
    if code == "institution_tier":
        template = (
            _("Best institution tier (%(tier)s): %(points)s of %(max)s points.")
            if value
            else _("No recognised institution: %(points)s of %(max)s points.")
        )
        return template, {"tier": value}
    if code == "chinese":
        taught = _(", a degree taught in Chinese") if facts.taught_in_chinese else ""
        return (
            _("Chinese (HSK %(hsk)s%(taught)s): %(points)s of %(max)s points."),
            {"hsk": facts.hsk_level or "—", "taught": taught},
        )
    return (
        _(
            "Research output (%(publications)s publications, %(patents)s patents): "
            "%(points)s of %(max)s points."
        ),
        {"publications": facts.publications, "patents": facts.patents},
    )


def _points_rules(
    facts: Facts, model: Mapping[str, Any], lists: Lists, explain: Explain
) -> list[RuleResult]:
    factors = model.get("factors", {})
    results: list[RuleResult] = []
    for key, code, score in POINT_FACTORS:
        if key not in factors:
            continue
        f = factors[key]
        value, points = score(f, facts, lists)
        template, params = _points_wording(code, value, facts)
        results.append(_points(explain, code, value, points, f["max"], template, **params))
    return results


def evaluate(
    *,
    facts: Facts,
    criteria: Mapping[str, Any],
    points_model: Mapping[str, Any],
    lists: Lists,
    explain: bool = True,
) -> Evaluation:
    """Apply the hard criteria of the applicant's path, then the points model.

    `explain=False` skips rendering the two-language explanations (the simulator only counts).
    """
    explainer: Explain = in_both_languages if explain else _explain_none
    rules = [_age_rule(facts, criteria, explainer)]
    if facts.path == "researcher":
        rules += _researcher_rules(facts, criteria, lists, explainer)
    else:
        rules += _graduate_rules(facts, criteria, lists, explainer)
    eligible = all(r.passed for r in rules)
    point_rules = _points_rules(facts, points_model, lists, explainer)
    points = sum(r.points or 0 for r in point_rules)
    max_points = sum(r.max_points or 0 for r in point_rules)
    threshold = int(points_model.get("fast_track_threshold", max_points + 1))
    fast_track = eligible and points >= threshold
    rules += point_rules
    rules.append(
        RuleResult(
            code="fast_track",
            kind="threshold",
            value=points,
            threshold=threshold,
            passed=fast_track,
            explanation=explainer(
                _("%(points)s points, the fast-track threshold is %(threshold)s: fast track.")
                if fast_track
                else (
                    _("%(points)s points, the fast-track threshold is %(threshold)s: standard.")
                    if eligible
                    else _("Not eligible, so not fast-tracked (%(points)s points).")
                ),
                {"points": points, "threshold": threshold},
            ),
        )
    )
    return Evaluation(
        path=facts.path,
        eligible=eligible,
        points=points,
        max_points=max_points,
        fast_track=fast_track,
        fast_track_threshold=threshold,
        rules=rules,
    )


class Verdict(NamedTuple):
    """What `evaluate` decides, without the rules that explain it."""

    eligible: bool
    fast_track: bool
    points: int


def _clamp(points: Any, maximum: Any) -> Any:
    return max(0, min(points, maximum))  # as `_points` does, so the arithmetic is the same


def evaluate_verdict(
    *,
    facts: Facts,
    criteria: Mapping[str, Any],
    points_model: Mapping[str, Any],
    lists: Lists,
) -> Verdict:
    """`evaluate`'s eligible, fast track and points, without building or explaining a rule.

    For the policy simulator, which counts outcomes over a million cases: a quarter of
    `evaluate`'s time at most. The points are the same scoring functions (POINT_FACTORS); the
    criteria read the same values with the same expressions, in the same order, so a policy
    `evaluate` refuses (a missing key) fails here the same way. tests/policy/test_engine_verdict.py
    holds the two to the same results; a change to a criterion above must be made here too.
    """
    low, high = criteria["age"]["min"], criteria["age"]["max"]
    age = facts.age
    eligible = age is not None and low <= age <= high
    degrees = facts.degrees
    stem_ids, tiers = lists.stem_field_ids, lists.institution_tiers
    if facts.path == "researcher":
        stem_post = bool(facts.post_is_stem) and facts.post_field_id in stem_ids
        if criteria.get("researcher_requires_stem_post", True):
            recognised = facts.post_institution_id in tiers
            eligible = eligible and stem_post and recognised
        else:
            eligible = eligible and stem_post
    else:
        # Each condition filters the degrees that met the ones before, so the last filter
        # leaves a degree exactly when every condition rule passed.
        rank = DEGREE_ORDER[criteria["min_degree_level"]]
        candidates = [d for d in degrees if DEGREE_ORDER.get(d.level, 0) >= rank]
        if criteria.get("require_stem_field", True):
            candidates = [d for d in candidates if d.field_id in stem_ids]
        if criteria.get("require_recognised_institution", True):
            candidates = [d for d in candidates if d.institution_id in tiers]
        eligible = eligible and bool(candidates)

    factors = points_model.get("factors", {})
    earned: list[Any] = []
    maxima: list[Any] = []
    for key, _code, score in POINT_FACTORS:
        if key in factors:
            f = factors[key]
            earned.append(_clamp(score(f, facts, lists)[1], f["max"]))
            maxima.append(f["max"])
    total = sum(p or 0 for p in earned)
    threshold = int(points_model.get("fast_track_threshold", sum(m or 0 for m in maxima) + 1))
    return Verdict(eligible=eligible, fast_track=eligible and total >= threshold, points=total)


# --- Routing -------------------------------------------------------------------------------

ROUTING_CONDITIONS = frozenset(
    {"always", "eligible", "ineligible", "fast_track", "integrity_flags", "incomplete"}
)


@dataclass(frozen=True)
class RoutingInput:
    path: str
    eligible: bool
    fast_track: bool
    points: int
    complete: bool
    flags: tuple[str, ...]


def _condition_holds(condition: str, case: RoutingInput) -> bool:
    return {
        "always": True,
        "eligible": case.eligible,
        "ineligible": not case.eligible,
        "fast_track": case.fast_track,
        "integrity_flags": bool(case.flags),
        "incomplete": not case.complete,
    }[condition]


def route(rules: list[Mapping[str, Any]], case: RoutingInput) -> tuple[int, Mapping[str, Any]]:
    """The first rule whose conditions all hold: (its index, the rule).

    A rule is ``{"when": "fast_track" | [conditions…], "queue": code}`` with optional
    ``"path"``, ``"min_points"``, ``"flags"`` (any of these flag codes) and
    ``"priority_boost"``. A valid policy ends with an ``always`` rule (policy.schema checks),
    so every case lands somewhere.
    """
    for index, rule in enumerate(rules):
        when = rule.get("when", "always")
        conditions = [when] if isinstance(when, str) else list(when)
        if not all(_condition_holds(c, case) for c in conditions):
            continue
        if rule.get("path") and rule["path"] != case.path:
            continue
        if "min_points" in rule and case.points < rule["min_points"]:
            continue
        if rule.get("flags") and not set(rule["flags"]) & set(case.flags):
            continue
        return index, rule
    raise ValueError("no routing rule matched: the policy's routing rules must end with 'always'")
