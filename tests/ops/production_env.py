"""The production environment, as tests need it: which variables are required, valid values.

The required names are read from kvisa/settings.py itself, so a variable added there later is
checked by the refusal test, must get a value below, and must be passed in docker-compose.yml.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
_SOURCE = (ROOT / "kvisa" / "settings.py").read_text(encoding="utf-8")
REQUIRED_IN_PRODUCTION: list[str] = sorted(
    set(re.findall(r'_required\("([A-Z_]+)"\)', _SOURCE))
    | set(re.findall(r'"([A-Z_]+) must be set when KVISA_ENV=production"', _SOURCE))
)


def valid_values() -> dict[str, str]:
    """A value per required variable that passes every check (fresh secrets on each call)."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "kvisa.example.org, www.kvisa.example.org",
        "DATABASE_URL": "postgres://kvisa:pw@db.internal:5432/kvisa",
        "REDIS_URL": "redis://redis.internal:6379/0",
        "EMAIL_URL": "smtp+tls://mailer:pw@smtp.internal:587",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "IDENTIFIER_HASH_KEY": secrets.token_urlsafe(32),
    }


def production_env(env_file: Path, **overrides: str | None) -> dict[str, str]:
    """A clean environment for a production subprocess: nothing leaks in from the test run.

    ``env_file`` is where settings look for .env (KVISA_ENV_FILE); pass a path that does not
    exist so the developer's .env cannot supply what the test means to leave out. An override
    of None removes that variable.
    """
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "kvisa.settings",
        "KVISA_ENV": "production",
        "KVISA_ENV_FILE": str(env_file),
        **valid_values(),
    }
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
