"""Examples for the officers' API in the OpenAPI schema (reviews/apis/).

Taken from real answers of the API to the demo data, trimmed; tests/test_api_examples.py checks
every example against the schema of the operation it illustrates, so none can go stale.
"""

# ruff: noqa: RUF001 (the Chinese explanations use Chinese punctuation, as they should)

from typing import Any

QUEUES: Any = [
    {
        "code": "returned-evidence",
        "name_en": "Returned evidence",
        "name_zh": "补充材料已提交",
        "priority": 40,
        "service_level_days": 10,
        "waiting_count": 0,
        "oldest_waiting_at": None,
        "overdue_count": 0,
        "in_review_count": 0,
        "paused_count": 0,
        "second_review_count": 0,
    },
    {
        "code": "fast-track",
        "name_en": "Fast track",
        "name_zh": "快速通道",
        "priority": 30,
        "service_level_days": 15,
        "waiting_count": 0,
        "oldest_waiting_at": None,
        "overdue_count": 0,
        "in_review_count": 0,
        "paused_count": 0,
        "second_review_count": 0,
    },
    {
        "code": "integrity",
        "name_en": "Integrity checks",
        "name_zh": "真实性核查",
        "priority": 25,
        "service_level_days": 40,
        "waiting_count": 0,
        "oldest_waiting_at": None,
        "overdue_count": 0,
        "in_review_count": 0,
        "paused_count": 0,
        "second_review_count": 0,
    },
    {
        "code": "standard",
        "name_en": "Standard",
        "name_zh": "标准审查",
        "priority": 20,
        "service_level_days": 40,
        "waiting_count": 4,
        "oldest_waiting_at": "2026-12-03T03:37:35.624828+08:00",
        "overdue_count": 0,
        "in_review_count": 0,
        "paused_count": 0,
        "second_review_count": 0,
    },
]

CLAIMED: Any = {
    "reference": "KV-2026-0000004-8",
    "status": "in_review",
    "family_name": "Oliveira",
    "given_names": "Lucas",
    "nationality": "BR",
    "path": "graduate",
    "submitted_at": "2026-12-03T03:37:35.542550+08:00",
    "queue_entry": {
        "queue": "standard",
        "state": "in_review",
        "priority": 20,
        "entered_at": "2026-12-03T03:37:35.624828+08:00",
        "due_at": "2027-01-28T03:37:35.542550+08:00",
        "overdue": False,
        "held_by": "officer1@demo.kvisa.test",
        "lease_expires_at": "2026-12-03T04:52:57.340919+08:00",
    },
}

CASE_LIST: Any = {
    "next": "http://localhost/api/v1/cases/?cursor=cD0yMDI2LTEyLTAyKzE5JTNBMzclM0EzNS40ODA4MTglMkIwMCUzQTAw&page_size=2&queue=standard",
    "previous": None,
    "results": [
        {
            "reference": "KV-2026-0000004-8",
            "status": "evidence_requested",
            "family_name": "Oliveira",
            "given_names": "Lucas",
            "nationality": "BR",
            "path": "graduate",
            "submitted_at": "2026-12-03T03:37:35.542550+08:00",
            "queue_entry": {
                "queue": "standard",
                "state": "paused",
                "priority": 20,
                "entered_at": "2026-12-03T03:37:35.624828+08:00",
                "due_at": "2027-01-28T03:37:35.542550+08:00",
                "overdue": False,
                "held_by": None,
                "lease_expires_at": None,
            },
        },
        {
            "reference": "KV-2026-0000003-6",
            "status": "in_review",
            "family_name": "Tanaka",
            "given_names": "Yuki",
            "nationality": "JP",
            "path": "graduate",
            "submitted_at": "2026-12-03T03:37:35.480818+08:00",
            "queue_entry": {
                "queue": "standard",
                "state": "second_review",
                "priority": 20,
                "entered_at": "2026-12-03T03:37:35.674926+08:00",
                "due_at": "2027-01-28T03:37:35.480818+08:00",
                "overdue": False,
                "held_by": None,
                "lease_expires_at": None,
            },
        },
    ],
}

