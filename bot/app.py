"""The app factory: Bot, Dispatcher with middlewares, the aiohttp application, and the runner.

`AppRunner.start()` brings everything up in order (database first, so every task inherits
Tortoise's context), `stop()` takes it down gracefully: in-flight updates finish first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.utils.i18n import I18n
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from tortoise.exceptions import DBConnectionError, OperationalError

from bot.http_server import count_guard_event, read_limits, serve
from bot.internals import polling_update_tasks
from bot.trading import FeedError, build_trading_loop
from bot.vip_port import TelegramVip
from bot.webhook import JsonReplyRequestHandler
from core import db, metrics
from core.bus import Bus
from core.bus_pg import PgBridge
from core.db_changes import probe_for
from core.http.problems import problem_middleware
from core.settings import Settings
from ea.api import HUB_KEY, setup_ea_routes
from handlers import build_root_router
from handlers.menus import UiPending, configure_ui, refresh_access_menu
from handlers.shop import BotStars
from httpguard import ConnectionGuard, ReadLimits, read_bounds
from jobs.alerts import AlertWatch
from jobs.billing_jobs import PLAN_CHANGES_EVERY_S, add_billing_jobs, plan_changes_job
from jobs.drift_jobs import schedule_drift
from jobs.ea_jobs import build_scheduler, stop_scheduler
from jobs.leader import Leadership, lock_for
from jobs.ledger_jobs import schedule_ledger
from jobs.lifecycle import AccessWatch
from jobs.outbox.buckets import SenderLimits
from jobs.outbox.sender import Sender, SenderConfig
from jobs.trading_loop import TradingLoop
from jobs.vip_jobs import schedule_vip
from middlewares.correlation import CorrelationMiddleware
from middlewares.i18n import UserLocaleMiddleware
from middlewares.rbac import RBACMiddleware
from middlewares.throttling import ThrottlingMiddleware, TokenBuckets
from middlewares.users import UserMiddleware
from models.users import Role
from services import app_settings
from services.billing import catalog
from services.billing.checkout import INVOICE_KEY_PURPOSE, Checkout
from services.billing.stripe_billing import StripeBilling
from services.context import AppDeps
from services.events import (
    REPLICA_EVENTS,
    AccessChanged,
    BarsReported,
    CommandsPending,
    DeviceChanged,
    DeviceRevoked,
    LiveUpdate,
    OutboxChanged,
    QuotesReported,
    RevocationPending,
    UserChanged,
)
from services.miniapp import views
from services.miniapp.plan import PlanBilling
from services.ops_alerts import GAVE_UP, OpsAlerts
from services.outbox.queue import Claimed
from services.signals import manual
from services.terminals import reports as terminal_reports
from services.terminals import secrets as secret_box
from services.terminals.device_auth import Credentials
from services.text.formatting import phrase
from services.users import profiles as users_service
from services.users.cache import UserCache
from trading.feeds import MarketDataFeed, PushFeed
from webapp import health, landing
from webapp.ingest import IngestConfig, setup_ingest
from webapp.ledger import setup_ledger
from webapp.miniapp import TELEGRAM_SCRIPT, MiniAppConfig, setup_miniapp
from webapp.miniapp.api import CONFIG_KEY as MINIAPP_CONFIG_KEY
from webapp.miniapp.invoice_links import BotInvoiceLinks
from webapp.performance import PerformanceConfig, setup_performance
from webapp.pricing import PricingConfig, setup_pricing

log = logging.getLogger(__name__)
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SETTINGS_KEY = web.AppKey("settings", Settings)
BOT_KEY = web.AppKey("bot", Bot)
DP_KEY = web.AppKey("dispatcher", Dispatcher)
UI_RETRY_DELAYS_S: tuple[float, ...] = (2.0, 10.0, 30.0, 60.0, 300.0)
TELEGRAM_START_RETRIES_S: tuple[float, ...] = (1.0, 2.0, 4.0)
IN_FLIGHT_TIMEOUT_S = 30.0
# Every shutdown step is bounded: one that hangs (a stuck job, a connection that never closes) is
# logged by name and given up, and the later steps still release the lock, the web server's port
# and the database. Taking updates has bounded waits of its own (in-flight updates, STOP_WAIT_S
# for each thing stopped or cancelled); its step's bound only catches a wait that has none.
STOP_STEP_TIMEOUT_S = 30.0
STOP_UPDATES_TIMEOUT_S = 100.0
STOP_WAIT_S = 10.0  # for one task or loop to end once told to (or once cancelled)


_PINNED_RESPONSE_MODELS: list[type[Any]] = []


def pin_response_models() -> None:
    """Keep aiogram's `Response[T]` models alive.

    aiogram validates every Bot API answer with `Response[method.__returning__]`; pydantic keeps
    parametrised generics only weakly, so under load they are rebuilt again and again (about
    9 ms each). Holding one strong reference per method makes that a dictionary lookup.
    """
    if _PINNED_RESPONSE_MODELS:
        return
    import aiogram.methods as methods
    from aiogram.methods.base import Response, TelegramMethod

    for name in methods.__all__:
        method = getattr(methods, name)
        if (
            isinstance(method, type)
            and issubclass(method, TelegramMethod)
            and method is not TelegramMethod
        ):
            returning = getattr(method, "__returning__", None)
            if returning is not None:
                _PINNED_RESPONSE_MODELS.append(Response[returning])  # type: ignore[index]


def build_i18n() -> I18n:
    return I18n(path=LOCALES_DIR, default_locale="en", domain="messages")


def create_bot(settings: Settings, api_base: str | None = None) -> Bot:
    base = api_base or settings.telegram_api_base
    pin_response_models()
    session = AiohttpSession(api=TelegramAPIServer.from_base(base)) if base else AiohttpSession()
    return Bot(
        settings.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )


def fsm_storage(settings: Settings) -> BaseStorage:
    """Where dialog state (the FSM) lives: Redis when replicas share it, else this process."""
    if settings.redis_url is None:
        return MemoryStorage()
    from aiogram.fsm.storage.redis import RedisStorage

    return RedisStorage.from_url(settings.redis_url.get_secret_value())


def create_dispatcher(
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    extra_routers: Sequence[Router] = (),
    alerts: OpsAlerts | None = None,
    user_cache: UserCache | None = None,
    stripe_billing: StripeBilling | None = None,
) -> Dispatcher:
    """The dispatcher with every middleware; `extra_routers` go before the feature routers.

    On SQLite the user cache asks the database whether another process (the CLI) wrote since
    its last look (`core.db_changes`); on PostgreSQL the replica bus invalidates it instead.
    """
    cache = UserCache(settings.user_cache_ttl_s) if user_cache is None else user_cache
    if alerts is None:
        alerts = OpsAlerts(settings.owners, interval_s=settings.error_alert_interval_s)
    checkout = Checkout(secret_box.box().subkey(INVOICE_KEY_PURPOSE), settings.stars_usd_rate)
    deps = AppDeps(
        settings=settings, alerts=alerts, user_cache=cache, checkout=checkout,
        vip=TelegramVip(bot), stripe_billing=stripe_billing,
    )  # fmt: skip
    dp = Dispatcher(storage=fsm_storage(settings), i18n=i18n, **deps)
    dp.update.outer_middleware(CorrelationMiddleware())
    buckets = TokenBuckets(settings.throttle_rate, settings.throttle_burst)
    dp.update.outer_middleware(ThrottlingMiddleware(buckets, i18n))
    probe = probe_for(settings.database_url)
    dp.update.outer_middleware(UserMiddleware(cache, settings.owners, probe))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n, settings.default_language))
    rbac = RBACMiddleware()
    dp.message.middleware(rbac)
    dp.callback_query.middleware(rbac)
    for router in extra_routers:
        dp.include_router(router)
    dp.include_router(build_root_router())
    return dp


def create_web_app(
    settings: Settings,
    bot: Bot,
    dp: Dispatcher,
    credentials: Credentials,
    limits: ReadLimits | None = None,
    bars: terminal_reports.BarRouter | None = None,
    alerts: OpsAlerts | None = None,
    stripe_billing: StripeBilling | None = None,
) -> web.Application:
    bounds = read_bounds(limits or read_limits(settings), on_event=count_guard_event)
    app = web.Application(
        middlewares=[bounds, problem_middleware], client_max_size=2 * 1024 * 1024
    )
    app[SETTINGS_KEY] = settings
    app[BOT_KEY] = bot
    app[DP_KEY] = dp
    app.add_routes(health.routes)
    app.add_routes(landing.routes)  # GET /: links to what this server offers
    # /app and its API under /api/v1; its Plan page sells in Stars through the chat's checkout
    checkout = dp.workflow_data.get("checkout")  # absent: a dispatcher without the shop
    billing = (
        None if checkout is None else PlanBilling(checkout, BotInvoiceLinks(bot), BotStars(bot))
    )
    users = dp.workflow_data.get("user_cache")  # the chat's cache: one per process
    callers = (
        views.NO_CACHE if users is None else views.Callers(users, probe_for(settings.database_url))
    )
    setup_miniapp(app, miniapp_config(settings, alerts, billing, callers))
    # /pricing (+ checkout, success, /billing/portal) and POST /stripe/webhook
    setup_pricing(app, PricingConfig(stripe_billing, settings.public_url, _username(bot)))
    setup_ledger(app)  # GET /ledger, /ledger/head: the public hash chain of signal events
    # /performance: the public track record, delayed (+ widget, exports, PNG charts)
    delay = timedelta(hours=settings.performance_delay_hours)
    setup_performance(app, PerformanceConfig(delay, settings.public_url))
    redis = getattr(dp.storage, "redis", None)  # RedisStorage's client
    if redis is not None:
        app[health.REDIS_KEY] = redis
    # POST/PATCH/DELETE /api/v1/signals (signed producers) and /hooks/tradingview/{token}
    setup_ingest(app, IngestConfig(
        manual.limits_from(settings), settings.owners, alerts, settings.trusted_proxies
    ))  # fmt: skip
    # /ea/v1 and its long-poll hub
    setup_ea_routes(app, credentials, bars=bars, revocation_check_s=settings.revocation_check_s)
    return app


SANDBOX_WEBAPP_SCRIPT = "/emulator/_static/telegram-web-app.js"  # the emulator's stand-in


def miniapp_config(
    settings: Settings,
    alerts: OpsAlerts | None = None,
    billing: PlanBilling | None = None,
    callers: views.Callers = views.NO_CACHE,
) -> MiniAppConfig:
    """The Mini App's view of the settings; in sandbox mode the page loads the emulator's
    stand-in for Telegram's script (offline, same origin) and trusts initData it signs."""
    return MiniAppConfig(
        bot_token=settings.token,
        owners=settings.owners,
        max_age=timedelta(seconds=settings.miniapp_max_age),
        script_url=SANDBOX_WEBAPP_SCRIPT if settings.sandbox else TELEGRAM_SCRIPT,
        alerts=alerts,
        billing=billing,
        public_url=settings.public_url,
        symbols=settings.symbols,
        callers=callers,
    )


