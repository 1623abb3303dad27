"""The daily head post (the scheduler leader's job) and what it stores: one post per new head,
none without a channel or an entry, LEDGER_CHANNEL as the channel until the owner names one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs.ea_jobs import build_scheduler
from jobs.ledger_jobs import post_head, schedule_ledger
from models.ledger import LedgerHead
from models.notifications import Notification
from services.ledger import heads, public
from services.signals import lifecycle as signals
from tests.ledger.helpers import S, publish

CHANNEL = -1001112223334


@dataclass
class FakeChat:
    id: int
    username: str | None
    title: str


class FakeBot:
    """What the job asks of aiogram's Bot: getChat."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    async def get_chat(self, ref: Any) -> FakeChat:
        self.asked.append(ref)
        return FakeChat(CHANNEL, "deskledger", "Desk Ledger")


async def test_the_daily_post_goes_out_once_per_new_head(database: str) -> None:
    bot: Any = FakeBot()
    assert await post_head(bot, None) is None  # no channel named
    await heads.set_channel(900, CHANNEL, "@deskledger")
    assert await post_head(bot, None) is None  # nothing in the ledger yet
    view = await publish()
    first = await post_head(bot, None)
    assert first is not None and first.created and first.head.seq == 1
    again = await post_head(bot, None)
    assert again is not None and not again.created  # the same head: not posted twice
    await signals.transition(view.id, S.EXPIRED)
    second = await post_head(bot, None)
    assert second is not None and second.created and second.head.seq == 2
    posts = await Notification.filter(chat_id=CHANNEL).order_by("id")
    assert [p.dedupe_key for p in posts] == [
        f"ledger:head:1:{CHANNEL}",
        f"ledger:head:2:{CHANNEL}",
    ]
    current = await public.current_head()
    assert current is not None and current.hash in posts[1].payload["text"]
    assert [(h.seq, h.hash) for h in await public.published_heads()] == [
        (1, (await public.page(0, 1)).entries[0].hash), (2, current.hash),
    ]  # fmt: skip
    assert bot.asked == []  # a channel named in chat needs no lookup


async def test_ledger_channel_names_the_channel_until_the_owner_does(database: str) -> None:
    bot: Any = FakeBot()
    await publish()
    posted = await post_head(bot, "@deskledger")
    assert posted is not None and posted.head.chat_id == CHANNEL
    assert posted.head.channel == "@deskledger" and bot.asked == ["@deskledger"]
    await heads.set_channel(900, CHANNEL - 5, "@other")
    await publish()
    posted = await post_head(bot, "@deskledger")
    assert posted is not None and posted.head.chat_id == CHANNEL - 5
    assert bot.asked == ["@deskledger"]


async def test_the_message_id_is_kept_once_the_sender_delivered_the_post(database: str) -> None:
    await publish()
    await heads.set_channel(900, CHANNEL, "@deskledger")
    posted = await heads.publish(900)
    assert posted.head.message_id is None
    await Notification.filter(dedupe_key=f"ledger:head:1:{CHANNEL}").update(
        status="sent", sent_message_id=4242
    )
    latest = await public.latest_published()
    assert latest is not None and latest.message_id == 4242
    assert (await LedgerHead.get(seq=1)).message_id == 4242


def test_the_job_runs_daily_at_the_configured_hour() -> None:
    scheduler = build_scheduler()
    schedule_ledger(scheduler, FakeBot(), None, 6)  # type: ignore[arg-type]
    job = scheduler.get_job("ledger_head_post")
    assert job is not None
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"], fields["day"]) == ("6", "0", "*")
