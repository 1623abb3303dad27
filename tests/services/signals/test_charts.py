import asyncio
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from models.signals import ChartFile, Signal
from services.errors import AppError
from services.signals import charts

PNG = b"\x89PNG\r\n\x1a\nfake chart"


class CountingRenderer:
    """A render callable that counts its calls and is slow enough for calls to overlap."""

    def __init__(self, payload: bytes = PNG, delay_s: float = 0.05) -> None:
        self.calls = 0
        self.payload = payload
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            self.calls += 1
        threading.Event().wait(self.delay_s)
        return self.payload


async def make_signal(key: str = "EURUSD:sell:2017-05-31T09:00") -> Signal:
    now = datetime(2017, 6, 1, tzinfo=UTC)
    return await Signal.create(
        setup_key=key,
        symbol="EURUSD",
        side="sell",
        entry=Decimal("1.12357"),
        stop=Decimal("1.12575"),
        take_profit=Decimal("1.11647"),
        published_at=now,
        expires_at=now + timedelta(hours=100),
    )


def test_chart_path_is_per_signal_version(tmp_path: Path) -> None:
    assert charts.chart_path(7, 2, tmp_path) == tmp_path / "signal-7-v2.png"
    with pytest.raises(ValueError, match="version"):
        charts.chart_path(7, 0, tmp_path)


async def test_concurrent_calls_render_once_per_version(database: str, tmp_path: Path) -> None:
    signal = await make_signal()
    render = CountingRenderer()
    refs = await asyncio.gather(
        *(charts.ensure_chart(signal.id, 1, render, tmp_path) for _ in range(5))
    )
    assert render.calls == 1
    assert len({r.id for r in refs}) == 1
    ref = refs[0]
    assert (ref.signal_id, ref.version, ref.file_id) == (signal.id, 1, None)
    assert ref.path == charts.chart_path(signal.id, 1, tmp_path)
    assert ref.path.read_bytes() == PNG
    assert list(tmp_path.glob("*.tmp")) == []  # the atomic write left no temp file
    row = await ChartFile.get(id=ref.id)
    assert row.render_ms >= 40.0  # measured around render(), which sleeps 50 ms
    v2 = await charts.ensure_chart(signal.id, 2, render, tmp_path)
    assert render.calls == 2
    assert v2.id != ref.id
    assert await ChartFile.filter(signal_id=signal.id).count() == 2


async def test_second_call_reuses_the_file(database: str, tmp_path: Path) -> None:
    signal = await make_signal()
    render = CountingRenderer(delay_s=0)
    first = await charts.ensure_chart(signal.id, 1, render, tmp_path)
    again = await charts.ensure_chart(signal.id, 1, render, tmp_path)
    assert again == first
    assert render.calls == 1


async def test_missing_file_is_rendered_again_keeping_the_row(
    database: str, tmp_path: Path
) -> None:
    signal = await make_signal()
    render = CountingRenderer(delay_s=0)
    first = await charts.ensure_chart(signal.id, 1, render, tmp_path)
    await charts.remember_file_id(first.id, "AgAD-file")
    first.path.unlink()
    again = await charts.ensure_chart(signal.id, 1, render, tmp_path)
    assert render.calls == 2
    assert again.path.read_bytes() == PNG
    assert (again.id, again.file_id) == (first.id, "AgAD-file")
    assert await ChartFile.filter(signal_id=signal.id).count() == 1


async def test_row_inserted_by_another_process_meanwhile_is_adopted(
    database: str, tmp_path: Path
) -> None:
    # The cross-process race: while we render, another worker inserts the (signal, version)
    # row; our insert hits the unique constraint and we adopt its row instead of failing.
    signal = await make_signal()
    loop = asyncio.get_running_loop()
    path = charts.chart_path(signal.id, 1, tmp_path)

    def render_while_other_inserts() -> bytes:
        insert = ChartFile.create(signal_id=signal.id, version=1, path=str(path), render_ms=1.0)
        asyncio.run_coroutine_threadsafe(insert, loop).result(timeout=30)
        return PNG

    ref = await charts.ensure_chart(signal.id, 1, render_while_other_inserts, tmp_path)
    other = await ChartFile.get(signal_id=signal.id, version=1)
    assert ref.id == other.id
    assert ref.path.read_bytes() == PNG
    assert await ChartFile.filter(signal_id=signal.id).count() == 1


async def test_render_error_propagates_and_writes_nothing(database: str, tmp_path: Path) -> None:
    signal = await make_signal()

    def broken() -> bytes:
        raise RuntimeError("renderer failed")

    with pytest.raises(charts.ChartFailed, match="renderer failed") as failed:
        await charts.ensure_chart(signal.id, 1, broken, tmp_path)
    assert isinstance(failed.value.error, RuntimeError)
    assert await ChartFile.all().count() == 0
    assert list(tmp_path.iterdir()) == []


async def test_remember_file_id_persists(database: str, tmp_path: Path) -> None:
    signal = await make_signal()
    ref = await charts.ensure_chart(signal.id, 1, CountingRenderer(delay_s=0), tmp_path)
    await charts.remember_file_id(ref.id, "AgACAgIAAxkBAAIB")
    assert (await ChartFile.get(id=ref.id)).file_id == "AgACAgIAAxkBAAIB"
    reused = await charts.ensure_chart(signal.id, 1, CountingRenderer(), tmp_path)
    assert reused.file_id == "AgACAgIAAxkBAAIB"
    with pytest.raises(AppError, match="no chart file"):
        await charts.remember_file_id(ref.id + 1000, "x")
