"""The one waiting helper: sync and async probes, the value returned, a message that explains."""

from __future__ import annotations

import time

import pytest

from tests.waiting import until


async def test_returns_the_first_accepted_value_of_a_sync_probe() -> None:
    seen = iter([0, 0, 3, 4])
    assert await until(lambda: next(seen)) == 3


async def test_awaits_an_async_probe_and_applies_accept() -> None:
    calls: list[int] = []

    async def names() -> list[str]:
        calls.append(1)
        return ["start", "help"] if len(calls) < 3 else ["start", "help", "role"]

    got = await until(names, "the owner's menu", accept=lambda n: "role" in n)
    assert got == ["start", "help", "role"] and len(calls) == 3


async def test_a_timeout_names_what_was_awaited_and_the_last_value_seen() -> None:
    with pytest.raises(AssertionError, match=r"waited 0.05 s for the menu; last seen: \['help'\]"):
        await until(lambda: ["help"], "the menu", accept=lambda n: "role" in n, timeout_s=0.05)


async def test_without_a_description_the_probe_source_is_the_message() -> None:
    with pytest.raises(AssertionError, match=r"lambda: 1 > 2.*last seen: False"):
        await until(lambda: 1 > 2, timeout_s=0.01)


async def test_the_deadline_is_wall_clock_however_slow_the_probe() -> None:
    probes = 0

    def slow() -> bool:
        nonlocal probes
        probes += 1
        time.sleep(0.05)  # a probe slower than the polling interval: no iteration budget
        return False

    started = time.monotonic()
    with pytest.raises(AssertionError):
        await until(slow, timeout_s=0.2)
    assert time.monotonic() - started >= 0.2 and probes <= 6
