from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

from applications.uploads import (
    ALLOWED_TYPES,
    DISPLAY_NAME_MAX_LENGTH,
    PDF,
    ValidatedUpload,
    safe_display_name,
    storage_name,
    validate_upload,
)

LIMIT = 1024 * 1024
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


# --- building real files ----------------------------------------------------------------------


def make_pdf(*, user_password: str | None = None, owner_password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if user_password is not None:
        writer.encrypt(
            user_password=user_password, owner_password=owner_password, algorithm="AES-256"
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_image(fmt: str, *, size: tuple[int, int] = (16, 16), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + data)
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", crc)


def png_with_header(width: int, height: int) -> bytes:
    """A well-formed PNG that claims huge dimensions: tiny on disk, a bomb when decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + png_chunk(b"IEND", b"")
    )


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    # The client's content type is deliberately wrong in most tests: it must not matter.
    return SimpleUploadedFile(name, data, content_type=content_type)


def rejection(name: str, data: bytes, **options: object) -> ValidationError:
    options.setdefault("max_bytes", LIMIT)
    with pytest.raises(ValidationError) as excinfo:
        validate_upload(upload(name, data), **options)
    return excinfo.value


# --- happy paths ----------------------------------------------------------------------------


def test_a_real_pdf_is_accepted_with_its_type_size_and_hash():
    data = make_pdf()
    file = upload("Degree certificate.pdf", data, content_type="text/html")
    checked = validate_upload(file, max_bytes=LIMIT)
    assert checked == ValidatedUpload(
        content_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        display_name="Degree certificate.pdf",
        extension=".pdf",
    )
    assert file.tell() == 0


def test_a_real_png_is_accepted():
    data = make_image("PNG")
    checked = validate_upload(upload("scan.PNG", data), max_bytes=LIMIT)
    assert (checked.content_type, checked.extension) == ("image/png", ".png")
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


def test_a_real_jpeg_named_jpeg_is_accepted_with_the_canonical_extension():
    checked = validate_upload(upload("photo.jpeg", make_image("JPEG")), max_bytes=LIMIT)
    assert (checked.content_type, checked.extension) == ("image/jpeg", ".jpg")
    assert checked.display_name == "photo.jpeg"


def test_a_progressive_jpeg_with_restart_markers_is_accepted():
    data = make_image("JPEG", size=(64, 64), progressive=True, restart_marker_blocks=1)
    assert validate_upload(upload("photo.jpg", data), max_bytes=LIMIT).content_type == "image/jpeg"


def test_a_jpeg_whose_comment_contains_an_end_marker_is_accepted():
    # Segments are skipped by length, so bytes inside them (like an EXIF thumbnail's EOI) do
    # not end the image early and make the real image data look like a trailing payload.
    data = make_image("JPEG")
    comment = b"\xff\xd9 not the end"
    data = data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]
    assert validate_upload(upload("photo.jpg", data), max_bytes=LIMIT).size == len(data)


def test_a_jpeg_followed_by_a_second_jpeg_as_cameras_write_is_accepted():
    data = make_image("JPEG") + make_image("JPEG", size=(4, 4))  # MPF preview / gain map
    assert validate_upload(upload("photo.jpg", data), max_bytes=LIMIT).size == len(data)


def test_a_jpeg_with_zero_padding_is_accepted():
    data = make_image("JPEG") + b"\x00" * 64
    assert validate_upload(upload("photo.jpg", data), max_bytes=LIMIT).size == len(data)


def test_a_pdf_restricted_only_by_an_owner_password_is_accepted():
    data = make_pdf(user_password="", owner_password="registrar")
    assert validate_upload(upload("transcript.pdf", data), max_bytes=LIMIT).content_type == PDF


# --- size -----------------------------------------------------------------------------------


def test_an_empty_file_is_rejected():
    error = rejection("empty.pdf", b"")
    assert error.code == "empty"
    assert error.messages == ["The file is empty."]


def test_a_file_over_the_limit_is_rejected():
    error = rejection("big.pdf", make_pdf(), max_bytes=100)
    assert error.code == "too_large"
    assert error.messages == ["The file is larger than 100\xa0bytes. Please upload a smaller file."]


def test_the_size_is_counted_not_taken_from_the_client():
    data = make_pdf()
    lying = InMemoryUploadedFile(io.BytesIO(data), "file", "a.pdf", PDF, size=10, charset=None)
    with pytest.raises(ValidationError) as excinfo:
        validate_upload(lying, max_bytes=100)
    assert excinfo.value.code == "too_large"


# --- type -----------------------------------------------------------------------------------


def test_html_renamed_to_pdf_is_rejected_as_an_unsupported_type():
    error = rejection("invoice.pdf", HTML)
    assert error.code == "unsupported_type"
    assert error.messages == [
        "This file is not of an accepted type. Accepted types: PDF, JPEG, PNG."
    ]


def test_a_png_named_pdf_is_rejected_because_the_extension_does_not_match():
    error = rejection("passport.pdf", make_image("PNG"))
    assert error.code == "extension_mismatch"
    assert "“.pdf”" in error.messages[0]
    assert "“.png”" in error.messages[0]


def test_a_file_without_an_extension_is_rejected():
    error = rejection("passport", make_pdf())
    assert error.code == "extension_mismatch"
    assert "no extension" in error.messages[0]


def test_types_outside_the_allowed_set_are_rejected():
    error = rejection("photo.png", make_image("PNG"), allowed=frozenset({PDF}))
    assert error.code == "unsupported_type"
    assert "Accepted types: PDF." in error.messages[0]


def test_allowing_a_type_without_content_checks_is_a_programming_error():
    with pytest.raises(ValueError, match="no content checks"):
        validate_upload(
            upload("a.gif", b"GIF89a"), allowed=ALLOWED_TYPES | {"image/gif"}, max_bytes=LIMIT
        )


# --- images ---------------------------------------------------------------------------------


def test_a_png_followed_by_html_is_rejected_as_a_polyglot():
    error = rejection("photo.png", make_image("PNG") + HTML)
    assert error.code == "trailing_data"
    assert "extra data" in error.messages[0]


def test_a_jpeg_followed_by_html_is_rejected_as_a_polyglot():
    error = rejection("photo.jpg", make_image("JPEG") + HTML)
    assert error.code == "trailing_data"


def test_a_png_claiming_enormous_dimensions_is_rejected_before_decoding():
    error = rejection("bomb.png", png_with_header(100_000, 100_000))
    assert error.code == "too_many_pixels"
    assert error.messages == [
        "The image has too many pixels. The largest accepted is 50 megapixels."
    ]


def test_a_png_just_over_our_pixel_limit_is_rejected():
    # 100 MP is below the point where Pillow itself refuses (~179 MP), so this is our check.
    error = rejection("big.png", png_with_header(10_000, 10_000))
    assert error.code == "too_many_pixels"


def test_the_pixel_limit_is_configurable():
    data = make_image("JPEG", size=(2000, 1000))
    error = rejection("photo.jpg", data, max_pixels=1_000_000, max_bytes=len(data))
    assert error.code == "too_many_pixels"
    assert "1 megapixels" in error.messages[0]


@pytest.mark.parametrize(("name", "fmt"), [("photo.png", "PNG"), ("photo.jpg", "JPEG")])
def test_a_truncated_image_is_rejected(name, fmt):
    data = make_image(fmt, size=(64, 64))
    error = rejection(name, data[: len(data) // 2])
    assert error.code == "invalid_image"
    assert "could not be read" in error.messages[0]


def test_a_png_with_a_corrupted_chunk_is_rejected():
    data = bytearray(make_image("PNG", size=(64, 64)))
    idat = data.index(b"IDAT")
    data[idat + 20] ^= 0xFF  # inside the compressed data; the chunk's CRC no longer matches
    assert rejection("photo.png", bytes(data)).code == "invalid_image"


# --- PDFs -----------------------------------------------------------------------------------


def test_a_pdf_that_needs_a_password_to_open_is_rejected():
    error = rejection("statement.pdf", make_pdf(user_password="secret", owner_password="owner"))
    assert error.code == "pdf_encrypted"
    assert "password" in error.messages[0]


def test_a_damaged_pdf_is_rejected():
    error = rejection("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    assert error.code == "invalid_pdf"
    assert "could not be read" in error.messages[0]


# --- file names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_name", "display_name"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\evil.pdf", "evil.pdf"),
        ("C:\\Users\\li\\Desktop\\passport.pdf", "passport.pdf"),
        ("..", "document"),
        (".hidden.pdf", "hidden.pdf"),
        ("re\x00port\x07.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override trick
        ('a<b>:c"d|e?f*.pdf', "a_b__c_d_e_f_.pdf"),
        ("  lots   of\tspace .pdf", "lots of space.pdf"),
        ("护照 扫描件.pdf", "护照 扫描件.pdf"),
    ],
)
def test_safe_display_name_keeps_only_a_harmless_base_name(client_name, display_name):
    assert safe_display_name(client_name) == display_name


def test_an_overlong_name_is_shortened_keeping_its_extension():
    name = safe_display_name("a" * 300 + ".pdf")
    assert len(name) == DISPLAY_NAME_MAX_LENGTH
    assert name.endswith("a.pdf")


def test_hostile_client_names_become_safe_display_names_on_upload():
    for client_name, expected in [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\evil.pdf", "evil.pdf"),
        ("x" * 300 + ".pdf", "x" * (DISPLAY_NAME_MAX_LENGTH - 4) + ".pdf"),
        ("scan\x00.png.pdf", "scan.png.pdf"),
    ]:
        assert (
            validate_upload(upload(client_name, make_pdf()), max_bytes=LIMIT).display_name
            == expected
        )


def test_a_control_character_cannot_hide_a_wrong_extension():
    error = rejection("invoice.pdf\x00.html", make_pdf())
    assert error.code == "extension_mismatch"


# --- storage names --------------------------------------------------------------------------


def test_storage_name_is_opaque_sharded_and_unique():
    sha256 = hashlib.sha256(b"x").hexdigest()
    first = storage_name(sha256=sha256, extension=".pdf")
    second = storage_name(sha256=sha256, extension=".pdf")
    assert re.fullmatch(rf"documents/{sha256[:2]}/{sha256[2:4]}/[0-9a-f]{{32}}\.pdf", first)
    assert first != second


@pytest.mark.parametrize(
    ("sha256", "extension"),
    [("../../etc", ".pdf"), ("A" * 64, ".pdf"), ("a" * 64, ".html"), ("a" * 64, "/../x")],
)
def test_storage_name_refuses_anything_but_a_hash_and_a_known_extension(sha256, extension):
    with pytest.raises(ValueError, match=r"sha256|extension"):
        storage_name(sha256=sha256, extension=extension)
