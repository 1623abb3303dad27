"""/metrics end to end: the real app over HTTP, a strategy signal from pushed bars, Sam approving
it in the emulator, his EA (the Python client on a paper account) fetching and acknowledging the
command; the business figures in the exposition text follow each step."""

from __future__ import annotations

from typing import Any

import aiohttp

from models.devices import CommandStatus
from models.notifications import Notification, NotificationStatus
from models.signals import Signal
from tests.e2e.conftest import SUB
from tests.e2e.test_ea_loop import Loop, approve, open_command
from tests.e2e.test_ea_loop import make_loop as make_loop  # the fixture  # noqa: F401
from tests.exposition import value
from tests.waiting import until

ACKS = "signaldesk_ea_acks_total"


async def scrape(loop: Loop) -> str:
    assert loop.app is not None
    async with aiohttp.ClientSession() as http, http.get(f"{loop.app.base_url}/metrics") as r:
        assert r.status == 200
        assert r.content_type == "text/plain"
        return await r.text()


def delta(after: str, before: str, name: str, **labels: str) -> float:
    return (value(after, name, **labels) or 0.0) - (value(before, name, **labels) or 0.0)


async def test_business_figures_follow_a_signal_from_publication_to_the_terminal(
    make_loop: Any,  # noqa: F811
) -> None:
    loop: Loop = await make_loop("approval")
    start = await scrape(loop)
    assert value(start, "signaldesk_terminals_online") == 1  # Sam's EA reported in
    assert value(start, "signaldesk_terminals_registered") == 1
    await loop.stop_client()  # the command waits for the terminal until it comes back

    await loop.push_until(37)  # publishes the SELL
    sig = await Signal.get(symbol="EURUSD")
    await approve(loop.tg, sig.id)
    await until(lambda: open_command(sig.id, CommandStatus.PENDING))
    waiting = await scrape(loop)
    assert delta(waiting, start, "signaldesk_signals_published_total", source="strategy") == 1
    assert delta(waiting, start, "signaldesk_signals_published_total", source="manual") == 0
    assert delta(waiting, start, "signaldesk_approvals_total", decision="approved") == 1
    assert delta(waiting, start, "signaldesk_approvals_total", decision="rejected") == 0
    assert value(waiting, "signaldesk_ea_commands_pending") == 1
    assert (value(waiting, "signaldesk_ea_commands_oldest_pending_age_seconds") or 0) >= 0

    client = loop.start_client()
    command = await until(lambda: open_command(sig.id, CommandStatus.PLACED))

    async def settled() -> str | None:
        text = await scrape(loop)
        sent = await Notification.filter(status=NotificationStatus.SENT).count()
        done = (
            value(text, "signaldesk_ea_commands_pending") == 0
            and value(text, "signaldesk_outbox_pending") == 0
            and delta(text, start, "signaldesk_messages_sent_total", result="sent") == sent
        )
        return text if done else None

    end = await until(settled)
    acked = [a["status"] for a in client.acks_sent if a["command_id"] == command.id]
    assert acked == ["placed"]
    assert delta(end, start, ACKS, status="placed", result="applied") == 1
    assert delta(end, start, ACKS, status="placed", result="repeated") == 0
    card = await Notification.get(signal_id=sig.id, user_id=SUB, kind="signal.new")
    assert card.status == NotificationStatus.SENT  # Sam's card, counted above with the rest
    assert delta(end, start, "signaldesk_messages_sent_total", result="failed") == 0
    assert value(end, "signaldesk_business_gauges_up") == 1
    assert value(end, "signaldesk_terminals_online") == 1