CASE: Any = {
    **CLAIMED,  # the case just claimed, read a moment later (its lease renewed)
    "queue_entry": {
        **CLAIMED["queue_entry"],
        "lease_expires_at": "2026-12-03T04:52:57.440791+08:00",
    },
    "public_id": "64ff18cf-9c9e-4fa7-9006-5dd1083a44a2",
    "native_name": "",
    "sex": "M",
    "date_of_birth": "1990-11-05",
    "passport_issuing_country": "BR",
    "passport_expiry_date": "2033-01-31",
    "contact_email": "applicant4@demo.kvisa.test",
    "employer_name": "",
    "job_title": "",
    "planned_entry_date": "2027-01-17",
    "planned_stay_days": 90,
    "snapshot": {
        "path": {"path": "graduate"},
        "career": {
            "job_title": "",
            "post_field": None,
            "post_since": None,
            "employer_name": "",
            "patents_count": 2,
            "research_summary": "",
            "years_experience": 10,
            "publications_count": 14,
            "employer_institution": None,
            "post_is_stem_teaching_research": None,
        },
        "travel": {
            "previous_visits": False,
            "planned_stay_days": 90,
            "previous_refusals": False,
            "planned_entry_date": "2027-01-17",
            "intended_activities": ["science", "entrepreneurship"],
            "previous_visits_details": "",
            "previous_refusals_details": "",
        },
        "contact": {
            "city": "São Paulo",
            "phone": "+5511987654321",
            "postal_code": "01304-001",
            "address_line": "Rua Augusta 1500",
            "contact_email": "applicant4@demo.kvisa.test",
            "country_of_residence": "BR",
        },
        "version": 1,
        "language": {"hsk_level": None, "degree_taught_in_chinese": False},
        "passport": {
            "passport_number": "•••••6778",
            "passport_issue_date": "2023-02-01",
            "passport_expiry_date": "2033-01-31",
            "passport_issuing_country": "BR",
        },
        "personal": {
            "sex": "M",
            "family_name": "Oliveira",
            "given_names": "Lucas",
            "nationality": "BR",
            "native_name": "",
            "date_of_birth": "1990-11-05",
            "place_of_birth": "Campinas",
        },
        "documents": {
            "documents": [
                {
                    "kind": "degree_certificate",
                    "name": "degree-certificate.pdf",
                    "size": 513,
                    "sha256": "83c78e9854350d1c8a6fedb5f4c5d6412224d7931e4b4c77c7acdce826a424c1",
                    "degree_index": 0,
                },
                {
                    "kind": "passport_bio",
                    "name": "passport.pdf",
                    "size": 500,
                    "sha256": "e8ab279a695a70f300d3cd7da71d55ae6e1067ab7ebdb3c21d9ac40fe153e350",
                    "degree_index": None,
                },
            ]
        },
        "education": {
            "degrees": [
                {
                    "field": {
                        "id": 9,
                        "name_en": "Materials science and engineering",
                        "name_zh": "材料科学与工程",
                    },
                    "level": "master",
                    "country": "BR",
                    "awarded_on": "2014-12-10",
                    "started_on": "2012-03-01",
                    "institution": {
                        "id": 61,
                        "name_en": "University of São Paulo",
                        "name_zh": "圣保罗大学",
                    },
                    "institution_other": "",
                    "documents_in_zh_or_en": True,
                }
            ]
        },
    },
    "screening": {
        "policy_version": "2025-10 initial",
        "eligible": True,
        "points": 51,
        "fast_track": False,
        "rules": [
            {
                "code": "age",
                "kind": "criterion",
                "value": 36,
                "passed": True,
                "points": None,
                "threshold": [18, 45],
                "max_points": None,
                "explanation": {
                    "en": "Age 36 is within the range 18 to 45.",
                    "zh-hans": "年龄 36 岁，在 18 至 45 岁范围内。",
                },
            },
            {
                "code": "degree_level",
                "kind": "criterion",
                "value": "master",
                "passed": True,
                "points": None,
                "threshold": "bachelor",
                "max_points": None,
                "explanation": {
                    "en": "Highest degree: a master's degree; at "
                    "least a bachelor's degree is required.",
                    "zh-hans": "最高学位：硕士学位；要求至少为学士学位。",
                },
            },
            {
                "code": "experience",
                "kind": "points",
                "value": 10,
                "passed": None,
                "points": 13,
                "threshold": None,
                "max_points": 20,
                "explanation": {
                    "en": "Relevant experience (10 years): 13 of 20 points.",
                    "zh-hans": "相关工作经历（10 年）：13 分，满分 20 分。",
                },
            },
            {
                "code": "fast_track",
                "kind": "threshold",
                "value": 51,
                "passed": False,
                "points": None,
                "threshold": 60,
                "max_points": None,
                "explanation": {
                    "en": "51 points, the fast-track threshold is 60: standard.",
                    "zh-hans": "51 分，快速通道分数线为 60 分：按标准流程办理。",
                },
            },
        ],
        "flags": [],
        "queue": "standard",
    },
    "documents": [
        {
            "id": "53d9f756-c752-4693-8812-f007492aafbc",
            "kind": "degree_certificate",
            "name": "degree-certificate.pdf",
            "content_type": "application/pdf",
            "size": 513,
            "sha256": "83c78e9854350d1c8a6fedb5f4c5d6412224d7931e4b4c77c7acdce826a424c1",
            "uploaded_at": "2026-12-02T19:37:35.517114Z",
        },
        {
            "id": "7674feff-18dc-4bdf-9313-3a1754d2240c",
            "kind": "passport_bio",
            "name": "passport.pdf",
            "content_type": "application/pdf",
            "size": 500,
            "sha256": "e8ab279a695a70f300d3cd7da71d55ae6e1067ab7ebdb3c21d9ac40fe153e350",
            "uploaded_at": "2026-12-02T19:37:35.504370Z",
        },
    ],
    "decisions": [],
}

