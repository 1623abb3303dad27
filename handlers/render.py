"""Shared rendering of service results into user-facing text (HTML parse mode).

Replies go out with parse_mode=HTML, so a value written by a user (a name, a username, a symbol
or device name typed in a dialog, an error's parameters) must be escaped, or a `<i>Bob` makes
Telegram refuse the whole message ("can't parse entities"). `fmt` is the one place that does
it: every `.format` of a reply in handlers/ goes through it. Translations and fragments already
rendered by `fmt` are `Html` (`Html(_("id"))`: translators write the markup) and are inserted
as they are.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from aiogram.utils.i18n import gettext as _

from handlers.commands import visible_commands
from models.users import Role
from services.users import UserInfo


class Html(str):
    """Text that is already valid Telegram HTML: a translation, or the result of `fmt`."""

    __slots__ = ()


def fmt(template: str, /, **values: object) -> Html:
    """`template.format(**values)` with every value HTML-escaped unless it is `Html`."""
    safe = {
        k: v if isinstance(v, Html) else escape(str(v), quote=False) for k, v in values.items()
    }
    return Html(template.format(**safe))


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def as_plain_text(html_text: str) -> str:
    """What Telegram would show for `html_text`, as plain text: tags dropped, entities decoded.

    For texts that are never parsed as HTML (callback toasts and alerts) and for the error
    router's last-resort reply with parse_mode=None.
    """
    parser = _TextOnly()
    parser.feed(html_text)
    parser.close()
    return "".join(parser.parts)


def role_name(role: Role) -> Html:
    return Html(_(f"role.{role.value}"))


def help_text(role: Role) -> Html:
    """/help: on the hot path, so a plain f-string; names are constants, usages are escaped."""
    lines = [_("help.title"), ""]
    for spec in visible_commands(role):
        usage = f" {escape(spec.usage, quote=False)}" if spec.usage else ""
        lines.append(f"/{spec.name}{usage} — {spec.description}")
    return Html("\n".join(lines))


def user_card(info: UserInfo) -> Html:
    return fmt(
        _("admin.user_card"),
        name=info.display_name,
        id=info.telegram_id,
        role=role_name(info.role),
        status=Html(_(f"status.{info.status.value}")),
        language=info.language or "—",
        since=info.created_at.strftime("%Y-%m-%d"),
        code=info.referral_code,
    )
