"""The rule engine on its own: every rule at its boundaries, with the default policy."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from policy.engine import DegreeFact, Evaluation, Facts, Lists, RoutingInput, evaluate, route

DEFAULT_POLICY = json.loads(
    (Path(__file__).resolve().parents[2] / "policy" / "data" / "default_policy.json").read_text(
        encoding="utf-8"
    )
)
CRITERIA = DEFAULT_POLICY["criteria"]
POINTS = DEFAULT_POLICY["points_model"]

CS, MATHS = 1, 2  # STEM field ids
HISTORY = 99  # a field id that is not on the STEM list
TOP, HIGH, RECOGNISED = 10, 11, 12  # institution ids at tiers 1, 2 and 3
UNLISTED = 999
LISTS = Lists(
    stem_field_ids=frozenset({CS, MATHS}), institution_tiers={TOP: 1, HIGH: 2, RECOGNISED: 3}
)
ON = date(2026, 6, 15)


def born_aged(years: int, *, day_before_birthday: bool = False) -> date:
    """A date of birth that makes someone `years` old on ON (turning years+1 the next day
    when day_before_birthday)."""
    if day_before_birthday:
        return date(ON.year - years - 1, ON.month, ON.day + 1)
    return date(ON.year - years, ON.month, ON.day)


def graduate(**overrides: Any) -> Facts:
    values: dict[str, Any] = {
        "path": "graduate",
        "date_of_birth": born_aged(30),
        "reference_date": ON,
        "degrees": (DegreeFact("master", CS, RECOGNISED),),
        "years_experience": 3,
        "hsk_level": None,
    }
    values.update(overrides)
    return Facts(**values)


def researcher(**overrides: Any) -> Facts:
    values: dict[str, Any] = {
        "path": "researcher",
        "post_is_stem": True,
        "post_field_id": MATHS,
        "post_institution_id": HIGH,
        "degrees": (DegreeFact("doctorate", MATHS, None),),
    }
    values.update(overrides)
    return graduate(**values)


def run(
    facts: Facts, *, criteria: dict[str, Any] | None = None, explain: bool = True
) -> Evaluation:
    return evaluate(
        facts=facts,
        criteria=criteria or CRITERIA,
        points_model=POINTS,
        lists=LISTS,
        explain=explain,
    )


def rule(evaluation: Evaluation, code: str):
    matches = [r for r in evaluation.rules if r.code == code]
    assert len(matches) == 1, f"expected one {code} rule, got {[r.code for r in evaluation.rules]}"
    return matches[0]


# --- Age --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "age", "passed"),
    [
        (born_aged(18), 18, True),
        (born_aged(17, day_before_birthday=True), 17, False),
        (born_aged(17), 17, False),
        (born_aged(45), 45, True),
        (born_aged(45, day_before_birthday=True), 45, True),
        (born_aged(46), 46, False),
    ],
    ids=["18-on-birthday", "day-before-18th", "17", "45-on-birthday", "day-before-46th", "46"],
)
def test_age_range_is_inclusive_and_counted_in_completed_years(born, age, passed):
    evaluation = run(graduate(date_of_birth=born))

    age_rule = rule(evaluation, "age")
    assert age_rule.value == age
    assert age_rule.passed is passed
    assert age_rule.threshold == [18, 45]
    assert evaluation.eligible is passed
    assert str(age) in age_rule.explanation["en"]
    assert ("within" if passed else "outside") in age_rule.explanation["en"]


def test_missing_date_of_birth_fails_the_age_rule():
    evaluation = run(graduate(date_of_birth=None))

    assert rule(evaluation, "age").passed is False
    assert rule(evaluation, "age").explanation["en"] == "The date of birth is missing."
    assert rule(evaluation, "age_band").points == 0
    assert evaluation.eligible is False


@pytest.mark.parametrize(
    ("reference", "age"),
    [
        (date(2018, 2, 28), 17),
        (date(2018, 3, 1), 18),
        (date(2024, 2, 28), 23),
        (date(2024, 2, 29), 24),
    ],
)
def test_a_29_february_birthday_counts_on_1_march_in_common_years(reference, age):
    facts = graduate(date_of_birth=date(2000, 2, 29), reference_date=reference)

    assert facts.age == age
    assert rule(run(facts), "age").passed is (age >= 18)


# --- Graduate path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "minimum", "passed"),
    [
        ("bachelor", "bachelor", True),
        ("master", "bachelor", True),
        ("doctorate", "bachelor", True),
        ("bachelor", "master", False),
        ("master", "master", True),
        ("doctorate", "master", True),
        ("master", "doctorate", False),
    ],
)
def test_degree_level_meets_the_minimum(level, minimum, passed):
    criteria = {**CRITERIA, "min_degree_level": minimum}

    evaluation = run(graduate(degrees=(DegreeFact(level, CS, TOP),)), criteria=criteria)

    assert rule(evaluation, "degree_level").passed is passed
    assert rule(evaluation, "degree_level").value == level
    assert rule(evaluation, "degree_level").threshold == minimum
    assert evaluation.eligible is passed


def test_no_degree_fails_every_degree_rule_with_a_clear_explanation():
    evaluation = run(graduate(degrees=()))

    degree_rule = rule(evaluation, "degree_level")
    assert degree_rule.passed is False
    assert degree_rule.explanation["en"] == (
        "No degree was given; at least a bachelor's degree is required."
    )
    assert rule(evaluation, "stem_field").passed is False
    assert rule(evaluation, "recognised_institution").passed is False
    assert rule(evaluation, "education").points == 0


@pytest.mark.parametrize(
    ("field_id", "passed"), [(CS, True), (MATHS, True), (HISTORY, False), (None, False)]
)
def test_degree_field_must_be_on_the_stem_list(field_id, passed):
    evaluation = run(graduate(degrees=(DegreeFact("master", field_id, TOP),)))

    assert rule(evaluation, "stem_field").passed is passed
    assert evaluation.eligible is passed


@pytest.mark.parametrize(
    ("institution_id", "passed"),
    [(TOP, True), (RECOGNISED, True), (None, False), (UNLISTED, False)],
    ids=["tier-1", "tier-3", "typed-by-applicant", "not-in-tiers"],
)
def test_degree_institution_must_be_recognised(institution_id, passed):
    evaluation = run(graduate(degrees=(DegreeFact("bachelor", CS, institution_id),)))

    assert rule(evaluation, "recognised_institution").passed is passed
    assert evaluation.eligible is passed


def test_one_degree_must_meet_every_condition_at_once():
    # A STEM degree from an unlisted institution and a non-STEM one from a listed institution:
    # neither qualifies on its own.
    degrees = (DegreeFact("bachelor", CS, None), DegreeFact("master", HISTORY, TOP))

    evaluation = run(graduate(degrees=degrees))

    assert rule(evaluation, "degree_level").passed is True
    assert rule(evaluation, "stem_field").passed is True
    assert rule(evaluation, "recognised_institution").passed is False
    assert evaluation.eligible is False
    assert [r.code for r in evaluation.failed()] == ["recognised_institution"]


def test_graduate_rules_are_not_applied_to_researchers_and_vice_versa():
    graduate_codes = {r.code for r in run(graduate()).rules if r.kind == "criterion"}
    researcher_codes = {r.code for r in run(researcher()).rules if r.kind == "criterion"}

    assert graduate_codes == {"age", "degree_level", "stem_field", "recognised_institution"}
    assert researcher_codes == {"age", "stem_post", "post_institution"}


# --- Researcher path --------------------------------------------------------------------------


def test_researcher_with_a_stem_post_at_a_recognised_institution_is_eligible():
    evaluation = run(researcher())

    assert rule(evaluation, "stem_post").passed is True
    assert rule(evaluation, "post_institution").passed is True
    assert evaluation.eligible is True


@pytest.mark.parametrize(
    ("overrides", "failing"),
    [
        ({"post_is_stem": False}, "stem_post"),
        ({"post_is_stem": None}, "stem_post"),
        ({"post_field_id": HISTORY}, "stem_post"),
        ({"post_field_id": None}, "stem_post"),
        ({"post_institution_id": None}, "post_institution"),
        ({"post_institution_id": UNLISTED}, "post_institution"),
    ],
    ids=["not-stem", "unanswered", "non-stem-field", "no-field", "unlisted", "not-in-tiers"],
)
def test_researcher_fails_without_a_stem_post_at_a_recognised_institution(overrides, failing):
    evaluation = run(researcher(**overrides))

    assert [r.code for r in evaluation.failed()] == [failing]
    assert evaluation.eligible is False
    assert "not" in rule(evaluation, failing).explanation["en"]


def test_a_researcher_needs_no_recognised_degree():
    evaluation = run(researcher(degrees=(DegreeFact("bachelor", HISTORY, None),)))

    assert evaluation.eligible is True


# --- Points -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("degrees", "points"),
    [
        ((), 0),
        ((DegreeFact("bachelor", CS, TOP),), 10),
        ((DegreeFact("master", CS, TOP),), 15),
        ((DegreeFact("doctorate", CS, TOP),), 20),
        ((DegreeFact("bachelor", CS, TOP), DegreeFact("doctorate", HISTORY, None)), 20),
    ],
    ids=["none", "bachelor", "master", "doctorate", "best-of-two"],
)
def test_education_points_follow_the_highest_degree(degrees, points):
    education = rule(run(graduate(degrees=degrees)), "education")

    assert education.points == points
    assert education.max_points == 20


@pytest.mark.parametrize(
    ("years", "points"), [(0, 0), (1, 0), (2, 5), (3, 6), (10, 13), (17, 20), (18, 20), (40, 20)]
)
def test_experience_points_start_at_the_minimum_years_and_are_capped(years, points):
    experience = rule(run(graduate(years_experience=years)), "experience")

    assert experience.points == points
    assert experience.max_points == 20
    assert f"({years} years)" in experience.explanation["en"]


@pytest.mark.parametrize(
    ("age", "points"),
    [
        (17, 0),
        (18, 10),
        (25, 10),
        (26, 15),
        (45, 15),
        (46, 10),
        (55, 10),
        (56, 5),
        (60, 5),
        (61, 0),
    ],
)
def test_age_band_points(age, points):
    band = rule(run(graduate(date_of_birth=born_aged(age))), "age_band")

    assert band.value == age
    assert band.points == points
    assert band.max_points == 15


@pytest.mark.parametrize(
    ("degree_institutions", "post_institution", "tier", "points"),
    [
        ((None,), None, None, 0),
        ((UNLISTED,), None, None, 0),
        ((RECOGNISED,), None, 3, 3),
        ((HIGH,), None, 2, 6),
        ((TOP,), None, 1, 10),
        ((RECOGNISED, HIGH), None, 2, 6),
        ((RECOGNISED,), TOP, 1, 10),
        ((None,), HIGH, 2, 6),
    ],
    ids=[
        "typed",
        "unlisted",
        "tier-3",
        "tier-2",
        "tier-1",
        "best-degree",
        "post-best",
        "post-only",
    ],
)
def test_institution_tier_points_take_the_best_of_degrees_and_post(
    degree_institutions, post_institution, tier, points
):
    facts = graduate(
        degrees=tuple(DegreeFact("master", CS, i) for i in degree_institutions),
        post_institution_id=post_institution,
    )

    tier_rule = rule(run(facts), "institution_tier")

    assert tier_rule.value == tier
    assert tier_rule.points == points
    assert tier_rule.max_points == 10
    if tier is None:
        assert tier_rule.explanation["en"] == "No recognised institution: 0 of 10 points."


@pytest.mark.parametrize(
    ("hsk", "taught", "points"),
    [
        (None, False, 0),
        (0, False, 0),
        (1, False, 1),
        (3, False, 3),
        (5, False, 5),
        (9, False, 5),
        (None, True, 5),
        (2, True, 5),
    ],
)
def test_chinese_points_are_the_better_of_hsk_and_a_degree_taught_in_chinese(hsk, taught, points):
    chinese = rule(run(graduate(hsk_level=hsk, taught_in_chinese=taught)), "chinese")

    assert chinese.points == points
    assert chinese.max_points == 5
    assert ("taught in Chinese" in chinese.explanation["en"]) is taught


@pytest.mark.parametrize(
    ("publications", "patents", "points"),
    [(0, 0, 0), (2, 0, 2), (1, 1, 3), (2, 1, 4), (5, 0, 5), (3, 2, 5), (40, 9, 5)],
)
def test_research_output_points_are_capped(publications, patents, points):
    output = rule(run(graduate(publications=publications, patents=patents)), "research_output")

    assert output.points == points
    assert output.max_points == 5


def test_total_points_are_the_sum_of_the_factors_out_of_the_maximum():
    evaluation = run(graduate(hsk_level=3, publications=2))

    factor_points = [r.points for r in evaluation.rules if r.kind == "points"]
    assert evaluation.points == sum(p or 0 for p in factor_points) == 15 + 6 + 15 + 3 + 3 + 2
    assert evaluation.max_points == 75


# --- Fast track -------------------------------------------------------------------------------

# doctorate 20 + 17 years 20 + age 40 15 + tier 3 3 = 58, HSK adds the last points.
STRONG = {
    "date_of_birth": born_aged(40),
    "degrees": (DegreeFact("doctorate", CS, RECOGNISED),),
    "years_experience": 17,
}


def test_fast_track_exactly_at_the_threshold():
    evaluation = run(graduate(**STRONG, hsk_level=2))

    assert evaluation.points == 60 == evaluation.fast_track_threshold
    assert evaluation.fast_track is True
    fast = rule(evaluation, "fast_track")
    assert fast.passed is True
    assert fast.explanation["en"] == ("60 points, the fast-track threshold is 60: fast track.")


def test_one_point_below_the_threshold_is_standard():
    evaluation = run(graduate(**STRONG, hsk_level=1))

    assert evaluation.points == 59
    assert evaluation.eligible is True
    assert evaluation.fast_track is False
    assert rule(evaluation, "fast_track").explanation["en"].endswith(": standard.")


def test_an_ineligible_applicant_is_never_fast_tracked_whatever_the_points():
    facts = graduate(
        **{**STRONG, "degrees": (DegreeFact("doctorate", HISTORY, TOP),)},
        hsk_level=9,
        publications=5,
    )

    evaluation = run(facts)

    assert evaluation.points == 75
    assert evaluation.eligible is False
    assert evaluation.fast_track is False
    assert rule(evaluation, "fast_track").passed is False
    assert rule(evaluation, "fast_track").explanation["en"] == (
        "Not eligible, so not fast-tracked (75 points)."
    )


# --- Explanations and serialisation -----------------------------------------------------------


def test_explanations_come_in_english_and_chinese():
    for result in run(graduate(hsk_level=2, taught_in_chinese=True)).rules:
        assert set(result.explanation) == {"en", "zh-hans"}
        assert result.explanation["en"]
        assert result.explanation["zh-hans"]
        assert result.explanation["zh-hans"] != result.explanation["en"], result.code


@pytest.mark.parametrize(
    "facts",
    [graduate(hsk_level=4), researcher(post_is_stem=False), graduate(date_of_birth=None)],
    ids=["eligible", "ineligible", "no-birth-date"],
)
def test_explain_false_leaves_explanations_empty_but_changes_no_outcome(facts):
    explained, silent = run(facts), run(facts, explain=False)

    assert all(r.explanation == {} for r in silent.rules)
    assert (silent.eligible, silent.points, silent.max_points, silent.fast_track) == (
        explained.eligible,
        explained.points,
        explained.max_points,
        explained.fast_track,
    )
    assert [(r.code, r.kind, r.passed, r.points, r.value) for r in silent.rules] == [
        (r.code, r.kind, r.passed, r.points, r.value) for r in explained.rules
    ]


@pytest.mark.parametrize(
    "facts",
    [
        researcher(hsk_level=6, taught_in_chinese=True, publications=3, patents=1),
        graduate(date_of_birth=None, degrees=(DegreeFact("bachelor", None, None),)),
        graduate(date_of_birth=date(2000, 2, 29), degrees=()),
    ],
)
def test_facts_survive_a_json_round_trip(facts):
    data = json.loads(json.dumps(facts.to_json()))

    assert Facts.from_json(data) == facts


def test_evaluation_to_json_is_plain_json():
    data = run(researcher()).to_json()

    assert json.loads(json.dumps(data)) == data
    assert data["rules"][0]["code"] == "age"


def test_a_policy_can_switch_off_conditions():
    criteria = copy.deepcopy(CRITERIA)
    criteria.update(require_stem_field=False, require_recognised_institution=False)

    evaluation = run(graduate(degrees=(DegreeFact("bachelor", HISTORY, None),)), criteria=criteria)

    assert [r.code for r in evaluation.rules if r.kind == "criterion"] == ["age", "degree_level"]
    assert evaluation.eligible is True


# --- Routing ----------------------------------------------------------------------------------

ROUTING = DEFAULT_POLICY["routing_rules"]
CASE = RoutingInput(
    path="graduate", eligible=True, fast_track=False, points=40, complete=True, flags=()
)


@pytest.mark.parametrize(
    ("case", "index", "queue"),
    [
        (replace(CASE, fast_track=True, points=70, flags=("duplicate_passport",)), 0, "integrity"),
        (replace(CASE, flags=("reused_document",)), 0, "integrity"),
        (replace(CASE, fast_track=True, points=70), 1, "fast-track"),
        (CASE, 2, "standard"),
        (replace(CASE, eligible=False, points=10), 2, "standard"),
    ],
    ids=["flags-beat-fast-track", "flags", "fast-track", "standard", "ineligible"],
)
def test_default_routing_takes_the_first_matching_rule(case, index, queue):
    assert route(ROUTING, case) == (index, ROUTING[index])
    assert ROUTING[index]["queue"] == queue


RULES = [
    {"when": "integrity_flags", "flags": ["passport_expired"], "queue": "passport"},
    {"when": ["eligible", "incomplete"], "queue": "incomplete"},
    {"when": "eligible", "path": "researcher", "queue": "research"},
    {"when": "eligible", "min_points": 50, "queue": "strong", "priority_boost": 2},
    {"when": "ineligible", "queue": "refusal-review"},
    {"when": "always", "queue": "standard"},
]


@pytest.mark.parametrize(
    ("case", "queue"),
    [
        (replace(CASE, flags=("passport_expired", "duplicate_passport")), "passport"),
        (replace(CASE, flags=("duplicate_passport",)), "standard"),
        (replace(CASE, complete=False), "incomplete"),
        (replace(CASE, path="researcher", points=90), "research"),
        (replace(CASE, points=50), "strong"),
        (replace(CASE, points=49), "standard"),
        (replace(CASE, eligible=False, points=90), "refusal-review"),
    ],
    ids=[
        "flag-listed",
        "flag-not-listed",
        "all-conditions",
        "path",
        "min-points",
        "below",
        "ineligible",
    ],
)
def test_routing_conditions_path_min_points_and_flags(case, queue):
    _, matched = route(RULES, case)

    assert matched["queue"] == queue


def test_routing_without_a_catch_all_rule_is_an_error():
    with pytest.raises(ValueError, match="must end with 'always'"):
        route([{"when": "fast_track", "queue": "fast-track"}], CASE)
