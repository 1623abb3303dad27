"""The process clock: manual time, aware UTC, install/restore, and no module around it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from core import clock as process_clock
from core.clock import ManualClock, SystemClock

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2030, 1, 1, tzinfo=UTC)


def test_manual_clock_stands_still_until_moved() -> None:
    manual = ManualClock(START)
    assert manual.now() == manual.now() == START
    assert manual.advance(timedelta(minutes=5)) == START + timedelta(minutes=5)
    assert manual.advance(1.5) == START + timedelta(minutes=5, seconds=1.5)
    manual.set(START - timedelta(days=1))  # a replay may go back, explicitly
    assert manual.now() == START - timedelta(days=1)


def test_manual_clock_refuses_naive_times_and_going_back_by_advance() -> None:
    manual = ManualClock(START)
    with pytest.raises(ValueError, match="aware"):
        manual.set(datetime(2030, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2030, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="forward"):
        manual.advance(-1)
    assert manual.now() == START


def test_times_are_aware_utc() -> None:
    manual = ManualClock(datetime(2030, 1, 1, 3, tzinfo=timezone(timedelta(hours=3))))
    assert manual.now() == START and manual.now().tzinfo is UTC
    system = SystemClock().now()
    assert system.tzinfo is UTC
    assert abs(system - datetime.now(UTC)) < timedelta(minutes=1)


def test_install_returns_the_previous_clock_and_using_restores_it() -> None:
    before = process_clock.installed()
    manual = ManualClock(START)
    with process_clock.using(manual) as inside:
        assert inside is manual and process_clock.installed() is manual
        assert process_clock.now() == START
        manual.advance(60)
        assert process_clock.now() == START + timedelta(minutes=1)
        assert process_clock.timestamp() == (START + timedelta(minutes=1)).timestamp()
    assert process_clock.installed() is before
    previous = process_clock.install(manual)
    try:
        assert previous is before and process_clock.now() == START + timedelta(minutes=1)
    finally:
        assert process_clock.install(previous) is manual
    assert process_clock.installed() is before


def test_using_restores_the_clock_when_the_block_raises() -> None:
    before = process_clock.installed()
    with pytest.raises(RuntimeError), process_clock.using(ManualClock(START)):
        raise RuntimeError
    assert process_clock.installed() is before


def test_the_fixture_installs_a_manual_clock(clock: ManualClock) -> None:
    assert process_clock.installed() is clock
    clock.advance(timedelta(hours=2))
    assert process_clock.now() == START + timedelta(hours=2)


def test_the_system_clock_is_installed_outside_the_fixture() -> None:
    assert process_clock.installed() is process_clock.SYSTEM


NOW_CALL = re.compile(r"\b(datetime\.(now|utcnow|today)|date\.today)\(")
APP = ("bot", "core", "services", "jobs", "handlers", "middlewares", "webapp", "ea")


def test_the_app_reads_now_only_from_the_process_clock() -> None:
    """Every "now" of the server goes through `core.clock`; the Python EA (ea/client) is a
    separate program with its own clock."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in APP
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "core" / "clock.py" and "client" not in path.relative_to(ROOT).parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if NOW_CALL.search(line)
    ]
    assert offenders == []