NOTE: Any = {
    "id": 1,
    "author": "officer1@demo.kvisa.test",
    "text": "Degree certificate checked against the registry of the University of Lagos.",
    "created_at": "2026-12-03T04:22:57.438673+08:00",
}

EVIDENCE_REQUEST: Any = {
    "id": "b0ef6d25-3c8d-470f-a02a-2aef2eeabb38",
    "items": [
        "Employment contract signed by both parties",
        "Proof of the doctorate (certificate or registry extract)",
    ],
    "message": "Please upload the two documents listed.",
    "due_at": "2026-12-24T23:59:59+08:00",
    "state": "open",
}

TIMELINE: Any = {
    "next": None,
    "previous": None,
    "results": [
        {
            "at": "2026-12-03T03:37:35.632469+08:00",
            "kind": "status",
            "actor": None,
            "from_status": "submitted",
            "to_status": "queued",
            "message": "",
            "public": True,
            "details": {},
        },
        {
            "at": "2026-12-03T04:22:57.346124+08:00",
            "kind": "status",
            "actor": "officer1@demo.kvisa.test",
            "from_status": "queued",
            "to_status": "in_review",
            "message": "",
            "public": True,
            "details": {"queue": "standard", "claimed": True},
        },
        {
            "at": "2026-12-03T04:22:57.439936+08:00",
            "kind": "note",
            "actor": "officer1@demo.kvisa.test",
            "from_status": "",
            "to_status": "",
            "message": "",
            "public": False,
            "details": {"note": 1},
        },
    ],
}

DECISION: Any = {
    "id": "4e7480f0-9d46-4339-a560-510992285ead",
    "outcome": "approve",
    "state": "awaiting_review",
    "decided_by": "officer1@demo.kvisa.test",
    "decided_at": "2026-12-03T04:22:58.218959+08:00",
    "reasons": [],
    "statement": "",
    "valid_from": "2027-01-01",
    "valid_until": "2027-12-31",
    "entries": "multiple",
    "max_stay_days": 90,
    "second_review_required": True,
    "reviewed_by": None,
    "reviewed_at": None,
    "review_comment": "",
}

DECISION_CONFIRMED: Any = {
    **DECISION,
    "state": "final",
    "reviewed_by": "officer2@demo.kvisa.test",
    "reviewed_at": "2026-12-03T04:22:58.828779+08:00",
    "review_comment": "Agreed.",
}

RELEASED: Any = {
    "reference": "KV-2026-0000001-2",
    "status": "queued",
    "family_name": "Keller",
    "given_names": "Maria",
    "nationality": "CH",
    "path": "graduate",
    "submitted_at": "2026-12-03T03:37:35.278632+08:00",
    "queue_entry": {
        "queue": "standard",
        "state": "waiting",
        "priority": 20,
        "entered_at": "2026-12-03T03:37:35.768306+08:00",
        "due_at": "2027-01-28T03:37:35.278632+08:00",
        "overdue": False,
        "held_by": None,
        "lease_expires_at": None,
    },
}

STATISTICS: Any = {
    "generated_at": "2026-12-03T04:22:35.594892+08:00",
    "minimum_count": 10,
    "applications": {
        "submitted": 31,
        "queued": 412,
        "in_review": 57,
        "evidence_requested": 23,
        "approved": 1288,
        "refused": 240,
        "withdrawn": None,
    },
    "decided": 1528,
    "approval_rate": 0.843,
    "processing_days": {"median": 11.5, "p90": 27.0},
    "by_field": [
        {"field": "computer-science", "submitted": 702, "approved": 561, "refused": 80},
        {"field": "materials-science", "submitted": 118, "approved": 90, "refused": None},
    ],
    "by_nationality": [
        {"nationality": "IN", "submitted": 389, "approved": 301, "refused": 52},
        {"nationality": "BR", "submitted": 97, "approved": 80, "refused": None},
    ],
}

VISA_CHECK: Any = {
    "valid": False,
    "reason": "not_yet_valid",
    "valid_from": "2027-01-01",
    "valid_until": "2027-12-31",
    "entries": "multiple",
    "max_stay_days": 90,
    "checked_at": "2026-12-03T04:23:00.150139+08:00",
}

DECISION_REFUSED: Any = {
    **DECISION,
    "id": "2616906b-682e-4f1e-b99e-a50705259352",
    "outcome": "refuse",
    "reasons": ["degree-not-verified"],
    "statement": "The university registry has no record of this degree.",
    "valid_from": None,
    "valid_until": None,
    "entries": "",
    "max_stay_days": None,
}

VISA_VALID: Any = {
    **VISA_CHECK,
    "valid": True,
    "reason": "valid",
    "valid_from": "2026-11-01",
    "valid_until": "2027-10-31",
}

VISA_NO_MATCH: Any = {
    "valid": False,
    "reason": "no_match",
    "valid_from": None,
    "valid_until": None,
    "entries": None,
    "max_stay_days": None,
    "checked_at": "2026-12-03T04:23:00.150139+08:00",
}
