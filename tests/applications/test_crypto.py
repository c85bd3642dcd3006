from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from applications.crypto import (
    DecryptionError,
    EncryptedTextField,
    InvalidIdentifier,
    identifier_digest,
    normalise_identifier,
)
from tests.testapp.models import Secret

ROOT = Path(__file__).resolve().parents[2]
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored_text(secret: Secret) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM testapp_secret WHERE id = %s", [secret.pk])
        return cursor.fetchone()[0]


# --- EncryptedTextField -----------------------------------------------------------------------


@pytest.mark.django_db
def test_encrypted_field_round_trips_through_postgresql():
    secret = Secret.objects.create(value="E12345678")
    assert Secret.objects.get(pk=secret.pk).value == "E12345678"
    assert Secret.objects.values_list("value", flat=True).get(pk=secret.pk) == "E12345678"


@pytest.mark.django_db
def test_ciphertext_in_the_database_does_not_contain_the_plaintext(settings):
    secret = Secret.objects.create(value="E12345678")
    stored = stored_text(secret)
    assert "E12345678" not in stored
    assert "12345678" not in stored
    assert Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(stored.encode()) == b"E12345678"


@pytest.mark.django_db
def test_the_same_plaintext_encrypts_differently_each_time():
    first = Secret.objects.create(value="E12345678")
    second = Secret.objects.create(value="E12345678")
    assert stored_text(first) != stored_text(second)


@pytest.mark.django_db
def test_null_stays_null_and_empty_text_round_trips():
    nothing = Secret.objects.create(value=None)
    empty = Secret.objects.create(value="")
    assert stored_text(nothing) is None
    assert Secret.objects.get(pk=nothing.pk).value is None
    assert Secret.objects.get(pk=empty.pk).value == ""
    assert Secret.objects.filter(value__isnull=True).get() == nothing


@pytest.mark.django_db
def test_lookups_on_an_encrypted_field_are_refused():
    with pytest.raises(FieldError, match="Unsupported lookup"):
        list(Secret.objects.filter(value="E12345678"))
    with pytest.raises(FieldError, match="Unsupported lookup"):
        list(Secret.objects.filter(value__icontains="123"))


@pytest.mark.django_db
def test_a_value_written_with_the_old_key_is_read_after_a_new_key_is_put_first(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    secret = Secret.objects.create(value="E12345678")

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    loaded = Secret.objects.get(pk=secret.pk)
    assert loaded.value == "E12345678"

    loaded.save()  # re-saving is the rotation: it encrypts with the first key
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert Secret.objects.get(pk=secret.pk).value == "E12345678"


@pytest.mark.django_db
def test_reading_with_none_of_the_keys_used_raises_decryption_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    secret = Secret.objects.create(value="E12345678")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(DecryptionError):
        Secret.objects.get(pk=secret.pk)


def test_an_encrypted_field_declared_unique_fails_the_system_check():
    field = EncryptedTextField(unique=True)
    field.set_attributes_from_name("number")
    field.model = Secret
    assert [error.id for error in field.check()] == ["applications.E001"]


# --- identifier_digest ------------------------------------------------------------------------


def test_digest_is_hmac_sha256_of_kind_and_normalised_value(settings):
    expected = hmac.new(
        settings.IDENTIFIER_HASH_KEY.encode(), b"passport:CN:E12345678", hashlib.sha256
    ).hexdigest()
    assert identifier_digest(kind="passport:CN", value="e1234-5678") == expected


@given(
    value=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=12),
    noise=st.lists(st.sampled_from([" ", "-", "\t", "\uff0d", "\u2013"]), max_size=6),
    data=st.data(),
)
def test_digest_is_stable_under_case_spacing_and_dashes(value, noise, data):
    sloppy = value.lower()
    for char in noise:
        position = data.draw(st.integers(min_value=0, max_value=len(sloppy)))
        sloppy = sloppy[:position] + char + sloppy[position:]
    assert identifier_digest(kind="passport:CN", value=sloppy) == identifier_digest(
        kind="passport:CN", value=value
    )


def test_digest_differs_across_kinds_and_nationalities():
    digests = {
        identifier_digest(kind="passport:CN", value="E12345678"),
        identifier_digest(kind="passport:US", value="E12345678"),
        identifier_digest(kind="national_id:CN", value="E12345678"),
    }
    assert len(digests) == 3


def test_digest_depends_on_the_key(settings):
    before = identifier_digest(kind="passport:CN", value="E12345678")
    settings.IDENTIFIER_HASH_KEY = "another-key-of-at-least-thirty-two-chars"
    assert identifier_digest(kind="passport:CN", value="E12345678") != before


@pytest.mark.parametrize("value", ["", "  - ", "CN:E12345678"])
def test_digest_refuses_empty_or_colon_bearing_values(value):
    # A colon in the value would make ("passport", "CN:E1") collide with ("passport:CN", "E1").
    with pytest.raises(InvalidIdentifier):
        identifier_digest(kind="passport", value=value)


def test_normalise_identifier_folds_full_width_input():
    assert normalise_identifier("ｅ１２３ ４５６７８") == "E12345678"  # noqa: RUF001


# --- settings -----------------------------------------------------------------------------------

PRODUCTION_ENV = {
    "KVISA_ENV": "production",
    "DJANGO_SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "kvisa.example",
    "DATABASE_URL": "postgres://u@127.0.0.1:1/db",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_URL": "smtp://127.0.0.1:25",
    "FIELD_ENCRYPTION_KEYS": f"{NEW_KEY},{OLD_KEY}",
    "IDENTIFIER_HASH_KEY": "h" * 40,
}


def import_production_settings(**overrides: str) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter: settings are read once per process. Empty values are passed
    # explicitly so a developer's .env cannot fill them in.
    env = {"PATH": os.environ.get("PATH", ""), **PRODUCTION_ENV, **overrides}
    code = "import kvisa.settings as s; print(len(s.FIELD_ENCRYPTION_KEYS))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_settings_start_with_valid_keys():
    result = import_production_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"FIELD_ENCRYPTION_KEYS": ""}, "FIELD_ENCRYPTION_KEYS must be set"),
        ({"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"}, "key 1 is not a Fernet key"),
        ({"FIELD_ENCRYPTION_KEYS": f"{NEW_KEY},short"}, "key 2 is not a Fernet key"),
        ({"IDENTIFIER_HASH_KEY": ""}, "IDENTIFIER_HASH_KEY must be set"),
        ({"IDENTIFIER_HASH_KEY": "too-short"}, "at least 32 characters"),
    ],
)
def test_production_refuses_to_start_with_missing_or_wrong_keys(overrides, complaint):
    result = import_production_settings(**overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert complaint in result.stderr


def test_development_keys_are_generated_once_into_env_file(tmp_path, monkeypatch):
    import kvisa.settings

    env_file = tmp_path / ".env"
    monkeypatch.setattr(kvisa.settings, "ENV_FILE", env_file)
    monkeypatch.delenv("SOME_DEV_SECRET", raising=False)
    generated = kvisa.settings._development_secret("SOME_DEV_SECRET", lambda: "fresh-value")
    assert generated == "fresh-value"
    assert env_file.read_text() == "SOME_DEV_SECRET=fresh-value\n"

    monkeypatch.setenv("SOME_DEV_SECRET", "kept-value")  # as read back from .env next start
    assert kvisa.settings._development_secret("SOME_DEV_SECRET", lambda: "other") == "kept-value"
    assert env_file.read_text() == "SOME_DEV_SECRET=fresh-value\n"
