"""Telling a file's type from its first bytes: platforms, filenames and Content-Type headers can
be wrong, and a model or a decoder must be given what the bytes really are."""

from __future__ import annotations

_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_AUDIO_SIGNATURES = (
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"\xff\xf2", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "audio/webm"),
)


def image_mime(data: bytes) -> str | None:
    """The MIME type of image bytes by their signature (PNG, JPEG, GIF, WebP), or None when
    the bytes are not an image a model accepts."""
    return _sniff(data, _IMAGE_SIGNATURES, b"WEBP", "image/webp")


def audio_mime(data: bytes) -> str | None:
    """The MIME type of audio bytes by their signature (OGG, FLAC, MP3, WebM, WAV, M4A),
    or None when the bytes are not recognisable audio."""
    if data[4:8] == b"ftyp" and data[8:12] == b"M4A ":
        return "audio/mp4"
    return _sniff(data, _AUDIO_SIGNATURES, b"WAVE", "audio/wav")


def _sniff(
    data: bytes, signatures: tuple[tuple[bytes, str], ...], riff_form: bytes, riff_mime: str
) -> str | None:
    """The MIME type of the first signature `data` starts with; RIFF containers by their form."""
    if data[:4] == b"RIFF" and data[8:12] == riff_form:
        return riff_mime
    return next((mime for signature, mime in signatures if data.startswith(signature)), None)
