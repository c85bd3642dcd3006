"""Validation of uploaded documents by what they contain, independent of any model.

Nothing the client says is trusted: the type comes from the file's magic bytes (python-magic),
the declared extension must agree with it, and then the file must really parse (Pillow for
images, pypdf for PDFs). The client's file name is only ever a display name, sanitised; stored
files get opaque names from ``storage_name``.

Polyglots (an image followed by an HTML, script or ZIP payload) are *rejected*, not re-encoded:
the stored file stays byte-for-byte what the applicant uploaded, so its SHA-256 keeps meaning
something as evidence, and validation needs no second copy. PNG has no legitimate data after
IEND. JPEG may legitimately carry further complete JPEG streams after the first EOI (MPF
previews, Ultra HDR gain maps) and zero padding, which are accepted; anything else after EOI,
such as a "motion photo" video, is refused with advice to save a plain copy. Markup hidden
*inside* metadata chunks is not looked for; the download views' job (exact Content-Type,
``nosniff``, ``Content-Disposition: attachment``) covers that.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import magic
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image
from pypdf import PasswordType, PdfReader

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
ALLOWED_TYPES: frozenset[str] = frozenset({PDF, JPEG, PNG})

# An A4 page scanned at 600 dpi is 35 megapixels; decoding 50 MP as RGB takes about 150 MB.
MAX_IMAGE_PIXELS = 50_000_000
DISPLAY_NAME_MAX_LENGTH = 100  # fits Document.original_name with room to spare
_SNIFF_BYTES = 8192
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class _Kind:
    label: str
    extensions: tuple[str, ...]  # the first is the canonical one, used for storage

    @property
    def canonical_extension(self) -> str:
        return self.extensions[0]


_KINDS: dict[str, _Kind] = {
    PDF: _Kind("PDF", (".pdf",)),
    JPEG: _Kind("JPEG", (".jpg", ".jpeg")),
    PNG: _Kind("PNG", (".png",)),
}


@dataclass(frozen=True, slots=True)
class ValidatedUpload:
    """What is known about an upload once it passed every check."""

    content_type: str  # sniffed from the bytes, e.g. "application/pdf"
    size: int  # bytes actually read
    sha256: str  # hex
    display_name: str  # sanitised client file name, for showing and downloading only
    extension: str  # canonical for the sniffed type, with the dot: ".pdf", ".jpg", ".png"


def validate_upload(
    file: UploadedFile,
    *,
    allowed: frozenset[str] = ALLOWED_TYPES,
    max_bytes: int,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> ValidatedUpload:
    """Check an upload by its content; raise ValidationError with a code for the first problem.

    Codes: ``empty``, ``too_large``, ``unsupported_type``, ``extension_mismatch``,
    ``invalid_image``, ``too_many_pixels``, ``trailing_data``, ``invalid_pdf``,
    ``pdf_encrypted``. The file is left rewound.
    """
    unknown = allowed - _KINDS.keys()
    if unknown:
        raise ValueError(f"no content checks exist for {sorted(unknown)}")
    size, sha256 = _measure(file, max_bytes=max_bytes)
    display_name = safe_display_name(file.name or "")

    file.seek(0)
    content_type = magic.from_buffer(file.read(_SNIFF_BYTES), mime=True)
    if content_type not in allowed:
        labels = ", ".join(_KINDS[t].label for t in sorted(allowed, key=list(_KINDS).index))
        raise ValidationError(
            _("This file is not of an accepted type. Accepted types: %(types)s."),
            code="unsupported_type",
            params={"types": labels},
        )
    kind = _KINDS[content_type]
    _check_extension(display_name, kind)

    if content_type == PDF:
        _check_pdf(file)
    else:
        _check_image(file, content_type=content_type, size=size, max_pixels=max_pixels)
    file.seek(0)
    return ValidatedUpload(
        content_type=content_type,
        size=size,
        sha256=sha256,
        display_name=display_name,
        extension=kind.canonical_extension,
    )


def storage_name(*, sha256: str, extension: str) -> str:
    """An opaque storage path such as ``documents/ab/cd/<uuid>.pdf``.

    Never derived from the client's name. The hash prefix fans files out over directories; the
    random UUID makes every stored object distinct even for identical content, so deleting one
    applicant's copy can never remove another's.
    """
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    if extension not in {kind.canonical_extension for kind in _KINDS.values()}:
        raise ValueError(f"unknown extension {extension!r}")
    return f"documents/{sha256[:2]}/{sha256[2:4]}/{uuid.uuid4().hex}{extension}"


# Characters Windows refuses in file names; replaced so a downloaded copy saves cleanly.
_RESERVED = re.compile(r'[<>:"|?*]')


def safe_display_name(name: str) -> str:
    """A file name safe to show and to offer on download: the last path component only,
    without control or invisible formatting characters (e.g. a right-to-left override that
    makes ``exe.pdf`` look like ``fdp.exe``), no leading dots, at most
    DISPLAY_NAME_MAX_LENGTH characters with the extension kept."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    # Tabs and newlines are control characters too, but become single spaces instead.
    name = "".join(ch for ch in name if ch.isspace() or unicodedata.category(ch)[0] != "C")
    name = " ".join(_RESERVED.sub("_", name).split())
    name = name.strip(". ")
    stem, extension = _split_extension(name)
    stem = stem[: DISPLAY_NAME_MAX_LENGTH - len(extension)].rstrip(". ")
    return f"{stem or 'document'}{extension}"


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.isascii() and extension.isalnum() and len(extension) <= 10:
        return stem, f".{extension}"
    return name, ""


