"""Encryption at rest for identifiers such as passport numbers, and keyed digests to find them.

Why two tools: Fernet ciphertext is randomised (the same number encrypts differently every
time), which is what protects a stolen dump, but it also means the database cannot compare it.
Lookups and duplicate checks therefore go through ``identifier_digest``, a keyed HMAC stored in
its own indexed column; without the key, digests of the small passport-number space cannot be
brute-forced.

Keys: ``settings.FIELD_ENCRYPTION_KEYS`` is a list of Fernet keys; the first encrypts, all
decrypt. To rotate, put a new key first, re-save every row (``bulk_update`` on the field is
enough: saving encrypts with the first key), then drop the old key. ``IDENTIFIER_HASH_KEY``
cannot be rotated that way: changing it means recomputing every digest from the plaintext.

Lives in ``applications`` because identifiers are only stored there; apps above it in
INSTALLED_APPS (accounts, pages) cannot import it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.db import models
from django.db.models import Lookup
from django.utils.translation import gettext_lazy as _


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key.

    Raised rather than returning garbage or None: it means a key was removed before every row
    was re-encrypted, or the wrong keys are deployed, and no caller can handle that quietly.
    """


def encrypt(plaintext: str) -> str:
    """Fernet token (URL-safe text) for ``plaintext``, made with the first configured key."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Plaintext of a token made with any of the configured keys."""
    try:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "stored value cannot be decrypted with any of FIELD_ENCRYPTION_KEYS"
        ) from exc


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    # Keyed on the key tuple, so override_settings in tests and rotations just work.
    return MultiFernet([Fernet(key) for key in keys])


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; Python code only ever sees the plaintext.

    Filtering on it is refused (except ``isnull``): an equality lookup would compare fresh
    ciphertext with stored ciphertext and silently match nothing. Use a digest column instead.
    The ciphertext length still reveals the plaintext length to within 16 bytes.
    """

    description = _("Text encrypted at rest")

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_lookup(self, lookup_name: str) -> type[Lookup] | None:
        if lookup_name != "isnull":
            return None  # Django then raises FieldError "Unsupported lookup"
        return super().get_lookup(lookup_name)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if self.unique or getattr(self, "db_index", False):  # django-stubs lacks db_index
            errors.append(
                checks.Error(
                    "EncryptedTextField cannot be unique or indexed: its ciphertext is random.",
                    hint="Index a digest column made with identifier_digest() instead.",
                    obj=self,
                    id="applications.E001",
                )
            )
        return errors


class InvalidIdentifier(ValueError):
    """The value cannot be digested: empty after normalisation, or it contains a colon."""


# Removed before hashing: whitespace and dash-like characters people type inconsistently.
_IDENTIFIER_NOISE = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalise_identifier(value: str) -> str:
    """``" e1234-5678 "`` -> ``"E12345678"``; NFKC folds full-width input to ASCII first."""
    return _IDENTIFIER_NOISE.sub("", unicodedata.normalize("NFKC", value)).upper()


def identifier_digest(*, kind: str, value: str) -> str:
    """Hex HMAC-SHA256 of ``"<kind>:<normalised value>"`` under ``IDENTIFIER_HASH_KEY``.

    ``kind`` (e.g. ``"passport:CN"``) is part of the message, so equal numbers of different
    kinds or nationalities never share a digest. The value may not contain a colon, which keeps
    the message unambiguous (it splits at its last colon). Raises InvalidIdentifier for an empty
    or colon-bearing value, so callers handling user input should treat that as "no match".
    """
    if not kind:
        raise ValueError("kind must not be empty")
    normalised = normalise_identifier(value)
    if not normalised or ":" in normalised:
        raise InvalidIdentifier("identifier is empty or contains a colon")
    message = f"{kind}:{normalised}".encode()
    key = settings.IDENTIFIER_HASH_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
