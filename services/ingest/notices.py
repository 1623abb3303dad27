"""The owner's message for a held signal: what the producer sent, Confirm / Discard buttons.

Queued in the outbox inside the transaction that holds the signal (one message per owner,
keyed by the held row and the owner), in the owner's language. Once one owner decided (or the
producer withdrew it), `close_copies` edits every other owner's copy to the outcome, without
its buttons, in the deciding transaction.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from models.notifications import Notification
from models.users import User
from services.outbox import notifications as outbox
from services.outbox.kinds import PlainText
from services.outbox.payloads import Button, inline_keyboard
from services.signals.callbacks import HeldCB
from services.text.i18n import translator

if TYPE_CHECKING:
    from services.ingest.intake import SignalIn


def held_text(language: str | None, name: str, signal: SignalIn) -> str:
    _ = translator(language)
    side = _("signal.side_buy") if signal.side == "buy" else _("signal.side_sell")
    entry = _("ingest.held_market") if signal.entry is None else f"{signal.entry}"
    if signal.take_profit is not None:
        target = f"{signal.take_profit}"
    elif signal.reward_risk is not None:
        target = f"{signal.reward_risk} R"
    else:
        target = _("ingest.held_auto_tp")
    lines = [
        _("ingest.held_title").format(name=escape(name)),
        _("ingest.held_levels").format(
            symbol=escape(signal.symbol),
            side=side,
            entry=escape(entry),
            stop=signal.stop,
            tp=escape(target),
        ),  # fmt: skip
    ]
    if signal.note:
        lines.append(f"<i>{escape(signal.note[:200])}</i>")
    return "\n".join(lines)


async def announce_held(held_id: int, name: str, signal: SignalIn, owners: frozenset[int]) -> None:
    """Queue the confirmation request to every owner (in the caller's transaction)."""
    languages = dict(
        await User.filter(telegram_id__in=sorted(owners)).values_list("telegram_id", "language")
    )
    items = []
    for owner in sorted(owners):
        language = languages.get(owner)
        _ = translator(language)
        keyboard = inline_keyboard(
            [
                [
                    Button(
                        _("ingest.btn_confirm"), HeldCB(action="confirm", held_id=held_id).pack()
                    ),
                    Button(
                        _("ingest.btn_discard"), HeldCB(action="discard", held_id=held_id).pack()
                    ),
                ]
            ]
        )
        body = held_text(language, name, signal)
        items.append(outbox.Outgoing(owner, PlainText(body, keyboard), f"held:{held_id}:{owner}"))
    await outbox.enqueue_many(items)


async def close_copies(held_id: int, decided_by: int | None, signal_id: int | None) -> None:
    """Edit the owners' copies of decided held signal `held_id` to what became of it (published
    as `signal_id`, or discarded; `decided_by` None: withdrawn by its producer), without
    buttons. The decider's own copy is left to the tap's answer, which edits it."""
    prefix = f"held:{held_id}:"
    copies = [
        (int(chat), str(key))
        for chat, key in await Notification.filter(dedupe_key__startswith=prefix).values_list(
            "chat_id", "dedupe_key"
        )
        if str(key).count(":") == 2 and chat != decided_by  # held:<id>:<owner>, not edits
    ]
    if not copies:
        return
    wanted = [c for c, _ in copies] + ([decided_by] if decided_by is not None else [])
    people = {
        int(tid): (language, first_name)
        for tid, language, first_name in await User.filter(telegram_id__in=wanted).values_list(
            "telegram_id", "language", "first_name"
        )
    }
    name = escape(people.get(decided_by or 0, (None, ""))[1] or str(decided_by))
    items = []
    for chat, key in copies:
        _ = translator(people.get(chat, (None, ""))[0])
        if decided_by is None:
            body = _("ingest.held_closed_withdrawn")
        elif signal_id is not None:
            body = _("ingest.held_closed_published").format(id=signal_id, name=name)
        else:
            body = _("ingest.held_closed_discarded").format(name=name)
        items.append(outbox.Outgoing(chat, PlainText(body, edit_of=key), f"{key}:closed"))
    await outbox.enqueue_many(items)
