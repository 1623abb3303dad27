"""Sandbox mode (no BOT_TOKEN): the built-in Telegram emulator, a browser chat page, personas.

The emulator is mounted on the app's own web server at /emulator/ and the bot talks to it over
real HTTP on loopback, exactly as it would to Telegram. Loopback only, always. Around the chat
the page shows the replay's controls (`trading.replay.ReplayController`: pause, play, step,
speed, and a hold after each fresh signal) and the sandbox EA's terminal (its commands and
acks), both served by `bot.sandbox_api` at /sandbox/api/ behind the emulator's guard.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

from aiogram.client.telegram import TelegramAPIServer
from pydantic import SecretStr

from bot.sandbox_api import Panels, create_panels_app
from bot.sandbox_terminal import SandboxTerminal
from bot.sandbox_watch import PersonaLabels, SignalHoldWatch
from bot.trading import FeedError, replay_feed
from bot.vip_port import TelegramVip
from core.settings import SANDBOX_OWNER_ID, Settings
from ea.client.journal import TerminalJournal
from models.signals import AppSetting
from models.users import Role
from services import app_settings
from services.billing import vip
from services.users import profiles as users_service
from stripeemu import StripeEmuServer
from tgemu import DEFAULT_PERSONAS, Emulator, EmulatorClient, setup_sandbox
from tgemu.guard import new_control_token
from trading.feeds import MarketDataFeed
from trading.replay import ReplayController

if TYPE_CHECKING:
    from bot.app import AppRunner

log = logging.getLogger(__name__)
PERSONA_ROLES = {1000001: Role.OWNER, 1000002: Role.SUBSCRIBER}
# The free persona should see the delayed summary during a demo, not tomorrow.
SANDBOX_FREE_DELAY_HOURS = 0.05
SANDBOX_VIP_CHAT_ID = -1001000000001  # the sandbox's private VIP supergroup (the owner's)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def personas(owner_id: int) -> list[dict[str, Any]]:
    out = [dict(p) for p in DEFAULT_PERSONAS]
    out[0]["id"] = owner_id
    return out


def replay_controller(settings: Settings, watch: SignalHoldWatch) -> ReplayController:
    """REPLAY_INTERVAL_S per bar at 1x, held up to REPLAY_HOLD_S after a fresh signal
    (REPLAY_INTERVAL_S=0: as fast as possible, never held)."""
    return ReplayController(settings.replay_interval_s, hold_s=settings.replay_hold_s, watch=watch)


class SandboxExtension:
    """Plugs the emulator into `AppRunner`: seeds personas, mounts the page and its panels,
    points the bot, runs the owner's EA and paces the replay."""

    def __init__(self) -> None:
        self.emulator: Emulator | None = None
        self.owner_id = SANDBOX_OWNER_ID
        self.terminal: SandboxTerminal | None = None
        self.control_token = new_control_token()  # per start; the sandbox page carries it
        self.base_url = ""
        self.watch = SignalHoldWatch()
        self.replay: ReplayController | None = None  # when the loop replays REPLAY_FILE
        self.journal = TerminalJournal()
        self.panels = Panels(journal=self.journal)
        self.labels: PersonaLabels | None = None
        self.stripe: StripeEmuServer | None = None  # the fake Stripe, unless real keys are set

    async def before_bot(self, runner: AppRunner) -> None:
        settings = runner.settings
        if not is_loopback(settings.web_host):
            log.warning(
                "sandbox mode listens on loopback only; ignoring WEB_HOST",
                extra={"web_host": settings.web_host},
            )
            settings.web_host = "127.0.0.1"
        self.owner_id = min(settings.owners) if settings.owners else SANDBOX_OWNER_ID
        for persona in personas(self.owner_id):
            role = (
                Role.OWNER if persona["id"] == self.owner_id else PERSONA_ROLES.get(persona["id"])
            )
            if role is not None:
                await users_service.seed(
                    persona["id"], persona["first_name"], persona.get("username"), role
                )
        if not await AppSetting.exists(key="signals.free_delay_hours"):
            await app_settings.put("signals.free_delay_hours", SANDBOX_FREE_DELAY_HOURS)
        await self._start_stripe(settings)

    async def _start_stripe(self, settings: Settings) -> None:
        """Card payments against the loopback fake of Stripe (stripeemu): the SDK is pointed at
        it with its test keys; its webhooks go to our /stripe/webhook once the server is up."""
        if settings.stripe_secret_key is not None or settings.stripe_api_base is not None:
            return  # the owner's own Stripe (test mode) in the sandbox
        self.stripe = StripeEmuServer(host="127.0.0.1")
        await self.stripe.start()
        settings.stripe_secret_key = SecretStr(self.stripe.secret_key)
        settings.stripe_webhook_secret = SecretStr(self.stripe.webhook_secret)
        settings.stripe_api_base = self.stripe.url

    async def before_web(self, runner: AppRunner) -> None:
        settings = runner.settings
        self.emulator = Emulator(settings.token)
        self.emulator.add_chat(
            SANDBOX_VIP_CHAT_ID, "supergroup", "SignalDesk VIP",
            admins={self.owner_id}, members={self.owner_id},
        )  # fmt: skip
        people = personas(self.owner_id)
        if settings.market_data == "replay" and any(
            s not in (runner.feeds or {}) for s in settings.symbols
        ):
            self.replay = self.panels.replay = replay_controller(settings, self.watch)
        runner.web_app.add_subapp(
            "/sandbox/api/", create_panels_app(self.panels, self.control_token)
        )
        setup_sandbox(
            runner.web_app,
            self.emulator,
            personas=people,
            control_token=self.control_token,
            panels_base="/sandbox/api",
        )
        self.labels = PersonaLabels(self.emulator, [int(p["id"]) for p in people])

    def client(self) -> EmulatorClient:
        """A control client of this sandbox's emulator (tools, tests)."""
        return EmulatorClient(f"{self.base_url}/emulator", token=self.control_token)

    async def after_web(self, runner: AppRunner) -> None:
        self.base_url = runner.base_url
        if runner.settings.miniapp_url is None:  # /menu's "Open app" opens it in the page's frame
            runner.settings.miniapp_url = f"{runner.base_url}/app"
        if self.stripe is not None:
            self.stripe.emulator.configure_webhook(f"{runner.base_url}/stripe/webhook")
        base = f"{runner.base_url}/emulator"
        runner.bot.session.api = TelegramAPIServer.from_base(base)
        log.warning(
            "SANDBOX MODE (no BOT_TOKEN): offline Telegram emulator on loopback only. "
            "Open %s/sandbox to chat with the bot, %s/pricing to pay by card (fake Stripe).",
            runner.base_url,
            runner.base_url,
        )
        await self._vip_chat(runner)
        runner.feeds = await self._feeds(runner) or runner.feeds
        try:
            await self._start_terminal(runner)
        except Exception:  # the sandbox runs without its EA rather than not at all
            log.exception("sandbox EA not started")
        if self.labels is not None:
            self.labels.start()

    async def _vip_chat(self, runner: AppRunner) -> None:
        """The sandbox's VIP group is the VIP chat unless the owner named another."""
        try:
            if await vip.current_chat() is None:
                port = TelegramVip(runner.bot)
                await vip.set_chat(port, str(SANDBOX_VIP_CHAT_ID), actor_id=self.owner_id)
        except Exception:  # the sandbox runs without its VIP chat rather than not at all
            log.exception("sandbox VIP chat not set")

    async def _feeds(self, runner: AppRunner) -> dict[str, MarketDataFeed]:
        """The loop's feeds: the given ones, the replay of the others paced by the controls.
        (A REPLAY_FILE that cannot be read is left to the trading loop to report.)"""
        settings = runner.settings
        feeds: dict[str, MarketDataFeed] = dict(runner.feeds or {})
        if self.replay is None:
            return feeds
        await self.watch.prime()
        try:
            for symbol in settings.symbols:
                if symbol not in feeds:
                    feeds[symbol] = await replay_feed(settings, symbol, pacer=self.replay)
        except FeedError:
            return dict(runner.feeds or {})
        return feeds

    async def _start_terminal(self, runner: AppRunner) -> None:
        """One Python EA for the owner on a paper account that sees the trading loop's bars
        (the loop is built after this hook, from `runner.feeds`)."""
        settings = runner.settings
        self.terminal = SandboxTerminal(
            settings.symbols, settings.data_dir / "ea-state-sandbox.json", journal=self.journal
        )
        if runner.feeds:
            runner.feeds = self.terminal.tee(runner.feeds)
        await self.terminal.start(
            self.owner_id, settings.owners, runner.base_url, runner.credentials
        )

    async def before_web_stop(self, runner: AppRunner) -> None:
        """The sandbox EA is a client of our web server (the trading loop, which moves its
        market, has stopped already): it goes before the server."""
        if self.labels is not None:
            await self.labels.stop()
        if self.terminal is not None:
            await self.terminal.stop()

    async def on_stop(self, runner: AppRunner) -> None:
        if self.labels is not None:  # idempotent: a failed start-up skips the hook above
            await self.labels.stop()
        if self.terminal is not None:
            await self.terminal.stop()
        if self.stripe is not None:
            await self.stripe.stop()
            self.stripe = None
