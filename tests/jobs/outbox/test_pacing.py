"""The real `Pacer` on simulated time (`tests.jobs.outbox.simtime`): Telegram's limits
(1/s per chat, 20/min per group, about 30/s overall), `retry_after` after a 429, and, against
the emulator's rate limiter, no 429 however the network delays fall. Nothing sleeps."""

from __future__ import annotations

import random

import pytest

from jobs.outbox.buckets import SenderLimits
from jobs.outbox.pacing import Pacer, Ticket
from tests.jobs.outbox.simtime import SimTime
from tgemu.errors import ApiError
from tgemu.limits import RateLimiter

TELEGRAM = SenderLimits()  # 30/s (burst 20), 1/s per chat, 20/min per group (burst 10)
FULL_AT = 10.0  # the global bucket starts empty; by then it is full


def pacer_at_rest(limits: SenderLimits = TELEGRAM) -> tuple[Pacer, SimTime]:
    clock = SimTime()
    pacer = Pacer(limits, clock)
    clock.now = FULL_AT
    return pacer, clock


async def send(pacer: Pacer, clock: SimTime, chat_id: int, ticket: Ticket | None) -> float:
    """One message through the pacer, answered at once: the simulated time it went out."""
    assert await pacer.pace(chat_id, ticket) is not None
    sent_at = clock.now
    pacer.answered(chat_id)
    return sent_at


async def one_chat(pacer: Pacer, clock: SimTime, chat_id: int, count: int) -> list[float]:
    return [await send(pacer, clock, chat_id, pacer.ticket()) for _ in range(count)]


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 6) for earlier, later in zip(times, times[1:], strict=False)]


async def test_a_private_chat_gets_one_message_per_second() -> None:
    pacer, clock = pacer_at_rest()
    times = await clock.run(one_chat(pacer, clock, 5, 6))
    assert times[0] == FULL_AT
    assert gaps(times) == [1.0] * 5


async def test_a_group_gets_twenty_a_minute_after_its_burst() -> None:
    pacer, clock = pacer_at_rest()
    times = await clock.run(one_chat(pacer, clock, -100500, 40))
    assert min(gaps(times)) == 1.0  # the per-chat second holds for groups too
    assert gaps(times)[-10:] == [3.0] * 10  # then 20/min: one every 3 s
    for start in times:  # any minute: 20 plus the burst of 10 at most
        assert sum(1 for t in times if start <= t < start + 60) <= 30


async def test_many_chats_share_the_global_rate() -> None:
    pacer, clock = pacer_at_rest()

    async def fan_out() -> list[float]:
        tickets = [(chat, pacer.ticket()) for chat in range(1, 51)]  # one claim of 50
        tasks = [clock.spawn(send(pacer, clock, chat, ticket)) for chat, ticket in tickets]
        return sorted(await clock.join(tasks))

    times = await clock.run(fan_out())
    assert times[:20] == [FULL_AT] * 20  # the burst
    assert times[20:] == pytest.approx([FULL_AT + k / 30 for k in range(1, 31)])  # then 30/s


async def test_retry_after_pauses_everyone_and_voids_earlier_tickets() -> None:
    pacer, clock = pacer_at_rest()

    async def scenario() -> tuple[float, float]:
        throttled, other = pacer.ticket(), pacer.ticket()
        await send(pacer, clock, 1, throttled)  # Telegram answered it with a 429...
        pacer.pause(5)  # ...retry_after=5
        assert pacer.budget(16) == 0  # nothing is claimed during the pause
        assert pacer.pause_left_s() == 5.0
        pacer.pause(2)  # a shorter pause does not cut the longer one short
        retried = clock.spawn(send(pacer, clock, 1, None))  # the 429's retry: a new ticket
        early = clock.spawn(send(pacer, clock, 2, other))  # taken before the pause
        retried_at, early_at = await clock.join([retried, early])
        return retried_at, early_at

    retried, early = await clock.run(scenario())
    assert min(retried, early) >= FULL_AT + 5
    assert pacer.pause_left_s() == 0.0
    assert pacer.budget(16) > 0