def _username(bot: Bot) -> Callable[[], Awaitable[str | None]]:
    async def username() -> str | None:
        return (await bot.me()).username  # aiogram caches getMe

    return username


class Extension(Protocol):
    """Something run alongside the app (the sandbox): called at each step of start and stop."""

    async def before_bot(self, runner: AppRunner) -> None: ...
    async def before_web(self, runner: AppRunner) -> None: ...
    async def after_web(self, runner: AppRunner) -> None: ...
    async def before_web_stop(self, runner: AppRunner) -> None: ...
    async def on_stop(self, runner: AppRunner) -> None: ...


@dataclass
class AppRunner:
    """Owns the process's moving parts; `start()`/`stop()` are used by the CLI and the tests.

    It is the one place that knows who hears whom: `_wire` subscribes the listeners to the
    events services publish on the bus (`services.events`).
    """

    settings: Settings
    api_base: str | None = None
    migrate: bool = True
    feeds: dict[str, MarketDataFeed] | None = None  # per-symbol market data over MARKET_DATA
    bus: Bus = field(init=False, default_factory=Bus)  # this process's events
    credentials: Credentials = field(init=False, default_factory=Credentials)  # EA API's
    bot: Bot = field(init=False)
    dp: Dispatcher = field(init=False)
    web_app: web.Application = field(init=False)
    limits: ReadLimits = field(init=False)
    guard: ConnectionGuard | None = field(init=False, default=None)  # once the server is up
    i18n: I18n = field(init=False)
    user_cache: UserCache = field(init=False)
    port: int = field(init=False, default=0)
    _runner: web.AppRunner | None = field(init=False, default=None)
    _tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _webhook: JsonReplyRequestHandler | None = field(init=False, default=None)
    _polling: asyncio.Task[None] | None = field(init=False, default=None)
    extensions: list[Extension] = field(init=False, default_factory=list)
    sender: Sender | None = field(init=False, default=None)  # only on the scheduler leader
    alerts: OpsAlerts = field(init=False)
    leadership: Leadership | None = field(init=False, default=None)
    _push: PushFeed | None = field(init=False, default=None)
    bars: terminal_reports.BarRouter | None = field(init=False, default=None)  # owners' EA bars
    _bridge: PgBridge | None = field(init=False, default=None)  # PostgreSQL: events to replicas
    trading_loop: TradingLoop | None = field(init=False, default=None)
    _loop_running: bool = field(init=False, default=False)
    _unsubscribe: list[Callable[[], None]] = field(init=False, default_factory=list)
    _ui_idle: bool = field(init=False, default=True)
    _phase: str = field(init=False, default="start-up")  # what a start-up failure is about
    ea_jobs: AsyncIOScheduler | None = field(init=False, default=None)  # the terminals' jobs
    access_watch: AccessWatch = field(init=False, default_factory=AccessWatch)  # on the leader
    alert_watch: AlertWatch = field(init=False, default_factory=AlertWatch)  # on the leader
    stripe_billing: StripeBilling | None = field(init=False, default=None)  # card payments

    async def start(self) -> None:
        """Bring everything up; on failure take down what started and raise `StartupError`
        (one readable line) for what the operator can fix: the database, Telegram, a port."""
        try:
            await self._start()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self.stop()
            reason = _startup_failure(exc, self._phase, self.settings)
            if reason is None:
                raise
            log.debug("start-up failed", exc_info=exc)  # the one line hides the traceback
            raise StartupError(reason) from exc

    async def _start(self) -> None:
        self._phase = f"database {db.redacted(self.settings.database_url)}"
        if self.migrate:
            await db.migrate(self.settings.database_url)
        await db.init_db(self.settings.database_url)
        await catalog.sync_catalog(
            catalog.load_catalog(self.settings.plans_file, self.settings.stars_usd_rate)
        )
        self.user_cache = UserCache(ttl_s=self.settings.user_cache_ttl_s)
        self.bus.activate()  # the tasks started from here on publish on it
        self._push = PushFeed() if self.settings.market_data == "ea" else None
        self.bars = terminal_reports.BarRouter(self._push, self.settings.symbols)
        self._wire()
        credentials = db.pg_credentials(self.settings.database_url)
        if credentials is not None:
            self._bridge = PgBridge(
                credentials, self.bus, REPLICA_EVENTS, on_reconnect=lambda: UserChanged(None)
            )
            await self._bridge.start()
        self._phase = "start-up"
        key = self.settings.master_key
        secret_box.configure(key.get_secret_value() if key else None, self.settings.data_dir)
        self.i18n = build_i18n()
        for ext in self.extensions:
            await ext.before_bot(self)
        self.bot = create_bot(self.settings, self.api_base)
        self.alerts = OpsAlerts(self.settings.owners, self.settings.error_alert_interval_s)
        self.stripe_billing = StripeBilling.from_settings(self.settings)
        self.dp = create_dispatcher(
            self.settings, self.bot, self.i18n, alerts=self.alerts, user_cache=self.user_cache,
            stripe_billing=self.stripe_billing,
        )  # fmt: skip
        self.limits = read_limits(self.settings)
        self.web_app = create_web_app(
            self.settings, self.bot, self.dp, self.credentials, self.limits, self.bars,
            alerts=self.alerts, stripe_billing=self.stripe_billing,
        )  # fmt: skip
        hub = self.web_app[HUB_KEY]  # commands pending -> the terminals' long polls answer
        self._unsubscribe.append(
            self.bus.subscribe(CommandsPending, lambda e: hub.wake(e.device_ids))
        )
        live = self.web_app[MINIAPP_CONFIG_KEY].live  # committed changes -> open Mini App pages
        self._unsubscribe += [
            self.bus.subscribe(LiveUpdate, live.deliver),
            self.bus.subscribe(UserChanged, live.user_changed),  # after the user cache's
        ]
        if self.settings.webhook_url:
            self._mount_webhook()
        for ext in self.extensions:
            await ext.before_web(self)
        self._phase = f"web server on {self.settings.web_host}:{self.settings.web_port}"
        await self._start_web()
        self._phase = "start-up"
        for ext in self.extensions:
            await ext.after_web(self)
        # Signal cards' Open app buttons link the page this server serves (sandbox: loopback).
        await app_settings.put("miniapp.url", self.settings.miniapp_link)
        self._spawn(self._configure_ui())
        self.leadership = Leadership(
            lock_for(self.settings.database_url),
            on_elected=self._lead,
            on_deposed=self._stop_duties,
            retry_s=self.settings.leader_retry_s,
        )
        self._phase = "trading loop"  # the leader's jobs start here: a bad REPLAY_FILE, MT5 login
        await self.leadership.start()
        self._phase = f"Bot API at {self.settings.telegram_api_base or 'https://api.telegram.org'}"
        if self.settings.webhook_url:
            await _telegram_retrying(self._set_webhook)
        else:
            await _telegram_retrying(lambda: self.bot.delete_webhook(drop_pending_updates=False))
            self._polling = asyncio.create_task(
                self.dp.start_polling(self.bot, handle_signals=False, close_bot_session=False)
            )
        self._phase = "running"
        # Start-up objects (routers, models, pydantic schemas) live for the whole process: keep
        # them out of the cyclic GC's generations so its collections stay short under load.
        gc.freeze()
        metrics.UP.set(1)
        log.info(
            "started", extra={"mode": "webhook" if self._webhook else "polling", "port": self.port}
        )

    def _mount_webhook(self) -> None:
        secret = self.settings.webhook_secret
        self._secret = secret.get_secret_value() if secret else secrets.token_urlsafe(32)
        self._webhook = JsonReplyRequestHandler(
            self.dp,
            self.bot,
            handle_in_background=self.settings.webhook_in_background,
            secret_token=self._secret,
        )
        self._webhook.register(self.web_app, path=self.settings.webhook_path or "/webhook")

    async def _set_webhook(self) -> None:
        assert self.settings.webhook_url is not None
        await self.bot.set_webhook(
            self.settings.webhook_url,
            secret_token=self._secret,
            allowed_updates=self.dp.resolve_used_update_types(),
        )

    async def _start_web(self) -> None:
        host, port = self.settings.web_host, self.settings.web_port
        self._runner, site = await serve(self.web_app, host, port, self.limits)
        self.guard = site.guard
        self.port = site.port

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.port}"

    def _wire(self) -> None:
        """Who hears which event (the long-poll hub is subscribed once the web app exists)."""
        bars, credentials = self.bars, self.credentials
        assert bars is not None
        self._unsubscribe = [
            self.bus.subscribe(OutboxChanged, lambda _e: self._wake_sender()),
            self.bus.subscribe(DeviceChanged, lambda e: credentials.forget(e.public_id)),
            self.bus.subscribe(
                RevocationPending,
                lambda e: credentials.mark_revoked(e.public_id, revoked=not e.failed),
            ),
            self.bus.subscribe(DeviceRevoked, lambda e: credentials.mark_revoked(e.public_id)),
            self.bus.subscribe(BarsReported, bars.relayed),
            self.bus.subscribe(UserChanged, self._user_changed),
            self.bus.subscribe(
                AccessChanged,
                lambda e: self._spawn(refresh_access_menu(self.bot, self.i18n, e.telegram_id)),
            ),
            self.bus.subscribe(UserChanged, self.access_watch.user_changed),
            self.bus.subscribe(LiveUpdate, self.alert_watch.live),
            self.bus.subscribe(QuotesReported, self.alert_watch.quotes),  # acts on the leader
        ]

    def _user_changed(self, event: UserChanged) -> None:
        self.user_cache.changed(event.telegram_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _configure_ui(self) -> None:
        """Non-essential Bot API calls (menus, menu button, description): each failure is a
        warning and is retried with a capped backoff until it succeeds; never fatal."""
        pending: UiPending | None = None
        delays = itertools.chain(
            (0.0,), UI_RETRY_DELAYS_S, itertools.repeat(UI_RETRY_DELAYS_S[-1])
        )
        for delay in delays:
            self._ui_idle = True
            await asyncio.sleep(delay)
            self._ui_idle = False
            if pending is None:
                try:
                    staff = {tid: (role, lang) for tid, role, lang in await users_service.staff()}
                except Exception as exc:
                    log.warning(
                        "bot UI set-up: staff unknown; will retry", extra={"error": str(exc)}
                    )
                    continue
                for owner in self.settings.owners:  # even before their first /start
                    staff[owner] = (Role.OWNER, staff.get(owner, (Role.OWNER, None))[1])
                pending = UiPending(
                    description=_description(self.i18n), chats=staff,
                    app_url=self.settings.miniapp_link, loopback=self.settings.sandbox,
                )  # fmt: skip
            pending = await configure_ui(self.bot, self.i18n, pending)
            if pending.done:
                log.info("bot UI configured")
                break
        self._ui_idle = True

    async def _lead(self) -> None:
        """This replica won the scheduler lock: start the jobs that must run exactly once."""
        limits = SenderLimits(
            global_per_s=self.settings.sender_rate_per_s,
            per_chat_per_s=self.settings.sender_per_chat_per_s,
        )
        config = SenderConfig(limits=limits)
        self.sender = Sender.build(self.bot, config, on_exhausted=self._exhausted)
        await self.sender.start()
        billing = [(plan_changes_job(self.bot, self.dp["checkout"]), PLAN_CHANGES_EVERY_S)]
        self.ea_jobs = build_scheduler(extra_jobs=billing)
        add_billing_jobs(self.ea_jobs, self.bot, self.alerts)
        schedule_vip(self.ea_jobs, TelegramVip(self.bot), self.settings.vip_reconcile_s)
        schedule_ledger(self.ea_jobs, self.bot, self.settings.ledger_channel,
                        self.settings.ledger_head_utc_hour)  # fmt: skip
        schedule_drift(self.ea_jobs, sorted(self.settings.owners))
        self.ea_jobs.start()
        self.access_watch.start()
        await self.alert_watch.start()  # before the loop: it hears every bar from the first
        self.trading_loop = await build_trading_loop(
            self.settings, self.alerts, push_feed=self._push, feeds=self.feeds
        )
        if self.trading_loop is not None:
            self.trading_loop.on_bar = self.alert_watch.bar
            await self.trading_loop.start()
            self._loop_running = True
        metrics.LEADER.set(1)

    async def _stop_duties(self, *, sender: bool = True) -> None:
        """Stop the singleton jobs (whatever of them started); the sender last, if asked."""
        if self.ea_jobs is not None:
            await stop_scheduler(self.ea_jobs)
            self.ea_jobs = None
        await self.access_watch.stop()
        if self.trading_loop is not None and self._loop_running:
            await self.trading_loop.stop()  # the object stays: its counters outlive it
            self._loop_running = False
        await self.alert_watch.stop()
        if sender and self.sender is not None:
            await self.sender.stop()
            self.sender = None
            metrics.LEADER.set(0)

    def _wake_sender(self) -> None:
        if self.sender is not None:
            self.sender.wake()

    async def _exhausted(self, claimed: Claimed, error: str) -> None:
        await self.alerts.alert(
            f"outbox:{claimed.kind}",
            phrase(GAVE_UP, kind=claimed.kind, chat=claimed.chat_id, error=error),
        )

    async def stop(self) -> None:
        """Graceful: singleton jobs between steps, then no new updates, in-flight ones finish,
        the sender drains what they queued, the lock goes to a standby, connections close.
        A step that fails is logged and the later ones still run: whatever went wrong, the
        lock, the sessions and the database connections are released."""
        metrics.UP.set(0)
        if self.leadership is not None:
            await _step("stop watching the lock", self.leadership.stop_watching)
        # the sender drains what in-flight updates queue
        await _step("stop the duties", lambda: self._stop_duties(sender=False))
        for ext in self.extensions:  # e.g. clients of our web server, before it closes
            await _step(f"{type(ext).__name__} before the web stops", ext.before_web_stop, self)
        if self.bars is not None:
            self.bars.close()
        await _step("stop taking updates", self._stop_updates, timeout_s=STOP_UPDATES_TIMEOUT_S)
        if self.leadership is not None:
            await _step("stop the sender", self._stop_duties)
            await _step("resign the lock", self.leadership.resign)  # a standby takes over
        for ext in reversed(self.extensions):
            await _step(f"stop {type(ext).__name__}", ext.on_stop, self)
        if self._bridge is not None:
            await _step("close the PostgreSQL bridge", self._bridge.close)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self.stripe_billing is not None:
            await _step("close the Stripe client", self.stripe_billing.close)
            self.stripe_billing = None
        if hasattr(self, "bot"):
            await _step("close the Bot API session", self.bot.session.close)
        if hasattr(self, "dp"):
            await _step("close the FSM storage", self.dp.storage.close)
        await db.close_db()
        log.info("stopped")

    async def _stop_updates(self) -> None:
        """Stop taking updates and requests; wait for the ones being handled."""
        if self._polling is not None:
            # aiogram's stop waits for its polling to end; a poll that never ends is cancelled
            with contextlib.suppress(RuntimeError, TimeoutError):
                async with asyncio.timeout(STOP_WAIT_S):
                    await self.dp.stop_polling()
            await asyncio.wait([self._polling], timeout=STOP_WAIT_S)
            if not self._polling.done():
                log.error("polling did not stop: cancelled")
                self._polling.cancel()
                await asyncio.wait([self._polling], timeout=STOP_WAIT_S)
            # aiogram does not wait for the updates it is still handling: we do.
            handling = list(polling_update_tasks(self.dp))
            if handling:
                await asyncio.wait(handling, timeout=IN_FLIGHT_TIMEOUT_S)
        for task in list(self._tasks):  # the UI setup: only ever cancelled between its calls
            if self._ui_idle:
                task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_WAIT_S)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_WAIT_S)
        if self._runner is not None:
            await self._runner.cleanup()  # stops accepting, lets in-flight requests finish
        if self._webhook is not None:
            pending = list(self._webhook.background_tasks)
            if pending:
                await asyncio.wait(pending, timeout=IN_FLIGHT_TIMEOUT_S)


