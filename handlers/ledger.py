"""The owner's ledger tools: /ledger (the head, the last post, the channel), /ledger publish
(post the head to the public channel now), /ledger channel @name (name that channel). Thin: the
rules are in services.ledger; the channel is looked up here (the bot must post there)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from core.settings import Settings
from handlers.commands import cmd
from handlers.render import fmt
from models.users import Role
from services.errors import InvalidInput
from services.ledger import heads, public
from services.ledger.heads import Channel
from services.text.numbers import CHAT_ID, looks_numeric, parse_int
from services.users.profiles import UserInfo

router = Router(name=__name__)
OWNER = {"role": Role.OWNER}


async def postable_channel(bot: Bot, target: str) -> Channel:
    """The channel `target` (@username or chat id) when the bot may post there; InvalidInput
    otherwise (unknown, not a channel, the bot no administrator allowed to post)."""
    ref: int | str = parse_int(target, CHAT_ID) if looks_numeric(target) else target
    try:
        chat = await bot.get_chat(ref)
        me = await bot.get_chat_member(chat.id, bot.id)
    except TelegramAPIError:
        raise InvalidInput("error.ledger_channel_unknown", chat=target) from None
    if chat.type != ChatType.CHANNEL:
        raise InvalidInput("error.ledger_not_channel", chat=target)
    may_post = me.status == ChatMemberStatus.ADMINISTRATOR and bool(
        getattr(me, "can_post_messages", False)
    )
    if not (may_post or me.status == ChatMemberStatus.CREATOR):
        raise InvalidInput("error.ledger_channel_not_admin", chat=target)
    title = f"@{chat.username}" if chat.username else chat.title or str(chat.id)
    return Channel(chat.id, title)


async def fallback_channel(bot: Bot, settings: Settings) -> Channel | None:
    """LEDGER_CHANNEL, when the owner has not named a channel in chat."""
    if settings.ledger_channel is None or await heads.channel() is not None:
        return None
    return await postable_channel(bot, settings.ledger_channel)


async def _overview() -> str:
    current = await public.current_head()
    lines = [_("ledger.title")]
    if current is None:
        lines.append(_("ledger.empty"))
    else:
        lines.append(fmt(_("ledger.head"), seq=current.seq, hash=current.hash, at=current.at))
    posted = await public.latest_published()
    if posted is None:
        lines.append(_("ledger.published_none"))
    else:
        lines.append(fmt(_("ledger.published"), seq=posted.seq, channel=posted.channel,
                         at=posted.at))  # fmt: skip
    channel = await heads.channel()
    if channel is None:
        lines.append(_("ledger.channel_none"))
    else:
        lines.append(fmt(_("ledger.channel"), channel=channel.title))
    lines += ["", _("ledger.usage")]
    return "\n".join(lines)


@router.message(cmd("ledger"), flags=OWNER)
async def ledger(
    message: Message, command: CommandObject, user: UserInfo, bot: Bot, settings: Settings
) -> None:
    parts = (command.args or "").split()
    action = parts[0].lower() if parts else ""
    if not parts:
        await message.answer(await _overview())
    elif action == "publish" and len(parts) == 1:
        posted = await heads.publish(user.telegram_id, await fallback_channel(bot, settings))
        key = _("ledger.posted") if posted.created else _("ledger.already_posted")
        await message.answer(fmt(key, seq=posted.head.seq, channel=posted.head.channel))
    elif action == "channel" and len(parts) == 2:
        found = await postable_channel(bot, parts[1])
        saved = await heads.set_channel(user.telegram_id, found.id, found.title)
        await message.answer(fmt(_("ledger.channel_saved"), channel=saved.title))
    else:
        await message.answer(_("ledger.usage"))
