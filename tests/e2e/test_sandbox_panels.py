"""The sandbox page's panels over HTTP, on the real app in sandbox mode: the replay controls
(pause, step, speed, the hold after a fresh signal), the sandbox EA's terminal journal and the
persona labels, all behind the emulator's guard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from bot.sandbox import SandboxExtension
from models.signals import Signal
from tests.e2e.test_ea_loop import approve
from tests.e2e.test_sandbox import extension, sandbox_settings, start_sandbox
from tgemu.guard import TOKEN_HEADER

SAM, NICO = 1000002, 1000003


class Panels:
    """The page's calls to /sandbox/api/, with the page's token."""

    def __init__(self, runner: AppRunner) -> None:
        self.ext: SandboxExtension = extension(runner)
        self.base = f"{runner.base_url}/sandbox/api"
        self.http = aiohttp.ClientSession(headers={TOKEN_HEADER: self.ext.control_token})

    async def __aenter__(self) -> Panels:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.http.close()

    async def get(self, path: str, **query: Any) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/{path}", params=query) as resp:
            assert resp.status == 200, await resp.text()
            return dict(await resp.json())

    async def act(self, action: str, **body: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.base}/replay", json={"action": action, **body}) as r:
            assert r.status == 200, await r.text()
            return dict(await r.json())

    async def replay_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Long-poll the replay state until `predicate` holds (server-side waits)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        state = await self.get("replay")
        while not predicate(state):
            remaining = deadline - loop.time()
            assert remaining > 0, f"replay state never matched; last: {state}"
            state = await self.get(
                "replay", after_version=state["version"], wait=min(10, round(remaining, 1))
            )
        return state

    async def terminal_until(self, predicate: Callable[[list[dict[str, Any]]], bool]) -> list:
        events: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not predicate(events):
            assert loop.time() < deadline, f"terminal never matched; events: {events}"
            last = events[-1]["seq"] if events else 0
            events += (await self.get("terminal", after_seq=last, wait=10))["events"]
        return events


@pytest.fixture
async def paced(clean_db: str, data_dir: Any, tmp_path: Path) -> AsyncIterator[AppRunner]:
    """`make run` as a newcomer gets it, only faster (0.05 s a bar) and with a long hold."""
    settings = sandbox_settings(clean_db, data_dir, tmp_path)
    settings.replay_hold_s = 600.0
    runner = await start_sandbox(settings)
    try:
        yield runner
    finally:
        await runner.stop()


async def test_a_fresh_signal_holds_the_replay_until_the_first_decision(paced: AppRunner) -> None:
    async with Panels(paced) as panels:
        held = await panels.replay_until(lambda s: s["state"] == "held")
        signal = await Signal.get(symbol="EURUSD")
        assert held["reason"] == (
            f"held: signal #{signal.id} (EURUSD SELL) waits for a subscriber's decision"
            " (up to 600 s)"
        )
        assert held["bar_times"]["EURUSD"] and 0 < held["hold_left_s"] <= 600
        assert (await panels.get("replay"))["bars"] == held["bars"]  # nothing moves meanwhile

        async with panels.ext.client() as tg:
            await approve(tg, signal.id, user=panels.ext.owner_id)  # Olivia, with the sandbox EA
        playing = await panels.replay_until(lambda s: s["state"] == "playing")
        assert playing["reason"] == f"playing: signal #{signal.id} approved"

        events = await panels.terminal_until(
            lambda evs: any(e["kind"] == "ack" and e["status"] == "placed" for e in evs)
        )
    command = next(e for e in events if e["kind"] == "command")
    assert command["text"].startswith("open SELL EURUSD limit") and " lot @ " in command["text"]
    assert command["signal_id"] == signal.id
    ack = next(e for e in events if e["kind"] == "ack")
    assert ack["command_id"] == command["command_id"] and ack["text"].startswith("placed")


async def test_pause_step_and_speed(paced: AppRunner) -> None:
    async with Panels(paced) as panels:
        paused = await panels.act("pause")
        assert paused["state"] == "paused" and paused["reason"] == "paused"
        stepped = await panels.act("step")
        assert stepped["bars"] == paused["bars"] + 1 and stepped["state"] == "paused"
        moved = await panels.replay_until(lambda s: s["bar_times"] != stepped["bar_times"])
        assert moved["bars"] == stepped["bars"]  # the stepped bar arrived, and only it
        again = await panels.get("replay")
        assert again["bars"] == stepped["bars"] and again["state"] == "paused"
        faster = await panels.act("speed", speed=4)
        assert faster["speed"] == 4 and faster["interval_s"] == 0.05
        assert faster["speeds"] == [0.25, 0.5, 1, 2, 4, 8]
        playing = await panels.act("play")
        assert playing["state"] == "playing"
        await panels.replay_until(lambda s: s["bars"] > stepped["bars"] + 1)
        for body, status in (({"action": "rewind"}, 422), ({"action": "speed", "speed": 3}, 422),
                             ({}, 422)):  # fmt: skip
            async with panels.http.post(f"{panels.base}/replay", json=body) as resp:
                assert resp.status == status
                assert resp.content_type == "application/problem+json"


@pytest.mark.parametrize("path", ["replay", "terminal"])
async def test_the_panels_api_has_the_emulators_guard(paced: AppRunner, path: str) -> None:
    base = f"{paced.base_url}/sandbox/api/{path}"
    token = extension(paced).control_token
    attempts = [
        ("GET", {}, None, 403),
        ("GET", {TOKEN_HEADER: "guess"}, None, 403),
        ("GET", {TOKEN_HEADER: token, "Host": "evil.example:8080"}, None, 421),
        ("GET", {TOKEN_HEADER: token, "Origin": "http://evil.example"}, None, 403),
        ("POST", {"Content-Type": "text/plain"}, b'{"action": "pause"}', 403),
        ("POST", {TOKEN_HEADER: token, "Content-Type": "text/plain"}, b'{"action": "pause"}', 415),
        ("GET", {TOKEN_HEADER: token, "Origin": paced.base_url}, None, 200),
    ]
    async with aiohttp.ClientSession() as http:
        for verb, headers, body, status in attempts:
            if verb == "POST" and path == "terminal":
                continue
            async with http.request(verb, base, headers=headers, data=body) as resp:
                assert resp.status == status, (headers, await resp.text())
    async with Panels(paced) as panels:
        assert (await panels.get("replay"))["state"] == "playing"  # the text/plain pause failed


async def test_persona_labels_follow_role_changes(paced: AppRunner) -> None:
    ext = extension(paced)
    async with ext.client() as tg:
        labels = {u["id"]: u["label"] for u in await tg.users()}
        assert labels[ext.owner_id] == "Owner" and labels[SAM] == "Subscriber"
        assert labels[NICO] == "New visitor"
        await tg.send(NICO, "/start")
        await tg.wait_for_bot(NICO, timeout=20)
        await tg.send(ext.owner_id, f"/role {NICO} admin")
        await tg.wait_for_bot(ext.owner_id, timeout=20)
        await tg.send(ext.owner_id, f"/role {SAM} public")
        await tg.wait_for_bot(ext.owner_id, timeout=20)
        users = await until_users(tg, lambda u: u[NICO] == "Admin" and u[SAM] == "Visitor")
    assert users[ext.owner_id] == "Owner"


async def until_users(tg: Any, predicate: Callable[[dict[int, str]], bool]) -> dict[int, str]:
    """Long-poll the emulator's users (as the page does) until their labels match."""
    version = 0
    for _ in range(30):
        answer = await tg.users_after(version, wait=5)
        labels = {u["id"]: u["label"] for u in answer["users"]}
        if predicate(labels):
            return labels
        version = answer["version"]
    raise AssertionError(f"labels never matched: {labels}")


async def test_replay_interval_zero_runs_flat_out_and_never_holds(
    clean_db: str, data_dir: Any, tmp_path: Path
) -> None:
    settings = sandbox_settings(clean_db, data_dir, tmp_path)
    settings.replay_interval_s = 0
    runner = await start_sandbox(settings)
    try:
        async with Panels(runner) as panels:
            state = await panels.replay_until(lambda s: s["bars"] > 100)
            assert await Signal.exists(symbol="EURUSD")  # signals came and went: no hold
            assert state["state"] == "playing" and state["hold_s"] == 0
    finally:
        await runner.stop()
