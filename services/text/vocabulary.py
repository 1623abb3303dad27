"""The words for internal states: every status, mode, role, side and decision a person reads is
a message key (`Term`), never the raw enum value ("closed", "entry_only", "public").

Roles have ONE vocabulary: the words the bot prints for a role ("visitor", "visitante",
"гость") are words `/role` accepts, in every shipped language, and the stored names ("public")
stay accepted as aliases (`parse_role`).
"""

from __future__ import annotations

from functools import lru_cache

from models.devices import CommandStatus, DeviceMode, DeviceStatus
from models.signals import CloseReason, Decision, SignalStatus
from models.users import Role, UserStatus
from services.app_settings import Visibility
from services.text.formatting import Term
from services.text.i18n import LANGUAGES, translator
from services.text.i18n import msgid as _

# What people also call a role (besides its stored name and its translations).
ROLE_ALIASES: dict[Role, tuple[str, ...]] = {
    Role.PUBLIC: ("public", "visitor", "free", "guest", "посетитель", "gratis"),
    Role.SUBSCRIBER: ("subscriber", "sub", "suscriptora", "подписчица"),
    Role.ADMIN: ("admin", "administrator", "админ", "administradora"),
    Role.OWNER: ("owner",),
}


def role(value: Role) -> Term:
    return Term(f"role.{value.value}")


def user_status(value: UserStatus) -> Term:
    return Term(f"status.{value.value}")


def signal_status(value: SignalStatus) -> Term:
    return Term(f"signal.status_{value.value}")


def close_reason(value: CloseReason) -> Term:
    return Term(f"signal.closed_{value.value}")


def decision(value: Decision | None) -> Term:
    return Term("signal.decision_none" if value is None else f"signal.decision_{value.value}")


def side(value: str) -> Term:
    """ "buy" / "sell" as the card shows it (BUY, COMPRA, ПОКУПКА)."""
    return Term("signal.side_buy" if value.lower() == "buy" else "signal.side_sell")


def device_mode(value: DeviceMode | str) -> Term:
    return Term(f"devices.mode_{DeviceMode(value).value}")


def device_status(value: DeviceStatus | str, paused_reason: str | None = None) -> Term:
    status = DeviceStatus(value)
    if status is DeviceStatus.PAUSED and paused_reason == "drawdown":
        return Term("devices.status_paused_drawdown")
    if status is DeviceStatus.PAUSED and paused_reason in ("plan_limit", "no_access"):
        return Term("devices.status_paused_plan")  # services.billing.lifecycle.PLAN_PAUSES
    return Term(f"devices.status_{status.value}")


def command_status(value: CommandStatus) -> Term:
    return Term(f"command.status_{value.value}")


def visibility(value: Visibility) -> Term:
    return Term(f"visibility.{value.value}")


SIDE_ALIASES: dict[str, tuple[str, ...]] = {
    "buy": ("buy", "long", "compra", "comprar", "покупка", "купить", "лонг"),
    "sell": ("sell", "short", "venta", "vender", "продажа", "продать", "шорт"),
}


@lru_cache(maxsize=1)
def _side_words() -> dict[str, str]:
    words: dict[str, str] = {}
    for value, aliases in SIDE_ALIASES.items():
        names = {*aliases} | {translator(lang)(side(value).key) for lang in LANGUAGES}
        for name in names:
            words[name.casefold()] = value
    return words


def parse_side(word: str) -> str | None:
    """ "buy" or "sell" for what a person types in any shipped language ("Compra", "продажа",
    "SELL", "long"), or None."""
    return _side_words().get(word.strip().casefold())


# What a person types to take a question's default (/post: "auto" take-profit or expiry, no
# note), besides the words of every shipped language (`post.word_auto`, `post.word_skip`).
DEFAULT_WORDS = ("-", "auto", "default", "skip", "automático", "omitir", "авто", "пропустить")
DEFAULT_KEYS = (_("post.word_auto"), _("post.word_skip"))


@lru_cache(maxsize=1)
def _default_words() -> frozenset[str]:
    words = set(DEFAULT_WORDS)
    words |= {translator(lang)(key) for lang in LANGUAGES for key in DEFAULT_KEYS}
    return frozenset(word.casefold() for word in words)


def means_default(word: str) -> bool:
    """Whether `word` asks for a question's default ("auto", "Авто", "omitir", "-"), in any
    shipped language, case-insensitive."""
    return word.strip().casefold() in _default_words()


@lru_cache(maxsize=1)
def _role_words() -> dict[str, Role]:
    words: dict[str, Role] = {}
    for value in Role:
        names = {value.value, *ROLE_ALIASES[value]}
        names |= {translator(lang)(f"role.{value.value}") for lang in LANGUAGES}
        for name in names:
            words[name.casefold()] = value
    return words


def parse_role(word: str) -> Role | None:
    """The role a person means by `word` (any shipped language, case-insensitive), or None."""
    return _role_words().get(word.strip().casefold())
