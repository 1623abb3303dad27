"""The owner's message for a held signal: what the producer sent, Confirm / Discard buttons.

Queued in the outbox inside the transaction that holds the signal (one message per owner,
keyed by the held row), in the owner's language.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

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
