"""Mini App authentication: Telegram initData, and the short-lived session tokens we issue.

initData (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app) is
a query string signed by Telegram: secret = HMAC-SHA256(key="WebAppData", msg=bot_token),
hash = hex HMAC-SHA256(key=secret, msg="\\n".join(sorted "key=value" pairs without hash)). The
hash is compared in constant time, and `auth_date` must be no older than `max_age_s` (aiogram's
helper does not check the age: a captured initData would otherwise open a session forever) nor
in the future beyond a small clock skew.

A session token is ``v1.<user telegram id>.<expiry unix s>.<signature>``, the signature being
base64url(HMAC-SHA256(key, "<bot id>.v1.<id>.<expiry>")) under a key derived with HKDF-SHA256
from the process's at-rest secret material (`services.terminals.secrets`, info
``signaldesk-miniapp-session-v1``): no new secret to configure, and any replica with the same
MASTER_KEY verifies it. Tokens carry no role: the user is loaded as they are now on every call.

Replay. initData is a bearer credential for `max_age` after its `auth_date` (Telegram hands the
same string to the page for as long as it stays open, and `tma` clients send it on every call),
so a replay is refused on three grounds: (1) past `max_age` it opens nothing, neither a session
nor a `tma` call; (2) a session it opened ends no later than that (`not_after`: exchanging a
captured initData for a session does not stretch its life by a session's TTL); (3) a session
or initData of another bot is refused: initData by its HMAC, a session because the bot's id
(the part of its token before the colon, kept when @BotFather reissues the token) is signed
into it, so another bot's deployment sharing our MASTER_KEY cannot pass its sessions to us.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from services.errors import UserFacingError
from services.terminals import secrets as secret_box
from services.text.i18n import msgid as _
from services.users.profiles import TelegramProfile

SESSION_INFO = b"signaldesk-miniapp-session-v1"
SESSION_VERSION = "v1"
SESSION_TTL = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=60)  # an auth_date this far in the future is still accepted
MAX_INIT_DATA = 4096  # Telegram's initData is well under this
REFUSED = _("miniapp.error_auth")
EXPIRED = _("miniapp.error_auth_expired")


class Unauthenticated(UserFacingError):
    """Missing, malformed, forged, expired or replayed credentials (HTTP 401)."""

    problem_status = 401
    problem_title = "Unauthorized"


@dataclass(frozen=True, slots=True)
class InitData:
    """What a valid initData tells us."""

    profile: TelegramProfile
    auth_date: datetime
    start_param: str | None
    query_id: str | None


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    telegram_id: int
    expires_at: datetime


def _data_check_string(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(pairs) if k != "hash")


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """The `hash` Telegram would put on `fields` (tests and tools; the emulator has its own)."""
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    check = _data_check_string(list(fields.items()))
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def _profile(raw_user: str) -> TelegramProfile:
    try:
        user = json.loads(raw_user)
        telegram_id = user["id"]
        if not isinstance(telegram_id, int) or isinstance(telegram_id, bool) or telegram_id <= 0:
            raise TypeError
        first = str(user.get("first_name") or "")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unauthenticated(REFUSED) from exc
    username, last, lang = user.get("username"), user.get("last_name"), user.get("language_code")
    return TelegramProfile(
        telegram_id=telegram_id,
        username=username if isinstance(username, str) else None,
        first_name=first[:64],
        last_name=last if isinstance(last, str) else None,
        language_code=lang if isinstance(lang, str) else None,
    )


def validate_init_data(
    init_data: str, bot_token: str, *, now: datetime, max_age: timedelta
) -> InitData:
    """The initData's user if its hash is Telegram's and it is fresh; `Unauthenticated` if not.

    Every failure answers the same (no oracle for which check failed)."""
    if not init_data or len(init_data) > MAX_INIT_DATA:
        raise Unauthenticated(REFUSED)
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise Unauthenticated(REFUSED) from exc
    fields = dict(pairs)
    given = fields.get("hash", "")
    if len(fields) != len(pairs) or not given:  # a repeated key is not Telegram's
        raise Unauthenticated(REFUSED)
    expected = sign_init_data(fields, bot_token)
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise Unauthenticated(REFUSED)
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
    except (KeyError, ValueError, OverflowError, OSError) as exc:
        raise Unauthenticated(REFUSED) from exc
    if auth_date > now + CLOCK_SKEW or now - auth_date > max_age:
        raise Unauthenticated(EXPIRED)
    if "user" not in fields:
        raise Unauthenticated(REFUSED)
    return InitData(
        profile=_profile(fields["user"]),
        auth_date=auth_date,
        start_param=fields.get("start_param"),
        query_id=fields.get("query_id"),
    )


def _key() -> bytes:
    return secret_box.box().subkey(SESSION_INFO)


def bot_id(bot_token: str) -> str:
    """The bot's id: its token's part before the colon (the same after @BotFather reissues it)."""
    return bot_token.partition(":")[0]


def _signature(body: str, bot_token: str) -> str:
    message = f"{bot_id(bot_token)}.{body}".encode("utf-8", "replace")
    digest = hmac.new(_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(
    telegram_id: int,
    now: datetime,
    *,
    bot_token: str,
    ttl: timedelta = SESSION_TTL,
    not_after: datetime | None = None,
) -> Session:
    """A session token of `bot_token`'s bot for `telegram_id`, valid until `now + ttl` or
    `not_after` if earlier (whole seconds; `not_after`: when the initData it came from goes
    stale)."""
    ends = now + ttl if not_after is None else min(now + ttl, not_after)
    expires = int(ends.timestamp())
    body = f"{SESSION_VERSION}.{telegram_id}.{expires}"
    token = f"{body}.{_signature(body, bot_token)}"
    return Session(token, telegram_id, datetime.fromtimestamp(expires, UTC))


def verify(token: str, now: datetime, *, bot_token: str) -> int:
    """The Telegram id a token was issued to; `Unauthenticated` if forged, malformed, expired
    or issued for another bot."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != SESSION_VERSION or len(token) > 256:
        raise Unauthenticated(REFUSED)
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_signature(body, bot_token).encode(), parts[3].encode()):
        raise Unauthenticated(REFUSED)
    try:
        telegram_id, expires = int(parts[1]), int(parts[2])
    except ValueError as exc:
        raise Unauthenticated(REFUSED) from exc
    if now.timestamp() >= expires:
        raise Unauthenticated(EXPIRED)
    return telegram_id
