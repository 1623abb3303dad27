"""Shared rendering of service results into user-facing text (HTML parse mode).

Replies go out with parse_mode=HTML, so a value written by a user (a name, a username, a symbol
or device name typed in a dialog, an error's parameters) must be escaped, or a `<i>Bob` makes
Telegram refuse the whole message ("can't parse entities"). `fmt` is the one place that does
it: every `.format` of a reply in handlers/ goes through it. Translations and fragments already
rendered by `fmt` are `Html` (`Html(_("id"))`: translators write the markup) and are inserted
as they are.

Every other value is shown for the reader's locale first (`services.text.formatting.show`): pass a
`Decimal`, a `datetime`, a `Price`, a `Money`, a `Term` or a `Plural` and `fmt` writes it the
way a Spanish or Russian reader expects ("1.234,50", "12 мая, 14:00 UTC"); never pre-format
numbers or dates with f-strings or `strftime`.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.commands import visible_commands
from models.users import Role
from services.text import vocabulary
from services.text.formatting import Plural, Term, render_plural, show
from services.users.profiles import UserInfo


class Html(str):
    """Text that is already valid Telegram HTML: a translation, or the result of `fmt`."""

    __slots__ = ()


def locale() -> str:
    """The locale of the update being handled (the i18n middleware set it); English outside."""
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else "en"


def _safe(value: object, code: str) -> Html:
    """`value` shown for locale `code` as Telegram HTML: translations (`Html`, `Term`,
    `Plural`) as they are, everything else escaped."""
    if isinstance(value, Html):
        return value
    if isinstance(value, Term | Plural):
        return Html(show(value, code))
    return Html(escape(show(value, code), quote=False))


def fmt(template: str, /, **values: object) -> Html:
    """`template.format(**values)`: every value shown for the current locale (`show`) and
    HTML-escaped, unless it is a translation (`Html`, `Term`, `Plural`)."""
    code = locale()
    return Html(template.format(**{k: _safe(v, code) for k, v in values.items()}))


def plural(key: str, n: int, /, **values: object) -> Html:
    """The plural form of message `key` for `n` in the current locale ({n} and `values`
    filled in like `fmt`)."""
    code = locale()
    safe = tuple((k, _safe(v, code)) for k, v in values.items())
    return Html(render_plural(code, Plural(key, n, safe)))


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
    return Html(show(vocabulary.role(role), locale()))


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
        status=vocabulary.user_status(info.status),
        language=info.language or "—",
        since=info.created_at.date(),
        code=info.referral_code,
    )
