"""Configuration from the environment (and `.env`), validated once at start-up.

Every option has a default that serves the embedded mode: SQLite under ./data, sandbox Telegram
emulator on loopback, paper broker. A malformed value stops start-up with one readable line
(`SettingsError`), never a traceback.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.http.forwarded import Network, parse_networks
from trading.number_text import parse_decimal
from trading.number_text import parse_int as parse_int_text

TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook's secret_token allows
SANDBOX_TOKEN = "1000000001:SANDBOX-sandbox-sandbox-sandbox-000"  # noqa: S105 - not a secret
SANDBOX_OWNER_ID = 1000001
DB_SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg", "psycopg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
# Numbers from the environment go through the strict parser (digits 0-9 only): pydantic alone
# takes "1_000", "+5", "inf" and "nan" for numbers.
INT_FIELDS = (
    "web_port", "throttle_burst", "replay_history_bars", "mt5_login", "http_max_connections",
    "miniapp_max_age", "ledger_head_utc_hour",
)  # fmt: skip
FLOAT_FIELDS = (
    "throttle_rate", "user_cache_ttl_s", "error_alert_interval_s", "replay_interval_s",
    "sender_rate_per_s", "sender_per_chat_per_s", "mt5_server_utc_offset_h", "loop_poll_s",
    "leader_retry_s", "http_header_timeout_s", "http_body_timeout_s", "http_keepalive_timeout_s",
    "log_repeat_interval_s", "revocation_check_s", "replay_hold_s",
    "vip_reconcile_s",
)  # fmt: skip
DECIMAL_FIELDS = (
    "manual_max_entry_pct", "manual_max_stop_pct", "manual_min_reward_risk",
    "manual_max_reward_risk",
)  # fmt: skip


TELEGRAM_ID_MAX = 2**52 - 1  # Telegram's user ids fit in 52 bits (as services.text.numbers)


class SettingsError(Exception):
    """Configuration is unusable; the message is one line that says what to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    # Reverse proxies in front of the server (addresses or networks, comma-separated): a request
    # from one names its client in X-Forwarded-For (core.http.forwarded). Unset: none trusted.
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()
    # The public /performance page shows a closed signal this long after its close (0: at once).
    performance_delay_hours: float = Field(default=24.0, ge=0, le=24 * 366)
    database_url: str = "sqlite://data/signaldesk.sqlite3"
    redis_url: SecretStr | None = None  # FSM dialog state shared by replicas; unset = in memory
    owner_ids: Annotated[tuple[int, ...], NoDecode] = ()
    master_key: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = None  # unset: readable text in sandbox mode, JSON lines otherwise
    throttle_rate: float = Field(default=5.0, gt=0, description="updates per second per user")
    throttle_burst: int = Field(default=10, ge=1)
    user_cache_ttl_s: float = Field(default=30.0, ge=0)
    error_alert_interval_s: float = Field(default=300.0, ge=0)
    default_language: Literal["en", "es", "ru"] = "en"
    # Answer Telegram's webhook POST at once and handle the update in a background task (the
    # default, as Telegram wants fast answers); False answers after the handler finished.
    webhook_in_background: bool = True
    # Market data for the trading loop: replay the bundled CSV (sandbox/demo), MetaTrader 5 on
    # this machine (Windows), bars pushed by the owner's EA, or none (no trading loop).
    market_data: Literal["replay", "mt5", "ea", "none"] = "replay"
    symbols: Annotated[tuple[str, ...], NoDecode] = ("EURUSD",)
    replay_file: Path = Path("data/samples/EURUSD_H1.csv")
    replay_interval_s: float = Field(default=2.0, ge=0, description="0 = as fast as possible")
    replay_history_bars: int = Field(default=48, ge=0)
    # Sandbox: after a fresh signal the replay holds until its first decision, at most this
    # long (0 = never holds; REPLAY_INTERVAL_S=0 never holds either).
    replay_hold_s: float = Field(default=60.0, ge=0, le=3600)
    sender_rate_per_s: float = Field(default=30.0, gt=0)  # Telegram: ~30 messages/s overall
    sender_per_chat_per_s: float = Field(default=1.0, gt=0)  # Telegram: ~1 message/s per chat
    mt5_path: str | None = None  # terminal64.exe, when MetaTrader 5 is not the default install
    mt5_login: int | None = Field(default=None, gt=0)
    mt5_password: SecretStr | None = None
    mt5_server: str | None = None
    mt5_server_utc_offset_h: float = Field(default=0.0, ge=-12, le=14)
    loop_poll_s: float = Field(
        default=5.0, gt=0, description="feed polling when idle (not replay)"
    )
    leader_retry_s: float = Field(
        default=5.0, gt=0, description="scheduler-leader election and lock checks"
    )
    data_dir: Path = Path("data")
    # Manual signals (/post) are refused beyond these: entry and stop distance in % of the
    # price (entry from the last price, stop from the entry), and the reward:risk range.
    manual_max_entry_pct: Decimal = Field(default=Decimal(5), gt=0, le=100)
    manual_max_stop_pct: Decimal = Field(default=Decimal(5), gt=0, le=100)
    manual_min_reward_risk: Decimal = Field(default=Decimal(1), gt=0, le=1000)
    manual_max_reward_risk: Decimal = Field(default=Decimal(20), gt=0, le=1000)
    # HTTP read bounds (`httpguard`): a request's line and headers must arrive within the
    # header timeout of its first byte (a new connection's: of connecting), its body within
    # the body timeout of its headers, else 408; idle keep-alive connections close after the
    # keep-alive timeout; connections beyond the cap are refused with a 503 (idle ones are
    # closed first to make room).
    http_header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    http_body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    http_keepalive_timeout_s: float = Field(default=75.0, gt=0, le=3600)
    http_max_connections: int = Field(default=10_000, ge=1, le=1_000_000)
    # The same warning or error (logger, message, exception type) is logged at most once per
    # interval; the next one says how many were held back. 0 logs every one.
    log_repeat_interval_s: float = Field(default=60.0, ge=0)
    # How often each replica checks the database for devices revoked elsewhere (another
    # replica without the bus, the CLI), so their open long polls end and requests are refused.
    revocation_check_s: float = Field(default=2.0, gt=0, le=60)
    # Selling access (services/billing): the owner's plan catalog (TOML; the shipped default when
    # unset) and the USD value of one Telegram Star for Stars prices (rounded up).
    plans_file: Path | None = None
    stars_usd_rate: Decimal = Field(default=Decimal("0.013"), gt=0, le=1000)
    # Who answers payment questions (/paysupport): an @username, e-mail or URL; unset: the
    # first owner's Telegram account.
    support_contact: str | None = Field(default=None, max_length=128)
    # The Mini App: how old a Telegram initData may be when it opens a session (seconds; aiogram's
    # helper does not check the age, we do), and the public URL of the page (unset: PUBLIC_URL
    # + /app; the menu button and "Open app" buttons need an https URL outside sandbox mode).
    miniapp_max_age: int = Field(default=3600, ge=1, le=86400)
    miniapp_url: str | None = Field(default=None, max_length=512)
    # The VIP chat (services/billing/vip.py): how often members are checked against access, and
    # how long a personal invite link lives (the owner may change it: app setting
    # vip.invite_ttl_minutes).
    vip_reconcile_s: float = Field(default=600.0, gt=0, le=86_400)
    # The public channel the ledger's head is posted to (services/ledger/heads.py): @username or
    # chat id, used until the owner names one with /ledger channel; LEDGER_HEAD_UTC_HOUR is when
    # the daily post goes out.
    ledger_channel: str | None = Field(
        default=None, pattern=r"^(@[A-Za-z0-9_]{4,32}|-?[0-9]{1,19})$"
    )
    ledger_head_utc_hour: int = Field(default=0, ge=0, le=23)
    # Card payments on the web page (services/billing/stripe_billing): both keys set, or the card
    # option is absent. STRIPE_API_BASE points the SDK elsewhere (the sandbox's fake); unset:
    # Stripe's own API.
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None

    @field_validator(*INT_FIELDS, mode="before")
    @classmethod
    def _ascii_int(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return value
        try:
            return parse_int_text(value.strip(), -(2**63), 2**63 - 1)
        except ValueError:
            msg = f"must be a whole number in digits 0-9, got {value!r}"
            raise ValueError(msg) from None

    @field_validator(*FLOAT_FIELDS, mode="before")
    @classmethod
    def _ascii_number(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return value
        try:
            return float(parse_decimal(value.strip()))
        except ValueError:
            msg = f"must be a number in digits 0-9 like 2 or 0.5, got {value!r}"
            raise ValueError(msg) from None

    @field_validator(*DECIMAL_FIELDS, mode="before")
    @classmethod
    def _ascii_decimal(cls, value: object) -> object:
        if not isinstance(value, str) or not value.strip():
            return value
        try:
            return parse_decimal(value.strip())
        except ValueError:
            msg = f"must be a number in digits 0-9 like 5 or 2.5, got {value!r}"
            raise ValueError(msg) from None

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not TOKEN_RE.match(value.strip()):
            msg = "must look like 123456789:AAE... (digits, a colon, then the secret)"
            raise ValueError(msg)
        return value.strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret_shape(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not WEBHOOK_SECRET_RE.fullmatch(value):
            # never echo the value: it is a secret
            msg = "Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and - only"
            raise ValueError(msg)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _owner_ids(cls, value: object) -> object:
        if value is None or value == "":
            return ()
        if isinstance(value, int):
            return (value,)
        if isinstance(value, str):
            ids = []
            for part in (p for p in re.split(r"[,\s]+", value.strip()) if p):
                try:
                    ids.append(parse_int_text(part, 1, TELEGRAM_ID_MAX))
                except ValueError:
                    msg = f"must be positive Telegram user ids separated by commas; bad: {part[:32]!r}"
                    raise ValueError(msg) from None
            return tuple(ids)
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: object) -> object:
        return parse_networks(value) if isinstance(value, str) else value

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: object) -> object:
        if isinstance(value, str):
            parts = tuple(p.strip().upper() for p in re.split(r"[,\s]+", value) if p.strip())
            if not parts or any(not re.fullmatch(r"[A-Z0-9._]{3,24}", p) for p in parts):
                msg = (
                    f"must be symbol names separated by commas, e.g. XAUUSD,EURUSD; got {value!r}"
                )
                raise ValueError(msg)
            return parts
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in DB_SCHEMES:
            msg = (
                "must start with sqlite:// or postgres:// "
                f"(e.g. postgres://user:pass@host:5432/signaldesk); got scheme {scheme!r}"
            )
            raise ValueError(msg)
        if scheme != "sqlite" and not urlsplit(value).hostname:
            msg = "PostgreSQL needs a host: postgres://user:pass@HOST:5432/db"
            raise ValueError(msg)
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_url(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or urlsplit(value).scheme not in REDIS_SCHEMES:
            msg = "must look like redis://[:password@]host:6379/0 (or rediss://, unix://)"
            raise ValueError(msg)
        return value

    @field_validator("stripe_secret_key", "stripe_webhook_secret", mode="before")
    @classmethod
    def _blank_secret(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("webhook_url", "public_url", "telegram_api_base", "stripe_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"expected an http(s) URL such as https://example.com/path, got {value!r}"
            raise ValueError(msg)
        return value.rstrip("/")

    @model_validator(mode="after")
    def _reward_risk_range(self) -> Settings:
        if self.manual_min_reward_risk > self.manual_max_reward_risk:
            msg = (
                f"MANUAL_MIN_REWARD_RISK ({self.manual_min_reward_risk}) is above "
                f"MANUAL_MAX_REWARD_RISK ({self.manual_max_reward_risk})"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _webhook_consistent(self) -> Settings:
        if self.webhook_url and self.bot_token is None:
            msg = "WEBHOOK_URL is set but BOT_TOKEN is not: webhooks need a real bot token"
            raise ValueError(msg)
        real_telegram = not self.telegram_api_base
        if self.webhook_url and real_telegram and urlsplit(self.webhook_url).scheme != "https":
            msg = (
                "WEBHOOK_URL must be https:// for Telegram (http only works with a local "
                "Bot API server set in TELEGRAM_API_BASE)"
            )
            raise ValueError(msg)
        return self

    @property
    def sandbox(self) -> bool:
        """No token: run against the built-in Telegram emulator, loopback only."""
        return self.bot_token is None

    @property
    def stripe_enabled(self) -> bool:
        """Card payments are offered: the API key and the webhook signing secret are set."""
        return self.stripe_secret_key is not None and self.stripe_webhook_secret is not None

    @property
    def log_as_json(self) -> bool:
        """LOG_JSON when set; otherwise text for a person at the sandbox's console, JSON for
        a log collector everywhere else."""
        return (not self.sandbox) if self.log_json is None else self.log_json

    @property
    def token(self) -> str:
        return SANDBOX_TOKEN if self.bot_token is None else self.bot_token.get_secret_value()

    @cached_property
    def owners(self) -> frozenset[int]:
        if self.sandbox and not self.owner_ids:
            return frozenset({SANDBOX_OWNER_ID})
        return frozenset(self.owner_ids)

    @property
    def server_url(self) -> str:
        """Where the outside world reaches the web server: PUBLIC_URL, else the address it
        listens on (a terminal's server URL, a TradingView alert URL)."""
        return self.public_url or f"http://{self.web_host}:{self.web_port}"

    @property
    def miniapp_link(self) -> str | None:
        """The Mini App page's URL for web_app buttons: MINIAPP_URL, else PUBLIC_URL + /app
        (in sandbox mode the emulator's loopback address, set once the server listens)."""
        if self.miniapp_url:
            return self.miniapp_url
        return f"{self.public_url.rstrip('/')}/app" if self.public_url else None

    @property
    def webhook_path(self) -> str | None:
        if not self.webhook_url:
            return None
        return urlsplit(self.webhook_url).path or "/webhook"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; raise `SettingsError` with one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).upper()
        reason = str(first["msg"]).removeprefix("Value error, ")
        # model-level checks have no field and name the settings in their own words
        msg = (
            f"invalid configuration: {field}: {reason}"
            if field
            else f"invalid configuration: {reason}"
        )
        raise SettingsError(msg) from None
