"""Validation of a policy version's JSON sections, with messages an administrator can act on.

JSON Schema checks the shape; the few cross-field rules (an age range that is a range, bands
that do not overlap, routing that ends with a catch-all and names existing queues) follow.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
from django.utils.translation import gettext as _

from policy.engine import DEGREE_ORDER, ROUTING_CONDITIONS

_INT = {"type": "integer", "minimum": 0}
_DEGREE = {"enum": list(DEGREE_ORDER)}

CRITERIA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["age", "min_degree_level"],
    "additionalProperties": False,
    "properties": {
        "age": {
            "type": "object",
            "required": ["min", "max"],
            "additionalProperties": False,
            "properties": {"min": _INT, "max": _INT},
        },
        "min_degree_level": _DEGREE,
        "require_stem_field": {"type": "boolean"},
        "require_recognised_institution": {"type": "boolean"},
        "researcher_requires_stem_post": {"type": "boolean"},
    },
}

POINTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["fast_track_threshold", "factors"],
    "additionalProperties": False,
    "properties": {
        "fast_track_threshold": _INT,
        "factors": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "education": {
                    "type": "object",
                    "required": ["max", "levels"],
                    "additionalProperties": False,
                    "properties": {
                        "max": _INT,
                        "levels": {
                            "type": "object",
                            "propertyNames": _DEGREE,
                            "additionalProperties": _INT,
                        },
                    },
                },
                "experience": {
                    "type": "object",
                    "required": ["max", "min_years", "points_at_min", "points_per_extra_year"],
                    "additionalProperties": False,
                    "properties": {
                        "max": _INT,
                        "min_years": _INT,
                        "points_at_min": _INT,
                        "points_per_extra_year": _INT,
                    },
                },
                "age": {
                    "type": "object",
                    "required": ["max", "bands"],
                    "additionalProperties": False,
                    "properties": {
                        "max": _INT,
                        "bands": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "prefixItems": [_INT, _INT, _INT],
                                "minItems": 3,
                                "maxItems": 3,
                            },
                        },
                    },
                },
                "institution_tier": {
                    "type": "object",
                    "required": ["max", "tiers"],
                    "additionalProperties": False,
                    "properties": {
                        "max": _INT,
                        "tiers": {
                            "type": "object",
                            "propertyNames": {"enum": ["1", "2", "3"]},
                            "additionalProperties": _INT,
                        },
                    },
                },
                "chinese": {
                    "type": "object",
                    "required": ["max"],
                    "additionalProperties": False,
                    "properties": {
                        "max": _INT,
                        "per_hsk_level": _INT,
                        "taught_in_chinese": _INT,
                    },
                },
                "research_output": {
                    "type": "object",
                    "required": ["max"],
                    "additionalProperties": False,
                    "properties": {"max": _INT, "per_publication": _INT, "per_patent": _INT},
                },
            },
        },
    },
}

DOCUMENT_KINDS = [
    "passport_bio",
    "photo",
    "degree_certificate",
    "transcript",
    "post_proof",
    "translation",
]
_CHECKLIST_ITEMS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["kind", "required"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": DOCUMENT_KINDS},
            "required": {"type": "boolean"},
            "per_degree": {"type": "boolean"},
        },
    },
}
CHECKLIST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["graduate", "researcher"],
    "additionalProperties": False,
    "properties": {
        "graduate": _CHECKLIST_ITEMS,
        "researcher": _CHECKLIST_ITEMS,
        "translation_for_other_languages": {"type": "boolean"},
    },
}

VISA_TERMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["entries", "validity_months", "max_stay_days"],
    "additionalProperties": False,
    "properties": {
        "entries": {"enum": ["single", "double", "multiple"]},
        "validity_months": {"type": "integer", "minimum": 1, "maximum": 120},
        "max_stay_days": {"type": "integer", "minimum": 1, "maximum": 365},
    },
}

_CONDITION = {"enum": sorted(ROUTING_CONDITIONS)}
ROUTING_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["queue"],
        "additionalProperties": False,
        "properties": {
            "when": {"anyOf": [_CONDITION, {"type": "array", "items": _CONDITION}]},
            "queue": {"type": "string", "minLength": 1},
            "path": {"enum": ["graduate", "researcher"]},
            "min_points": _INT,
            "flags": {"type": "array", "items": {"type": "string"}},
            "priority_boost": {"type": "integer", "minimum": -100, "maximum": 100},
        },
    },
}

SECTIONS: dict[str, dict[str, Any]] = {
    "criteria": CRITERIA_SCHEMA,
    "points_model": POINTS_SCHEMA,
    "document_checklist": CHECKLIST_SCHEMA,
    "visa_terms": VISA_TERMS_SCHEMA,
    "routing_rules": ROUTING_SCHEMA,
}


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def validate_policy(
    sections: Mapping[str, Any], *, queue_codes: Iterable[str]
) -> dict[str, list[str]]:
    """Every problem in the sections, keyed by section name; empty when the version is valid."""
    problems: dict[str, list[str]] = {}
    for name, schema in SECTIONS.items():
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(sections.get(name)), key=lambda e: e.path)
        if errors:
            problems[name] = [
                _("At %(where)s: %(message)s") % {"where": _where(e), "message": e.message}
                for e in errors
            ]
    if problems:
        return problems
    criteria = sections["criteria"]
    if criteria["age"]["min"] > criteria["age"]["max"]:
        problems.setdefault("criteria", []).append(
            _("The minimum age must not be above the maximum age.")
        )
    bands = sorted(sections["points_model"]["factors"].get("age", {}).get("bands", []))
    for low, high, _points in bands:
        if low > high:
            problems.setdefault("points_model", []).append(
                _("The age band %(low)s to %(high)s is reversed.") % {"low": low, "high": high}
            )
    for (_l1, high1, _p1), (low2, _h2, _p2) in itertools.pairwise(bands):
        if low2 <= high1:
            problems.setdefault("points_model", []).append(
                _("Age bands overlap at %(age)s.") % {"age": low2}
            )
    rules = sections["routing_rules"]
    last_when = rules[-1].get("when", "always")
    if not (
        last_when in ("always", ["always"])
        and not {"path", "min_points", "flags"} & rules[-1].keys()
    ):
        problems.setdefault("routing_rules", []).append(
            _("The last routing rule must be an unconditional 'always' rule.")
        )
    known = set(queue_codes)
    for index, rule in enumerate(rules, start=1):
        if rule["queue"] not in known:
            problems.setdefault("routing_rules", []).append(
                _("Rule %(n)s names the unknown queue %(queue)s.")
                % {"n": index, "queue": rule["queue"]}
            )
    return problems
