"""Chart files: one PNG per signal version, rendered once, then re-sent by Telegram `file_id`.

`ensure_chart` is get-or-render: a `ChartFile` row whose file is on disk is reused; otherwise
the chart is rendered in a worker thread (rendering is CPU-bound, ~30-60 ms), written
atomically and recorded with its render time. Within a process concurrent calls for one
(signal, version) wait on one asyncio lock, so the chart renders once; across processes the
unique (signal, version) constraint decides and the loser adopts the winner's row (renders are
deterministic, so both wrote the same bytes to the same path).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.signals import ChartFile
from services.errors import AppError


@dataclass(frozen=True, slots=True)
class ChartRef:
    """A rendered chart: `path` of the PNG, `file_id` once Telegram has stored it."""

    id: int
    signal_id: int
    version: int
    path: Path
    file_id: str | None


# Weak values: a lock lives while some call holds or awaits it, then the entry disappears.
_LOCKS: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = weakref.WeakValueDictionary()


class ChartFailed(Exception):
    """Rendering or writing the chart of (signal, version) failed; nothing was stored. The
    fan-out then sends text cards: a chart is never worth a signal."""

    def __init__(self, signal_id: int, version: int, error: Exception) -> None:
        super().__init__(
            f"chart of signal {signal_id} v{version}: {type(error).__name__}: {error}"
        )
        self.error = error


def chart_path(signal_id: int, version: int, base_dir: Path) -> Path:
    """Where the PNG of (signal, version) lives: `base_dir/signal-<id>-v<version>.png`."""
    if signal_id < 1 or version < 1:
        msg = f"signal_id and version must be >= 1, got {signal_id}, {version}"
        raise ValueError(msg)
    return Path(base_dir) / f"signal-{signal_id}-v{version}.png"


def _to_ref(row: ChartFile) -> ChartRef:
    return ChartRef(
        id=row.id,
        signal_id=row.signal_id,  # type: ignore[attr-defined]
        version=row.version,
        path=Path(row.path),
        file_id=row.file_id,
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same directory, fsync, `os.replace`: readers never see half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _render_to(render: Callable[[], bytes], path: Path) -> float:
    """Render and write (in a worker thread); returns the render time in milliseconds."""
    started = time.perf_counter()
    png = render()
    render_ms = (time.perf_counter() - started) * 1000.0
    _write_atomically(path, png)
    return render_ms


async def _usable(row: ChartFile | None) -> bool:
    return row is not None and await asyncio.to_thread(Path(row.path).is_file)


async def ensure_chart(
    signal_id: int, version: int, render: Callable[[], bytes], base_dir: Path
) -> ChartRef:
    """The chart of (signal, version), rendering it with `render()` (PNG bytes, called in a
    worker thread) only when no `ChartFile` row exists or its file is gone from disk.

    A re-render after the file went missing keeps the row and its `file_id` (Telegram's copy
    of the same version is still valid). Concurrent calls render once (see module docstring).
    """
    key = (signal_id, version)
    lock = _LOCKS.get(key)
    if lock is None:
        lock = _LOCKS[key] = asyncio.Lock()
    async with lock:
        row = await ChartFile.get_or_none(signal_id=signal_id, version=version)
        if row is not None and await _usable(row):
            return _to_ref(row)
        path = chart_path(signal_id, version, base_dir)
        try:
            render_ms = await asyncio.to_thread(_render_to, render, path)
        except Exception as exc:  # the renderer or the file, not the database
            raise ChartFailed(signal_id, version, exc) from exc
        if row is not None:
            row.path, row.render_ms = str(path), render_ms
            await row.save(update_fields=["path", "render_ms"])
            return _to_ref(row)
        row, _created = await ChartFile.get_or_create(
            signal_id=signal_id,
            version=version,
            defaults={"path": str(path), "render_ms": render_ms},
        )
        return _to_ref(row)


async def existing_chart(signal_id: int, version: int) -> ChartRef | None:
    """The chart of (signal, version) if one was rendered and is usable; never renders."""
    row = await ChartFile.get_or_none(signal_id=signal_id, version=version)
    return _to_ref(row) if row is not None and await _usable(row) else None


async def remember_file_id(chart_id: int, file_id: str) -> None:
    """Store Telegram's `file_id` of an uploaded chart so later sends reuse it (no upload)."""
    updated = await ChartFile.filter(id=chart_id).update(file_id=file_id)
    if not updated:  # a caller bug, not a user's mistake: no message key
        msg = f"no chart file with id {chart_id}; pass ChartRef.id from ensure_chart"
        raise AppError(msg)
