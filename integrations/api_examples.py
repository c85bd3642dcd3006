"""Examples for the integration API in the OpenAPI schema (integrations/apis.py, filing_apis.py).

Taken from real answers of the API to the demo data; tests/test_api_examples.py checks every
example against the schema of the operation it illustrates, so none can go stale.
"""

from typing import Any

ENDPOINT: Any = {
    "id": "a714175a-298e-4d5c-92d2-aca7b8a8c368",
    "url": "https://hooks.example.org/kvisa",
    "events": ["application.submitted", "case.decided"],
    "is_active": True,
    "consecutive_failures": 0,
    "disabled_at": None,
    "disabled_reason": "",
    "created_at": "2026-12-03T04:22:59.614750+08:00",
}

# The secret is shown once, in the answer to the creation.
ENDPOINT_CREATED: Any = {**ENDPOINT, "secret": "whsec_0l3BzzyiMhJojD7+bLiO8ajjes/RSltGZOLXUJiGjQI="}

ENDPOINT_UPDATED: Any = {
    **ENDPOINT,
    "events": ["application.submitted", "case.decided", "visa.issued"],
}

FILED: Any = {
    "id": "e2dbfc1b-95c5-4c71-8db3-b418ac856309",
    "status": "draft",
    "reference": None,
    "applicant_email": "a.okafor@example.edu",
    "missing": [
        {"step": "documents", "message": "Upload: Passport bio page."},
        {"step": "documents", "message": "Upload: Recent photo."},
        {
            "step": "documents",
            "message": "Upload: Degree certificate: Master's degree, Computer science.",
        },
        {
            "step": "documents",
            "message": "Upload: Academic transcript: Master's degree, Computer science.",
        },
    ],
}

FILED_DOCUMENT: Any = {
    "id": "a7396aae-d182-423e-80e7-eb512ec59d7d",
    "kind": "passport_bio",
    "name": "passport.pdf",
    "content_type": "application/pdf",
    "size": 500,
    "sha256": "aa0ae8d6240faaaf007cf4306173dcc8c09b8680485895126c89c628cc8e873e",
}

FILED_COMPLETE: Any = {**FILED, "missing": []}

INVITED: Any = FILED_COMPLETE

ENDPOINT_LIST: Any = [ENDPOINT]

MESSAGE: Any = {
    "id": "5b0f7a7e-51c3-4f0d-b5a4-0e6f3c9b8d21",
    "webhook_id": "9f4c2d6e-8a3b-4e71-a0c5-2b7d9e1f6a34",
    "type": "case.decided",
    "state": "delivered",
    "attempts": 3,
    "next_attempt_at": None,
    "delivered_at": "2026-12-03T04:24:31.208113+08:00",
    "created_at": "2026-12-03T04:22:58.901522+08:00",
    "log": [
        {
            "number": 1,
            "at": "2026-12-03T04:22:59.012876+08:00",
            "status_code": 503,
            "error": "HTTP 503",
            "duration_ms": 212,
            "next_attempt_at": "2026-12-03T04:23:29.012876+08:00",
        },
        {
            "number": 2,
            "at": "2026-12-03T04:23:29.104551+08:00",
            "status_code": None,
            "error": "ConnectTimeout: connection to hooks.example.org timed out",
            "duration_ms": 5003,
            "next_attempt_at": "2026-12-03T04:24:31.104551+08:00",
        },
        {
            "number": 3,
            "at": "2026-12-03T04:24:31.208113+08:00",
            "status_code": 204,
            "error": "",
            "duration_ms": 87,
            "next_attempt_at": None,
        },
    ],
}

MESSAGES: Any = [MESSAGE]

REDELIVERED: Any = {
    **MESSAGE,
    "state": "pending",
    "attempts": 0,
    "next_attempt_at": "2026-12-03T04:30:00.000000+08:00",
    "delivered_at": None,
}
