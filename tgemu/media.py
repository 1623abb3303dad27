"""Stored files: uploads, file_id reuse and URLs, image sizes sniffed from headers."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import mimetypes
import struct

from tgemu.errors import bad_request
from tgemu.models import FileRec
from tgemu.params import Upload
from tgemu.state import Emulator

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return 0, 0
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return 0, 0


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, GIF or JPEG; (0, 0) when unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return 0, 0


def image_mime(data: bytes) -> str:
    """The image type from its magic bytes (never trust an upload's claimed content type)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/jpeg"


def _mime(upload: Upload) -> str:
    if upload.content_type and upload.content_type != "application/octet-stream":
        return upload.content_type
    guessed, _ = mimetypes.guess_type(upload.filename)
    return guessed or "application/octet-stream"


def resolve_file(emu: Emulator, kind: str, value: Upload | str | None) -> FileRec:
    """An InputFile parameter -> a stored file: new upload, known file_id or HTTP URL."""
    if value is None:
        raise bad_request(f"there is no {kind} in the request")
    if isinstance(value, Upload):
        width, height = image_size(value.data) if kind == "photo" else (0, 0)
        if kind == "photo" and not width:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return emu.store_file(
            kind,
            data=value.data,
            mime_type=image_mime(value.data) if kind == "photo" else _mime(value),
            file_name=value.filename,
            width=width,
            height=height,
        )
    if value in emu.files:
        return emu.files[value]
    if value.startswith(("http://", "https://")):
        name = value.rsplit("/", 1)[-1] or None
        guessed, _ = mimetypes.guess_type(name or "")
        return emu.store_file(
            kind, url=value, file_name=name, mime_type=guessed or "application/octet-stream"
        )
    raise bad_request("wrong file identifier/HTTP URL specified")
