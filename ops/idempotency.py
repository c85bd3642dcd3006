"""``Idempotency-Key`` for every POST of the API (the IETF httpapi draft, as Stripe does it).

* same key, same caller, same method, path and body → the first response, replayed, with
  ``Idempotent-Replayed: true``;
* same key with a different request → 422;
* a repeat arriving while the first is still running waits for it (up to
  IDEMPOTENCY_WAIT_SECONDS), then replays; if the first is still not done, 409.

The key is claimed with an INSERT in its own transaction (autocommit) before the work starts,
so 20 parallel requests with one key run the work once; an expired record of the key is taken
over in place, and only looked for when that INSERT finds the key taken. A first request that
fails with a 5xx (or an exception) gives its key up, so the client can retry.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from kvisa.errors import Conflict, ValidationFailed
from ops.models import IdempotencyRecord

HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID): a repeat of this POST with the same key and body "
    "gets the first response again (header Idempotent-Replayed: true); the same key with "
    "another body is refused (422). Keys are kept for 24 hours.",
)
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("ETag", "Location")


class KeyReused(ValidationFailed):
    code = "idempotency_key_reused"


class KeyInUse(Conflict):
    code = "idempotency_key_in_use"


def _owner(request: Request) -> User:
    return cast(User, request.user)  # API POSTs are authenticated before the handler runs


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update((request.method or "").encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    headers = {**record.response_headers, REPLAYED: "true"}
    return Response(record.response_body, status=record.status_code, headers=headers)


# The key is claimed in one statement, in autocommit its own transaction as the claim must be
# (it replaces a DELETE of an expired key and an INSERT in a savepoint: four round trips on every
# POST, issue 7). DO NOTHING takes no lock on a live row, so a repeat never holds up the first
# request's answer. A concurrent request with the same key waits on the unique index, then gets
# no row. Only then is an expired key taken over, in place.
_TABLE = IdempotencyRecord._meta.db_table
_CLAIM_SQL = f"""
INSERT INTO {_TABLE} (owner_id, key, method, path, request_hash, response_headers, created_at)
VALUES (%(owner)s, %(key)s, %(method)s, %(path)s, %(hash)s, '{{}}', %(now)s)
ON CONFLICT (owner_id, key) DO NOTHING
RETURNING id
"""  # noqa: S608 - the table name is the model's own
_TAKE_OVER_SQL = f"""
UPDATE {_TABLE} SET method = %(method)s, path = %(path)s, request_hash = %(hash)s,
    status_code = NULL, response_body = NULL, response_headers = '{{}}', created_at = %(now)s
WHERE owner_id = %(owner)s AND key = %(key)s AND created_at < %(expired)s
RETURNING id
"""  # noqa: S608 - the table name is the model's own


_STORE_SQL = f"""
UPDATE {_TABLE} SET status_code = %(status)s, response_body = %(body)s::jsonb,
    response_headers = %(headers)s::jsonb
WHERE id = %(id)s
"""  # noqa: S608 - the table name is the model's own


def _store(record: IdempotencyRecord, response: Response) -> None:
    """The answer, kept for repeats: the UPDATE ``record.save(update_fields=...)`` would send,
    encoded as the model's JSONFields encode, without building it on every POST (issue 7)."""
    headers = {h: response[h] for h in KEPT_HEADERS if h in response}
    body = None if response.data is None else json.dumps(response.data, cls=DjangoJSONEncoder)
    with connection.cursor() as cursor:
        cursor.execute(
            _STORE_SQL,
            {
                "status": response.status_code,
                "body": body,
                "headers": json.dumps(headers),
                "id": record.pk,
            },
        )


def _claim(request: Request, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Our new record, or None when another request holds the key already."""
    now = timezone.now()
    method, path = request.method or "", request.path[:500]
    values: dict[str, Any] = {
        "owner": _owner(request).pk,
        "key": key,
        "method": method,
        "path": path,
        "hash": fingerprint,
        "now": now,
        "expired": now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS),
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, values)
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_TAKE_OVER_SQL, values)
            row = cursor.fetchone()
    if row is None:
        return None
    return IdempotencyRecord(
        pk=row[0],
        owner=_owner(request),
        key=key,
        method=method,
        path=path,
        request_hash=fingerprint,
        created_at=now,
    )


def _wait_for(request: Request, key: str, fingerprint: str) -> Response:
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    while True:
        record = IdempotencyRecord.objects.filter(owner=_owner(request), key=key).first()
        if record is not None and record.request_hash != fingerprint:
            raise KeyReused(_("This Idempotency-Key was already used for a different request."))
        if record is not None and record.status_code is not None:
            return _replay(record)
        if record is None:
            # The first request failed and gave the key up: this one may do the work.
            raise KeyInUse(_("The first request with this key failed; send it again."))
        if time.monotonic() > deadline:
            raise KeyInUse(_("A request with this Idempotency-Key is still being processed."))
        time.sleep(0.05)


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap an APIView's ``post`` (after authentication and permissions have run)."""

    @functools.wraps(handler)
    def wrapped(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return handler(view, request, *args, **kwargs)
        if len(key) > 255 or not key.isascii() or not key.isprintable():
            raise ValidationFailed(_("An Idempotency-Key is 1 to 255 printable ASCII characters."))
        fingerprint = _fingerprint(request)
        record = _claim(request, key, fingerprint)  # an expired record is taken over there
        if record is None:
            return _wait_for(request, key, fingerprint)
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
            return response
        _store(record, response)
        return response

    return wrapped


def idempotency_purge(*, now: Any = None, batch: int = 5000) -> int:
    """Forget keys older than IDEMPOTENCY_TTL_HOURS (the daily task), a batch at a time."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    old = IdempotencyRecord.objects.filter(created_at__lt=cutoff).values("pk")[:batch]
    deleted, _ = IdempotencyRecord.objects.filter(pk__in=old).delete()
    return deleted