async def _step(
    what: str,
    call: Callable[..., Awaitable[object]],
    *args: object,
    timeout_s: float | None = None,
) -> None:
    """One step of shutting down: a failure is logged, not raised, so the next steps run; one
    that has not finished within `timeout_s` (default STOP_STEP_TIMEOUT_S) is cancelled and
    logged the same way."""
    try:
        async with asyncio.timeout(STOP_STEP_TIMEOUT_S if timeout_s is None else timeout_s):
            await call(*args)
    except TimeoutError:
        log.error("a shutdown step timed out", extra={"step": what})
    except Exception:
        log.exception("a shutdown step failed", extra={"step": what})


class StartupError(Exception):
    """The app could not start for a reason outside the code (one readable line)."""


async def _telegram_retrying(call: Callable[[], Awaitable[Any]]) -> Any:
    """An essential Bot API call at start-up: network trouble and 5xx are retried with backoff
    (Telegram or the network may be back in a moment); a rejected token is not."""
    for delay in (*TELEGRAM_START_RETRIES_S, None):
        try:
            return await call()
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            if delay is None:
                raise
            wait = float(getattr(exc, "retry_after", 0) or delay)
            log.warning("Bot API call failed at start-up; retrying", extra={"error": str(exc)})
            await asyncio.sleep(wait)
    return None


def _startup_failure(exc: BaseException, phase: str, settings: Settings) -> str | None:
    """One line for the failures an operator fixes outside the code; None for bugs."""
    if isinstance(exc, TelegramUnauthorizedError):
        return f"{phase}: BOT_TOKEN was rejected (401 Unauthorized)"
    operational = (
        TelegramAPIError, DBConnectionError, OperationalError, asyncpg.PostgresError, OSError,
        FeedError,
    )  # fmt: skip
    if isinstance(exc, operational):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{phase}: {detail}"
    return None


def _description(i18n: I18n) -> str:
    with i18n.context(), i18n.use_locale("en"):
        return i18n.gettext("bot.description")