def _measure(file: UploadedFile, *, max_bytes: int) -> tuple[int, str]:
    """Size and SHA-256, streamed in chunks; stops reading as soon as the limit is passed."""
    too_large = ValidationError(
        _("The file is larger than %(limit)s. Please upload a smaller file."),
        code="too_large",
        params={"limit": filesizeformat(max_bytes)},
    )
    if file.size is not None and file.size > max_bytes:
        raise too_large
    digest = hashlib.sha256()
    size = 0
    for chunk in file.chunks(_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        digest.update(chunk)
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    return size, digest.hexdigest()


def _check_extension(display_name: str, kind: _Kind) -> None:
    extension = _split_extension(display_name)[1]
    if extension.lower() in kind.extensions:
        return
    params = {"type": kind.label, "expected": kind.canonical_extension, "extension": extension}
    if extension:
        message = _(
            "The file name ends in “%(extension)s” but the file is a %(type)s. "
            "Rename it to end in “%(expected)s” and upload it again."
        )
    else:
        message = _(
            "The file name has no extension but the file is a %(type)s. "
            "Rename it to end in “%(expected)s” and upload it again."
        )
    raise ValidationError(message, code="extension_mismatch", params=params)


def _invalid_image() -> ValidationError:
    return ValidationError(
        _("The image could not be read; it may be damaged. Please save it again and re-upload."),
        code="invalid_image",
    )


def _check_image(file: UploadedFile, *, content_type: str, size: int, max_pixels: int) -> None:
    """Cheapest first: header dimensions, then the structure walk, then the full decode."""
    pil_format = "PNG" if content_type == PNG else "JPEG"
    _check_image_pixels(file, pil_format=pil_format, max_pixels=max_pixels)
    if content_type == PNG:
        _check_png_structure(file, size=size)
    else:
        _check_jpeg_structure(file)
    _decode_image(file, pil_format=pil_format)


def _check_png_structure(file: UploadedFile, *, size: int) -> None:
    end = _png_end(file)
    if end is None:
        raise _invalid_image()
    if end != size:
        raise _trailing_data()


def _check_jpeg_structure(file: UploadedFile) -> None:
    file.seek(0)
    data = file.read()  # at most max_bytes; the marker walk needs random access
    end = _jpeg_end(data, 0)
    if end is None:
        raise _invalid_image()
    while end < len(data):
        if data.count(0, end) == len(data) - end:
            break  # zero padding, written by some cameras
        following = _jpeg_end(data, end)  # an MPF preview or gain map appended by the camera
        if following is None:
            raise _trailing_data()
        end = following


def _check_image_pixels(file: UploadedFile, *, pil_format: str, max_pixels: int) -> None:
    """Refuse decompression bombs from the header alone, before anything is decoded."""
    file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit; ours is lower and is enforced just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file, formats=[pil_format]) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        too_many = True  # beyond twice Pillow's own limit, so certainly beyond ours
    except Exception as exc:  # Pillow raises many types on corrupt headers
        raise _invalid_image() from exc
    else:
        too_many = width * height > max_pixels
    if too_many:
        raise ValidationError(
            _("The image has too many pixels. The largest accepted is %(limit)s megapixels."),
            code="too_many_pixels",
            params={"limit": max(1, round(max_pixels / 1_000_000))},
        )


