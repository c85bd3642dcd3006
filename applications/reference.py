"""Case reference numbers such as ``KV-2026-0001234-6``: prefix, year, sequence, check digit.

Applicants read these off emails and type them into the status page or say them on the phone,
so a typo must be caught rather than silently show someone else's case. The check digit uses
the Damm algorithm (H. Michael Damm, 2004) over the eleven digits of year and sequence: it
detects every single-digit substitution and every transposition of two adjacent digits,
including the check digit itself. ISO 7064 MOD 11,10 was considered and measured to miss some
adjacent transpositions; MOD 11-2 needs an ``X`` that people misread; Luhn misses 09 <-> 90.

Sequences come from one PostgreSQL SEQUENCE per year (see ``next_reference``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from django.db import ProgrammingError, connection, transaction
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

PREFIX = "KV"
MIN_YEAR, MAX_YEAR = 1000, 9999
MAX_SEQUENCE = 9_999_999  # seven digits; the database sequence stops here instead of wrapping

# Damm's totally anti-symmetric quasigroup of order 10 (the table from his dissertation).
_DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# After NFKC (which folds full-width input from Chinese IMEs to ASCII), any run of whitespace or
# dash-like characters counts as one separator; separators are optional but only between parts.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_SHAPE = re.compile(rf"{PREFIX}-?([0-9]{{4}})-?([0-9]{{7}})-?([0-9])")
_MAX_INPUT_LENGTH = 64  # far above any sloppy spelling; bounds the work done on hostile input


class InvalidReference(ValueError):
    """Raised for text that is not a reference number; ``code`` says whether its shape or its
    check digit is wrong, so forms can map it to a ``ValidationError`` code."""

    def __init__(self, message: StrOrPromise, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def check_digit(digits: str) -> int:
    """The Damm check digit for a string of ASCII digits."""
    interim = 0
    for char in digits:
        interim = _DAMM_TABLE[interim][int(char)]
    return interim


def format_reference(*, year: int, sequence: int) -> str:
    """The canonical spelling, e.g. ``KV-2026-0001234-6``."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year must have four digits, not {year!r}")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be between 1 and {MAX_SEQUENCE}, not {sequence!r}")
    digits = f"{year:04d}{sequence:07d}"
    return f"{PREFIX}-{year:04d}-{sequence:07d}-{check_digit(digits)}"


def parse_reference(text: str) -> tuple[int, int]:
    """``(year, sequence)`` from user input such as `` kv 2026 0001234 6``.

    Case, surrounding whitespace, full-width characters and missing or extra separators between
    the parts are forgiven; anything else, and any failed check digit, raises InvalidReference.
    """
    if len(text) > _MAX_INPUT_LENGTH:
        raise _malformed()
    compact = _SEPARATORS.sub("-", unicodedata.normalize("NFKC", text).strip()).upper()
    match = _SHAPE.fullmatch(compact)
    if match is None:
        raise _malformed()
    year_digits, sequence_digits, check = match.groups()
    if int(sequence_digits) == 0:
        raise _malformed()
    if check_digit(year_digits + sequence_digits + check) != 0:
        raise InvalidReference(
            _("This reference number contains a typo. Please check it and try again."),
            code="checksum",
        )
    return int(year_digits), int(sequence_digits)


def normalise_reference(text: str) -> str:
    """The canonical spelling of a sloppily typed reference; raises InvalidReference."""
    year, sequence = parse_reference(text)
    return format_reference(year=year, sequence=sequence)


def next_reference(*, year: int) -> str:
    """Allocate the next reference number of ``year``.

    Why a SEQUENCE rather than a counter row locked with SELECT ... FOR UPDATE: ``nextval`` is
    atomic and non-transactional, so it never hands out a number twice and never makes one
    submission wait for another's transaction to finish (a locked counter row would serialise
    every submission of the year behind the slowest one). The price is gaps when a transaction
    rolls back after taking a number, which is acceptable for reference numbers.

    The year's sequence is created on first use. ``CREATE SEQUENCE IF NOT EXISTS`` alone is not
    safe under concurrency (two sessions can both pass the existence check and one then fails
    on the catalog's unique index), so creators serialise on a transaction-scoped advisory lock.
    If the caller is inside a transaction, the creation commits with it; concurrent first
    callers wait for that commit, which happens once a year.
    """
    name = _sequence_name(year)
    try:
        sequence = _nextval(name)
    except ProgrammingError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != "42P01":  # undefined_table
            raise
        _create_sequence(name, year=year)
        sequence = _nextval(name)
    return format_reference(year=year, sequence=sequence)


# Namespace for pg_advisory_xact_lock(int, int), so our lock cannot collide with another
# feature's advisory locks that also use small integers such as years.
_ADVISORY_LOCK_NAMESPACE = 0x4B56_5245  # "KVRE"


def _sequence_name(year: int) -> str:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year must have four digits, not {year!r}")
    return f"applications_reference_{year:04d}"


def _nextval(name: str) -> int:
    # The savepoint keeps a missing sequence from aborting the caller's transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [name])
        row = cursor.fetchone()
    return int(row[0])


def _create_sequence(name: str, *, year: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADVISORY_LOCK_NAMESPACE, year])
        # ``name`` is built from a range-checked int, so formatting it into DDL is safe.
        cursor.execute(
            f"CREATE SEQUENCE IF NOT EXISTS {name} AS integer MINVALUE 1 MAXVALUE {MAX_SEQUENCE}"
        )


def _malformed() -> InvalidReference:
    return InvalidReference(
        _("Enter a reference number like KV-2026-0001234-6."),
        code="malformed",
    )
