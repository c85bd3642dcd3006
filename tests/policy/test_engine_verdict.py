"""The simulator's fast path, `evaluate_verdict`, decides exactly what `evaluate` decides.

Hypothesis draws a policy (the default one with its numbers moved, conditions switched off,
factors or the threshold left out), governed lists, and facts around that policy's boundaries
(ages either side of the range, listed and unlisted ids); both functions must give the same
eligibility, fast track and points, and fail the same way on a policy `evaluate` refuses.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from policy.engine import (
    DEGREE_ORDER,
    DegreeFact,
    Facts,
    Lists,
    Verdict,
    evaluate,
    evaluate_verdict,
)
from tests.policy.test_engine import CRITERIA, LISTS, POINTS, STRONG, graduate, researcher

FIELD_IDS = list(range(1, 9))
INSTITUTION_IDS = list(range(10, 20))
SWITCHES = ("require_stem_field", "require_recognised_institution", "researcher_requires_stem_post")


@dataclass(frozen=True)
class Case:
    facts: Facts
    lists: Lists
    criteria: dict[str, Any]
    points_model: dict[str, Any]


def full(case: Case) -> Verdict:
    result = evaluate(
        facts=case.facts,
        criteria=case.criteria,
        points_model=case.points_model,
        lists=case.lists,
        explain=False,
    )
    return Verdict(eligible=result.eligible, fast_track=result.fast_track, points=result.points)


def fast(case: Case) -> Verdict:
    return evaluate_verdict(
        facts=case.facts,
        criteria=case.criteria,
        points_model=case.points_model,
        lists=case.lists,
    )


def often(draw: Any) -> bool:
    """True three times in four (Hypothesis' simplest draw, 0, gives True)."""
    return bool(draw(st.integers(0, 3)) < 3)


def _criteria(draw: Any) -> dict[str, Any]:
    criteria = copy.deepcopy(CRITERIA)
    low = draw(st.integers(16, 40))
    criteria["age"] = {"min": low, "max": draw(st.integers(low, 70))}
    criteria["min_degree_level"] = draw(st.sampled_from(list(DEGREE_ORDER)))
    for switch in SWITCHES:
        choice = draw(st.sampled_from(["keep", "off", "on", "absent"]))
        if choice == "absent":
            criteria.pop(switch, None)
        elif choice != "keep":
            criteria[switch] = choice == "on"
    return criteria


def _points_model(draw: Any) -> dict[str, Any]:
    model = copy.deepcopy(POINTS)
    factors = model["factors"]
    for name in list(factors):
        if often(draw):
            factors[name]["max"] = draw(st.integers(0, 30))
        else:
            del factors[name]
    if "education" in factors:
        factors["education"]["levels"] = {
            level: draw(st.integers(0, 30)) for level in DEGREE_ORDER if often(draw)
        }
    if "experience" in factors:
        factors["experience"].update(
            min_years=draw(st.integers(0, 10)),
            points_at_min=draw(st.integers(0, 10)),
            points_per_extra_year=draw(st.integers(0, 5)),
        )
    if "age" in factors:
        factors["age"]["bands"] = draw(
            st.lists(
                st.tuples(st.integers(16, 70), st.integers(16, 70), st.integers(0, 20)),
                max_size=5,
            )
        )
    if "institution_tier" in factors:
        factors["institution_tier"]["tiers"] = {
            tier: draw(st.integers(0, 15)) for tier in ("1", "2", "3") if often(draw)
        }
    for name, keys in (
        ("chinese", ("per_hsk_level", "taught_in_chinese")),
        ("research_output", ("per_publication", "per_patent")),
    ):
        for key in keys if name in factors else ():
            if often(draw):
                factors[name][key] = draw(st.integers(0, 6))
            else:
                factors[name].pop(key, None)
    if often(draw):
        model["fast_track_threshold"] = draw(st.integers(0, 90))
    else:
        del model["fast_track_threshold"]  # evaluate then asks for every point there is
    return model


def _lists(draw: Any) -> Lists:
    """Every id listed but a drawn few (mostly one or two, now and then any number)."""

    def unlisted(ids: list[int]) -> set[int]:
        return set(
            draw(
                st.one_of(st.sets(st.sampled_from(ids), max_size=2), st.sets(st.sampled_from(ids)))
            )
        )

    unlisted_fields, unlisted_institutions = unlisted(FIELD_IDS), unlisted(INSTITUTION_IDS)
    return Lists(
        stem_field_ids=frozenset(FIELD_IDS) - unlisted_fields,
        institution_tiers={
            i: draw(st.integers(1, 3)) for i in INSTITUTION_IDS if i not in unlisted_institutions
        },
    )


def _facts(draw: Any, criteria: dict[str, Any]) -> Facts:
    reference = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    low, high = criteria["age"]["min"], criteria["age"]["max"]
    years = draw(st.one_of(st.integers(low - 1, high + 1), st.integers(0, 75)))
    # a birthday on the reference day, a day either side of it, or any day of the year
    shift = draw(st.one_of(st.integers(-1, 1), st.integers(-366, 366)))
    try:
        born = reference.replace(year=reference.year - years) + timedelta(days=shift)
    except ValueError:  # the reference day is 29 February
        born = reference.replace(year=reference.year - years, day=28)
    # None last: Hypothesis tries the first choices more often, and listed ids make eligible
    # (and fast-tracked) cases common.
    field = st.sampled_from([*FIELD_IDS, None])
    institution = st.sampled_from([*INSTITUTION_IDS, None])
    degree = st.builds(
        DegreeFact,
        level=st.sampled_from([*reversed(DEGREE_ORDER), "diploma", ""]),  # diploma: not a level
        field_id=field,
        institution_id=institution,
    )
    return Facts(
        path=draw(st.sampled_from(["graduate", "researcher"])),
        date_of_birth=born if often(draw) or often(draw) else None,
        reference_date=reference,
        degrees=tuple(draw(st.lists(degree, min_size=1 if often(draw) else 0, max_size=4))),
        post_is_stem=True if often(draw) else draw(st.sampled_from([False, None])),
        post_field_id=draw(field),
        post_institution_id=draw(institution),
        years_experience=draw(st.integers(0, 40)),
        hsk_level=draw(st.one_of(st.integers(0, 9), st.none())),
        taught_in_chinese=draw(st.booleans()),
        publications=draw(st.integers(0, 40)),
        patents=draw(st.integers(0, 12)),
    )


@st.composite
def cases(draw: Any) -> Case:
    criteria = _criteria(draw)
    return Case(
        facts=_facts(draw, criteria),
        lists=_lists(draw),
        criteria=criteria,
        points_model=_points_model(draw),
    )


def default_policy(facts: Facts) -> Case:
    return Case(facts=facts, lists=LISTS, criteria=CRITERIA, points_model=POINTS)


def test_the_verdict_is_what_evaluate_decides():
    seen: set[tuple[str, bool, bool]] = set()

    @hypothesis_settings(max_examples=600, deadline=None)
    @example(case=default_policy(graduate()))
    @example(case=default_policy(researcher()))
    @example(case=default_policy(graduate(date_of_birth=None, degrees=())))
    @example(case=default_policy(graduate(**STRONG, hsk_level=2)))  # 60 points: fast track
    @example(case=default_policy(graduate(**STRONG, hsk_level=1)))  # 59: standard
    @given(case=cases())
    def check(case: Case) -> None:
        verdict = fast(case)

        assert verdict == full(case)
        assert type(verdict.eligible) is bool
        assert type(verdict.fast_track) is bool
        seen.add((case.facts.path, verdict.eligible, verdict.fast_track))

    check()

    # not vacuous: the draws reached ineligible, standard and fast-tracked cases on both paths
    assert seen == {
        (path, *outcome)
        for path in ("graduate", "researcher")
        for outcome in ((False, False), (True, False), (True, True))
    }


@pytest.mark.parametrize(
    ("facts", "criteria", "points_model"),
    [
        (graduate(), {"min_degree_level": "bachelor"}, POINTS),  # no age range
        (graduate(), {"age": {"min": 18, "max": 45}}, POINTS),  # no minimum degree
        (graduate(), {**CRITERIA, "min_degree_level": "diploma"}, POINTS),
        (graduate(), CRITERIA, {"factors": {"education": {"levels": {}}}}),  # no max
        (researcher(), CRITERIA, {"factors": {"age": {"max": 5}}}),  # no bands
    ],
    ids=["no-age", "no-minimum-degree", "unknown-level", "factor-without-max", "no-bands"],
)
def test_a_policy_evaluate_refuses_is_refused_the_same_way(facts, criteria, points_model):
    case = Case(facts=facts, lists=LISTS, criteria=criteria, points_model=points_model)

    with pytest.raises(KeyError) as expected:
        full(case)
    with pytest.raises(KeyError) as refused:
        fast(case)

    assert refused.value.args == expected.value.args


def test_a_researcher_needs_no_minimum_degree_in_either():
    case = Case(
        facts=researcher(),
        lists=LISTS,
        criteria={"age": {"min": 18, "max": 45}},  # a graduate would need min_degree_level
        points_model=POINTS,
    )

    assert fast(case) == full(case) == Verdict(eligible=True, fast_track=False, points=47)