def _decode_image(file: UploadedFile, *, pil_format: str) -> None:
    """verify() checks structure (PNG checksums); load() proves the pixels really decode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            file.seek(0)
            with Image.open(file, formats=[pil_format]) as image:
                image.verify()
            file.seek(0)
            with Image.open(file, formats=[pil_format]) as image:
                image.load()
    except Exception as exc:  # Pillow raises many types on corrupt data
        raise _invalid_image() from exc


def _trailing_data() -> ValidationError:
    return ValidationError(
        _(
            "The image has extra data hidden after its end. Please save a plain copy (for "
            "example, export it or take a screenshot) and upload that."
        ),
        code="trailing_data",
    )


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_end(file: UploadedFile) -> int | None:
    """Offset just past the IEND chunk, walking chunk by chunk; None if the chunks are broken.

    Walking by chunk lengths (instead of searching for ``IEND``) cannot be fooled by those
    bytes appearing inside compressed data.
    """
    file.seek(0)
    if file.read(8) != _PNG_SIGNATURE:
        return None
    position = 8
    while True:
        header = file.read(8)
        if len(header) < 8:
            return None
        length, chunk_type = struct.unpack(">I4s", header)
        if length > 0x7FFF_FFFF:  # the PNG specification's maximum
            return None
        position += 12 + length  # length, type, data, CRC
        if chunk_type == b"IEND":
            return position
        file.seek(position)


_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field


def _jpeg_end(data: bytes, start: int) -> int | None:
    """Offset just past the EOI of the JPEG stream at ``start``; None if it is malformed.

    Marker segments are skipped by their length fields (so a thumbnail inside EXIF, with its own
    EOI, does not end the walk); entropy-coded data after SOS is scanned for the next marker,
    skipping stuffed ``FF 00`` bytes and restart markers.
    """
    if data[start : start + 2] != b"\xff\xd8":
        return None
    position, end = start + 2, len(data)
    while position < end:
        if data[position] != 0xFF:
            return None
        while position < end and data[position] == 0xFF:  # fill bytes
            position += 1
        if position >= end:
            return None
        marker = data[position]
        position += 1
        if marker == 0xD9:
            return position
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD8) or position + 2 > end:
            return None
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2:
            return None
        position += length
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= end:
                    return None
                following = data[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    position += 2
                elif following == 0xFF:
                    position += 1
                else:
                    break
    return None


def _check_pdf(file: UploadedFile) -> None:
    """The PDF must parse and have pages. Encryption that only restricts permissions (an owner
    password, as on many university transcripts and bank statements) opens without a
    password and is accepted; a PDF that needs a password to open is refused."""
    file.seek(0)
    try:
        reader = PdfReader(file)
        locked = reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
        pages = 0 if locked else len(reader.pages)
    except Exception as exc:  # pypdf raises many types on malformed files
        raise ValidationError(
            _("The PDF could not be read; it may be damaged. Please save it again and re-upload."),
            code="invalid_pdf",
        ) from exc
    if locked:
        raise ValidationError(
            _("The PDF is protected by a password. Please upload a copy without a password."),
            code="pdf_encrypted",
        )
    if pages == 0:
        raise ValidationError(_("The PDF has no pages."), code="invalid_pdf")


def private_file_response(
    file: Any, *, filename: str, content_type: str, attachment: bool = True
) -> FileResponse:
    """Stream a privately stored file to someone the view has already let see it: never kept
    by a shared cache, never content-sniffed; a file gone from storage is a 404, not a 500."""
    try:
        handle = file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=attachment, filename=filename, content_type=content_type
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
