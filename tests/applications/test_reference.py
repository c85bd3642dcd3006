from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from applications.reference import (
    MAX_SEQUENCE,
    InvalidReference,
    format_reference,
    next_reference,
    normalise_reference,
    parse_reference,
)

years = st.integers(min_value=1000, max_value=9999)
sequences = st.integers(min_value=1, max_value=MAX_SEQUENCE)
references = st.builds(lambda y, s: format_reference(year=y, sequence=s), years, sequences)


def test_format_reference_has_the_documented_shape():
    assert format_reference(year=2026, sequence=1234) == "KV-2026-0001234-6"


@given(year=years, sequence=sequences)
def test_parse_reference_round_trips_format_reference(year, sequence):
    assert parse_reference(format_reference(year=year, sequence=sequence)) == (year, sequence)


@pytest.mark.parametrize(
    "sloppy",
    [
        "kv-2026-0001234-6",
        "  KV-2026-0001234-6\n",
        "KV20260001234 6",
        "KV202600012346",
        "kv 2026 0001234 6",
        "KV – 2026 – 0001234 – 6",  # noqa: RUF001  (en dashes pasted from a word processor)
        "ＫＶ－２０２６－０００１２３４－６",  # noqa: RUF001  (full-width, from a Chinese IME)
    ],
)
def test_parse_reference_forgives_case_spacing_and_separators(sloppy):
    assert parse_reference(sloppy) == (2026, 1234)
    assert normalise_reference(sloppy) == "KV-2026-0001234-6"


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "KV-2026-0001234",  # no check digit
        "KX-2026-0001234-6",
        "2026-0001234-6",
        "KV-2026-001234-6",  # six-digit sequence
        "KV-202-60001234-6",  # separator inside a part
        "KV-2026-0000000-0",  # sequence zero is never issued
        "KV-2026-0001234-6-",
        "KV-٢٠٢٦-0001234-6",  # Arabic-Indic digits are digits to Python, not to us
        "KV-2026-0001234-6" + " " * 100,
    ],
)
def test_parse_reference_rejects_malformed_text(malformed):
    with pytest.raises(InvalidReference) as excinfo:
        parse_reference(malformed)
    assert excinfo.value.code == "malformed"
    assert "KV-2026-0001234-6" in str(excinfo.value)


def test_parse_reference_rejects_a_wrong_check_digit_with_a_typo_message():
    with pytest.raises(InvalidReference) as excinfo:
        parse_reference("KV-2026-0001234-4")
    assert excinfo.value.code == "checksum"
    assert "typo" in str(excinfo.value)


def test_invalid_reference_is_a_value_error():
    assert issubclass(InvalidReference, ValueError)


@pytest.mark.parametrize(("year", "sequence"), [(999, 1), (10000, 1), (2026, 0), (2026, 10**7)])
def test_format_reference_refuses_values_that_do_not_fit(year, sequence):
    with pytest.raises(ValueError, match="must"):
        format_reference(year=year, sequence=sequence)


@given(reference=references, data=st.data())
def test_every_digit_substitution_is_rejected(reference, data):
    digit_positions = [i for i, ch in enumerate(reference) if ch.isdigit()]
    position = data.draw(st.sampled_from(digit_positions))
    replacement = data.draw(
        st.sampled_from("0123456789").filter(lambda d: d != reference[position])
    )
    typo = reference[:position] + replacement + reference[position + 1 :]
    with pytest.raises(InvalidReference):
        parse_reference(typo)


@given(reference=references, data=st.data())
def test_every_adjacent_transposition_is_rejected(reference, data):
    candidates = [i for i in range(len(reference) - 1) if reference[i] != reference[i + 1]]
    position = data.draw(st.sampled_from(candidates))
    swapped = (
        reference[:position]
        + reference[position + 1]
        + reference[position]
        + reference[position + 2 :]
    )
    with pytest.raises(InvalidReference):
        parse_reference(swapped)


@given(reference=references, data=st.data())
def test_any_single_character_substitution_never_names_a_different_case(reference, data):
    # Some substitutions are harmless spellings of the same reference ("k" for "K", a space for
    # a dash, a full-width digit for the same digit); none may ever parse to another case.
    position = data.draw(st.integers(min_value=0, max_value=len(reference) - 1))
    replacement = data.draw(st.characters(exclude_characters=reference[position]))
    typo = reference[:position] + replacement + reference[position + 1 :]
    try:
        parsed = normalise_reference(typo)
    except InvalidReference:
        return
    assert parsed == reference


# --- next_reference: PostgreSQL sequences ---------------------------------------------------

TEST_YEAR = 2999  # far from any year real tests or demo data submit in


@pytest.fixture
def fresh_sequence(django_db_blocker):
    def drop():
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(f"DROP SEQUENCE IF EXISTS applications_reference_{TEST_YEAR}")

    drop()
    yield TEST_YEAR
    drop()


@pytest.mark.django_db
def test_next_reference_issues_increasing_valid_references(fresh_sequence):
    first = next_reference(year=fresh_sequence)
    second = next_reference(year=fresh_sequence)
    assert parse_reference(first) == (fresh_sequence, 1)
    assert parse_reference(second) == (fresh_sequence, 2)


@pytest.mark.django_db
def test_next_reference_creates_the_years_sequence_without_aborting_the_callers_transaction(
    fresh_sequence,
):
    with transaction.atomic():
        reference = next_reference(year=fresh_sequence)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # would fail if the missing sequence had aborted it
            assert cursor.fetchone() == (1,)
    assert reference == format_reference(year=fresh_sequence, sequence=1)


@pytest.mark.django_db
def test_next_reference_refuses_a_year_that_does_not_fit():
    with pytest.raises(ValueError, match="four digits"):
        next_reference(year=20260)


@pytest.mark.django_db(transaction=True)
def test_next_reference_never_repeats_under_concurrent_first_use(fresh_sequence):
    threads_count, per_thread = 10, 20
    barrier = threading.Barrier(threads_count)
    issued: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        # Each thread gets its own database connection (Django connections are per thread).
        try:
            barrier.wait()  # all race to create the not-yet-existing sequence
            mine = [next_reference(year=fresh_sequence) for _ in range(per_thread)]
            with lock:
                issued.extend(mine)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(issued) == threads_count * per_thread
    assert len(set(issued)) == len(issued)
    assert {parse_reference(r)[1] for r in issued} == set(range(1, len(issued) + 1))
