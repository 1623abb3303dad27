"""The files a subscriber installs in MetaTrader 5: our EA's source and its include files
(zipped, to unpack next to it), as the chat sends them after /devices -> Add and the Mini App
offers them for download. The EA is a client of the EA API and holds no secret: the same
files for everyone."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

EA_DIR = Path(__file__).resolve().parents[2] / "ea" / "mql5"
EA_FILE = EA_DIR / "SignalDeskEA.mq5"
INCLUDE_ZIP = "SignalDeskEA-include.zip"


@dataclass(frozen=True, slots=True)
class EaFile:
    name: str
    data: bytes
    media_type: str


def _includes() -> list[Path]:
    return sorted((EA_DIR / "include").glob("*.mqh"))


def include_zip() -> bytes | None:
    """The include files as ``include/<name>.mqh`` in a zip (None when none are shipped)."""
    paths = _includes()
    if not paths:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, f"include/{path.name}")
    return buffer.getvalue()


@cache
def ea_files() -> tuple[EaFile, ...]:
    """What is shipped, in install order: the EA source, then its includes' zip. Read once per
    process (the files change only with a release)."""
    files: list[EaFile] = []
    if EA_FILE.is_file():
        files.append(EaFile(EA_FILE.name, EA_FILE.read_bytes(), "text/plain"))
        archive = include_zip()
        if archive is not None:
            files.append(EaFile(INCLUDE_ZIP, archive, "application/zip"))
    return tuple(files)


def ea_file(name: str) -> EaFile | None:
    """One shipped file by its exact name (None for anything else: no paths, no guessing)."""
    return next((f for f in ea_files() if f.name == name), None)
