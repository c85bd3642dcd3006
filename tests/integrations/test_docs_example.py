"""The signature check printed in docs/integration.md verifies what this system sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from standardwebhooks.webhooks import Webhook

from integrations.services import webhook_secret_generate

GUIDE = Path(settings.BASE_DIR) / "docs" / "integration.md"


def _verify_by_hand():
    code = next(
        block
        for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
        if "def verify_by_hand" in block
    )
    function = code[code.index("def verify_by_hand") :]
    namespace = {"base64": base64, "hashlib": hashlib, "hmac": hmac, "time": time}
    exec(function, namespace)  # noqa: S102 (our own documentation, under test)
    return namespace["verify_by_hand"]


def _signed(secret: str, body: str) -> dict[str, str]:
    now = datetime.now(tz=UTC)
    webhook_id = "msg_2c1f3b0e"
    signature = Webhook(secret).sign(webhook_id, now, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def test_the_documented_check_accepts_our_signature_and_rejects_tampering():
    verify_by_hand = _verify_by_hand()
    secret = webhook_secret_generate()
    body = '{"type":"case.decided","timestamp":"2026-12-02T10:00:00Z","data":{}}'
    headers = _signed(secret, body)

    assert verify_by_hand(secret, headers, body.encode())
    assert not verify_by_hand(secret, headers, body.replace("decided", "approved").encode())
    assert not verify_by_hand(webhook_secret_generate(), headers, body.encode())
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert not verify_by_hand(secret, stale, body.encode())
