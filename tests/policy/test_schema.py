"""policy.schema.validate_policy: the default policy passes, and each kind of mistake an
administrator can make is reported in the section it is in, in words they can act on."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from policy.schema import SECTIONS, validate_policy

DEFAULT_POLICY = Path(__file__).resolve().parents[2] / "policy" / "data" / "default_policy.json"
QUEUES = ["fast-track", "standard", "integrity", "returned-evidence"]


@pytest.fixture
def sections() -> dict[str, Any]:
    policy = json.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
    return {name: copy.deepcopy(policy[name]) for name in SECTIONS}


def problems_of(sections: dict[str, Any]) -> dict[str, list[str]]:
    return validate_policy(sections, queue_codes=QUEUES)


def test_default_policy_is_valid(sections):
    assert problems_of(sections) == {}


def test_missing_section_key_is_named(sections):
    del sections["criteria"]["min_degree_level"]

    problems = problems_of(sections)

    assert list(problems) == ["criteria"]
    assert "'min_degree_level' is a required property" in problems["criteria"][0]


def test_missing_whole_section_is_reported(sections):
    del sections["visa_terms"]

    problems = problems_of(sections)

    assert list(problems) == ["visa_terms"]
    assert "(top level)" in problems["visa_terms"][0]


def test_wrong_type_says_where_and_what(sections):
    sections["visa_terms"]["validity_months"] = "sixty"

    problems = problems_of(sections)

    assert problems == {"visa_terms": ["At validity_months: 'sixty' is not of type 'integer'"]}


def test_unknown_key_is_refused(sections):
    sections["criteria"]["age"]["maximum"] = 50

    problems = problems_of(sections)

    assert (
        "Additional properties are not allowed ('maximum' was unexpected)"
        in (problems["criteria"][0])
    )
    assert problems["criteria"][0].startswith("At age:")


def test_unknown_degree_level_lists_the_known_ones(sections):
    sections["criteria"]["min_degree_level"] = "diploma"

    [message] = problems_of(sections)["criteria"]

    assert "At min_degree_level:" in message
    assert "'diploma' is not one of ['bachelor', 'master', 'doctorate']" in message


def test_minimum_age_above_maximum(sections):
    sections["criteria"]["age"] = {"min": 50, "max": 45}

    assert problems_of(sections) == {
        "criteria": ["The minimum age must not be above the maximum age."]
    }


def test_overlapping_age_bands(sections):
    sections["points_model"]["factors"]["age"]["bands"] = [[18, 30, 10], [28, 45, 15]]

    assert problems_of(sections) == {"points_model": ["Age bands overlap at 28."]}


def test_reversed_age_band(sections):
    sections["points_model"]["factors"]["age"]["bands"] = [[40, 30, 10]]

    assert problems_of(sections) == {"points_model": ["The age band 40 to 30 is reversed."]}


def test_routing_must_end_with_always(sections):
    sections["routing_rules"] = [
        {"when": "integrity_flags", "queue": "integrity"},
        {"when": "fast_track", "queue": "fast-track"},
    ]

    assert problems_of(sections) == {
        "routing_rules": ["The last routing rule must be an unconditional 'always' rule."]
    }


def test_last_always_rule_with_a_condition_is_not_a_catch_all(sections):
    sections["routing_rules"][-1] = {"when": "always", "queue": "standard", "min_points": 10}

    assert problems_of(sections) == {
        "routing_rules": ["The last routing rule must be an unconditional 'always' rule."]
    }


def test_unknown_queue_code_names_the_rule(sections):
    sections["routing_rules"][1]["queue"] = "express"

    assert problems_of(sections) == {"routing_rules": ["Rule 2 names the unknown queue express."]}


def test_inactive_queue_counts_as_unknown(sections):
    problems = validate_policy(sections, queue_codes=["standard", "integrity"])

    assert problems == {"routing_rules": ["Rule 2 names the unknown queue fast-track."]}


def test_unknown_routing_condition(sections):
    sections["routing_rules"][0]["when"] = "suspicious"

    [message] = problems_of(sections)["routing_rules"]

    assert message.startswith("At 0/when:")
    assert "'suspicious' is not valid" in message


def test_every_problem_is_reported_at_once(sections):
    sections["visa_terms"]["entries"] = "unlimited"
    sections["criteria"]["require_stem_field"] = "yes"
    del sections["document_checklist"]["graduate"]

    problems = problems_of(sections)

    assert set(problems) == {"visa_terms", "criteria", "document_checklist"}


def test_messages_are_translated(sections, settings):
    from django.utils import translation

    sections["criteria"]["age"] = {"min": 50, "max": 45}

    with translation.override("zh-hans"):
        [message] = problems_of(sections)["criteria"]

    assert message != "The minimum age must not be above the maximum age."