async def test_stop_ends_waiting_out_a_pause() -> None:
    pacer, clock = pacer_at_rest()
    pacer.pause(30)

    async def scenario() -> Ticket | None:
        waiting = clock.spawn(pacer.pace(1, None))
        await clock.sleep(1)
        pacer.stop()
        [ticket] = await clock.join([waiting])
        return ticket

    assert await clock.run(scenario()) is None
    assert clock.now == FULL_AT + 1  # not after the 30 s
    assert pacer.pause_left_s() == 29.0


async def test_claims_follow_the_buckets() -> None:
    limits = SenderLimits(global_per_s=10.0, global_burst=5.0)
    clock = SimTime()
    pacer = Pacer(limits, clock, horizon_s=0.05)
    assert pacer.budget(16) == 0  # empty at start: Telegram may still count our last second
    assert min(m for m in pacer.moments() if m > 0) == pytest.approx(0.1)  # its first token
    clock.now = 100.0
    assert pacer.budget(3) == 3  # what is free...
    assert pacer.budget(16) == 5  # ...or what the bucket holds within the horizon
    await clock.run(send(pacer, clock, 7, pacer.ticket()))
    assert pacer.cooling() == {7: 1.0}  # not claimed again for a second
    assert 101.0 in pacer.moments()
    clock.now = 101.0
    assert pacer.cooling() == {}


# -- against the emulator's limiter, with random network delays ---------------------------------
RATE = 50.0
PER_CHAT = 5.0


async def simulate(
    rng: random.Random, max_delay_s: float, queue: list[int], max_in_flight: int = 64
) -> tuple[int, int, float]:
    """Claim like the sender (budget, cooling chats excluded, one send per chat), pace, and
    send to a server bucket with the same rates. Returns (refused, answered, elapsed)."""
    clock = SimTime()
    server = RateLimiter(clock=clock.monotonic)
    server.configure(enabled=True, global_per_s=RATE, per_chat_per_s=PER_CHAT, burst=1)
    limits = SenderLimits(
        global_per_s=RATE, global_burst=RATE * 0.9, per_chat_per_s=PER_CHAT, per_chat_burst=1
    )
    pacer = Pacer(limits, clock, horizon_s=0.05)
    busy: set[int] = set()
    tally = {"refused": 0, "answered": 0}

    def delay() -> float:
        return rng.uniform(0.0005, max_delay_s)

    async def message(chat: int, ticket: Ticket) -> None:
        assert await pacer.pace(chat, ticket) is not None
        await clock.sleep(delay())  # on its way to Telegram
        try:
            server.acquire(chat, is_group=False)
        except ApiError:
            tally["refused"] += 1
        await clock.sleep(delay())  # the answer on its way back
        pacer.answered(chat)
        busy.discard(chat)
        tally["answered"] += 1

    async def claim_loop() -> None:
        while queue or busy:
            budget = pacer.budget(max_in_flight - len(busy))
            cooling = pacer.cooling() if budget > 0 else {}
            for chat in list(queue):
                if budget <= 0:
                    break
                if chat in busy or chat in cooling:
                    continue
                queue.remove(chat)
                busy.add(chat)
                budget -= 1
                clock.spawn(message(chat, pacer.ticket()))
            await clock.sleep(0.005)

    await clock.run(claim_loop())
    return tally["refused"], tally["answered"], clock.now


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_delay_s", [0.002, 0.3])
async def test_random_latency_never_meets_a_429(seed: int, max_delay_s: float) -> None:
    rng = random.Random(seed)
    queue = [rng.randrange(60) for _ in range(600)]  # several messages for most chats
    refused, answered, elapsed = await simulate(rng, max_delay_s, queue)
    assert (refused, answered) == (0, 600)
    assert elapsed < 600 / RATE * 1.25 + 2 * max_delay_s  # and still close to the rate
