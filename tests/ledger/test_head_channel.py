"""The head's post to the public channel, end to end: the real app and the Telegram emulator,
signals from the trading loop on bars the test pushes (the sandbox's path), the owner's
/ledger commands, the post as the channel shows it, the stand-alone script and the CLI against
the app's own HTTP port."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from models.ledger import LedgerEntry
from services.ledger import public
from tests.e2e.conftest import OWNER, SUB, text
from tests.ledger.conftest import run_script
from tests.waiting import until
from tgemu import EmulatorClient
from trading.candles import load_csv

CHANNEL = -1009876543210
ROOT = Path(__file__).resolve().parents[2]
NOT_A_CARD = ("Entry:", "Status:", "pending order")  # signal cards reach the owner meanwhile


async def ask(tg: EmulatorClient, user: int, line: str) -> str:
    """Type `line`; the bot's reply to it (signal cards arriving meanwhile are skipped)."""
    await tg.send(user, line)
    reply = await tg.wait_for(
        user,
        lambda m: m["from_bot"] and not m["edits"] and not any(w in text(m) for w in NOT_A_CARD),
    )
    return text(reply)


async def test_the_owner_posts_the_head_and_it_matches_the_chain(
    owner_app, tg: EmulatorClient, data_dir: Path
) -> None:
    runner, feed = owner_app
    assert "No entries yet" in (await ask(tg, OWNER, "/ledger"))
    candles = load_csv(data_dir / "EURUSD_H1.csv", "EURUSD").candles
    feed.push("EURUSD", [candles.bar(i) for i in range(40)])  # bar 37 publishes a signal
    await until(lambda: LedgerEntry.all().count(), "a ledger entry", accept=lambda n: n >= 1)

    reply = await ask(tg, OWNER, "/ledger publish")
    assert reply == "The ledger has no public channel yet: name one with /ledger channel @name."
    await tg.add_chat(CHANNEL, "channel", "Desk Ledger", username="deskledger", bot_is_admin=True)
    await tg.add_chat(CHANNEL - 1, "channel", "Not Mine", username="notmine", bot_is_admin=False)
    await tg.add_chat(CHANNEL - 2, "supergroup", "Chat Room", username="chatroom")
    refusals = {
        "@nosuchchannel": "I cannot find @nosuchchannel, or I am not a member of it.",
        "@notmine": "I must be an administrator of @notmine allowed to post messages.",
        "@chatroom": "@chatroom is not a channel: the ledger's head goes to a public channel.",
    }
    for target, refusal in refusals.items():
        assert await ask(tg, OWNER, f"/ledger channel {target}") == refusal
    reply = await ask(tg, OWNER, "/ledger channel @deskledger")
    assert reply.startswith("The ledger's head will be posted to @deskledger")

    head = await public.current_head()
    assert head is not None
    reply = await ask(tg, OWNER, "/ledger publish")
    assert reply == f"Head #{head.seq} is on its way to @deskledger."
    post = await tg.wait_for(CHANNEL, lambda m: head.hash in text(m), after_seq=0)
    assert f"Entry #{head.seq} at " in text(post)
    published = await until(
        public.latest_published, "the post's message id", accept=lambda p: p and p.message_id
    )
    assert (published.seq, published.hash) == (head.seq, head.hash)
    assert published.message_id == post["message_id"] and published.chat_id == CHANNEL
    chained = await LedgerEntry.get(seq=published.seq)
    assert chained.hash == head.hash  # the channel's post names the chain's own entry

    reply = await ask(tg, OWNER, "/ledger publish")
    assert reply.startswith(f"Head #{head.seq} was already posted to @deskledger")
    overview = await ask(tg, OWNER, "/ledger")
    assert head.hash in overview and f"Last posted: entry #{head.seq} to @deskledger" in overview
    denied = await ask(tg, SUB, "/ledger publish")
    assert denied == "Sorry, this action is not available for your account."

    code, out = await run_script(runner.base_url, str(head.seq), head.hash)
    assert code == 0 and out.startswith(f"OK: {head.seq} entries"), out
    assert "2 published head(s) match" in out or "1 published head(s) match" in out
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ledger", "verify", "--url", runner.base_url, "--json",
        cwd=ROOT, env={**os.environ, "BOT_TOKEN": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out_bytes, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    report = json.loads(out_bytes)
    assert report["ok"] and report["entries"] == head.seq
    assert report["published_heads_checked"] == 1
