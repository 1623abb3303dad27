"""The pricing page and card payments over real HTTP: our routes, Stripe's SDK and the loopback
fake (stripeemu) whose hosted checkout posts its signed webhooks to our /stripe/webhook; then
the buyer links Telegram with `/start link_CODE` through the real dispatcher."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from html import unescape

import aiohttp
import pytest
from aiohttp import web

from bot.app import build_i18n, create_dispatcher
from core.http.problems import PROBLEM_TYPE, problem_middleware
from core.settings import load_settings
from models.billing import Payment, PaymentStatus, ProcessedEvent
from services.billing import catalog, stripe_webhook
from services.billing import entitlements as ent
from services.billing.stripe_billing import StripeBilling
from services.users import profiles as users_service
from stripeemu import StripeEmuServer
from tests.handlers.recording import make_bot
from tests.handlers.test_devices import Harness
from webapp.pricing import PricingConfig, setup_pricing

BUYER = 77


@dataclass
class Site:
    url: str
    stripe: StripeEmuServer | None
    http: aiohttp.ClientSession

    async def get(self, path: str, **kw: object) -> tuple[int, str, dict[str, str]]:
        async with self.http.get(self.url + path, allow_redirects=False, **kw) as resp:  # type: ignore[arg-type]
            return resp.status, await resp.text(), dict(resp.headers)

    async def post(self, url: str, **kw: object) -> tuple[int, str, dict[str, str]]:
        target = url if url.startswith("http") else self.url + url
        async with self.http.post(target, allow_redirects=False, **kw) as resp:  # type: ignore[arg-type]
            return resp.status, await resp.text(), dict(resp.headers)


async def _username() -> str:
    return "signaldesk_bot"


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def _site(card: bool) -> AsyncIterator[Site]:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    server = StripeEmuServer() if card else None
    billing = None
    if server is not None:
        await server.start()
        billing = StripeBilling(
            server.secret_key, server.webhook_secret, api_base=server.url, max_network_retries=0
        )
    app = web.Application(middlewares=[problem_middleware])
    setup_pricing(app, PricingConfig(billing, None, _username))
    runner, url = await _serve(app)
    if server is not None:
        server.emulator.configure_webhook(f"{url}/stripe/webhook")
    async with aiohttp.ClientSession() as http:
        yield Site(url, server, http)
    await runner.cleanup()
    if billing is not None:
        await billing.close()
    if server is not None:
        await server.stop()


@pytest.fixture
async def site(database: str) -> AsyncIterator[Site]:
    async for s in _site(card=True):
        yield s


@pytest.fixture
async def plain_site(database: str) -> AsyncIterator[Site]:
    async for s in _site(card=False):
        yield s


def forms(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="plan" value="([a-z_]+)">', page)


async def test_the_page_lists_every_plan_with_its_card_price(site: Site) -> None:
    status, page, headers = await site.get("/pricing")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "<script" not in page
    assert forms(page) == ["starter", "starter_copy", "pro", "pro_copy", "elite", "elite_copy"]
    assert "$99.00 every 30 days" in page and "$648.70 every 30 days" in page
    assert "Includes real-time signals with entry, stop and take-profit" in page
    assert "10 MetaTrader terminals" in page
    assert 'href="https://t.me/signaldesk_bot"' in page  # the page may link to the bot
    _, spanish, _ = await site.get("/pricing?lang=es")
    assert "<h1>Precios</h1>" in spanish and "99,00" in spanish
    _, russian, _ = await site.get("/pricing", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert "<h1>Тарифы</h1>" in russian


async def test_without_stripe_keys_there_is_no_card_option(plain_site: Site) -> None:
    status, page, _ = await plain_site.get("/pricing")
    assert status == 200 and forms(page) == []
    assert "/pricing/checkout" not in page and "Subscribe by card" not in page
    assert 'id="no-card"' in page and "Telegram Stars" in page and "$99.00" in page
    for path in ("/pricing/checkout", "/stripe/webhook"):
        code, body, headers = await plain_site.post(path, data={"plan": "starter"})
        assert code == 404 and headers["Content-Type"].startswith(PROBLEM_TYPE)
        assert json.loads(body)["status"] == 404


async def _pay(site: Site, plan: str = "starter") -> tuple[str, str]:
    """Subscribe on our page, pay on the fake's hosted checkout: our success page's address
    and HTML."""
    status, _, headers = await site.post(
        "/pricing/checkout", data={"plan": plan, "email": "sam@example.com"}
    )
    assert site.stripe is not None
    assert status == 303 and headers["Location"].startswith(f"{site.stripe.url}/c/pay/cs_")
    status, _, paid = await site.post(
        headers["Location"], data={"email": "sam@example.com", "card": "4242424242424242"}
    )
    assert status == 303 and paid["Location"].startswith(f"{site.url}/pricing/success?")
    async with site.http.get(paid["Location"]) as resp:
        assert resp.status == 200
        return paid["Location"], unescape(await resp.text())


async def test_a_card_payment_then_the_link_in_telegram(site: Site) -> None:
    success_url, page = await _pay(site)
    match = re.search(r"/start link_([A-Z0-9]+)", page)
    assert match is not None
    code = match.group(1)
    assert f'href="https://t.me/signaldesk_bot?start=link_{code}"' in page
    assert "The code works once, until" in page
    payment = await Payment.get()  # the webhook arrived before the buyer saw the page
    assert (payment.user_id, payment.amount, payment.status) == (None, 9900, PaymentStatus.PAID)  # type: ignore[attr-defined]
    assert await ProcessedEvent.all().count() == 3  # sub created, session completed, paid

    config = load_settings(_env_file=None, throttle_rate=1000, throttle_burst=1000)
    bot, session = make_bot()
    h = Harness(bot, create_dispatcher(config, bot, build_i18n()), session)
    replies = await h.send(BUYER, f"/start link_{code}")
    assert replies[0].startswith("Your card payment is linked to this account: <b>Starter</b>")
    user = await users_service.get_by_telegram_id(BUYER)
    assert (await ent.access_for(user.id, payment.created_at)).plan == "starter"
    (again,) = (await h.send(BUYER, f"/start link_{code}"))[:1]
    assert again == "This card payment is already linked to your account."
    (other,) = (await h.send(BUYER + 1, f"/start link_{code}"))[:1]
    assert other == "This link code was already used by another Telegram account."
    _, later, _ = await site.get(success_url.removeprefix(site.url))
    assert "already linked to your Telegram account" in later and "link_" not in later


async def test_the_portal_needs_the_signed_link(site: Site) -> None:
    _, page = await _pay(site)
    found = re.search(r'href="(/billing/portal\?customer=(cus_\w+)&token=(\w+)[^"]*)"', page)
    assert found is not None
    link, customer, token = found.groups()
    for bad in (
        f"/billing/portal?customer={customer}",
        f"/billing/portal?customer={customer}&token={'0' * 32}",
        f"/billing/portal?customer=cus_other&token={token}",
        "/billing/portal",
    ):
        status, body, headers = await site.get(bad)
        assert status == 403 and headers["Content-Type"].startswith(PROBLEM_TYPE), bad
        assert "not valid" in json.loads(body)["detail"]
    status, _, headers = await site.get(link)
    assert site.stripe is not None
    assert status == 303 and headers["Location"].startswith(f"{site.stripe.url}/p/session/bps_")


async def test_the_webhook_route(site: Site) -> None:
    await _pay(site)
    assert site.stripe is not None
    emu = site.stripe.emulator
    paid = emu.events_of("invoice.paid")[0]
    (delivery,) = await emu.deliver(paid)
    assert delivery.status == 200 and json.loads(delivery.body)["duplicate"] is True
    body, headers = emu.signed(paid)
    good = headers["Stripe-Signature"]
    headers["Stripe-Signature"] = good[:-1] + ("1" if good.endswith("0") else "0")
    status, text, answer = await site.post("/stripe/webhook", data=body, headers=headers)
    assert status == 400 and answer["Content-Type"].startswith(PROBLEM_TYPE)
    assert "Stripe-Signature" in json.loads(text)["detail"]
    stale, stale_headers = emu.signed(paid, signed_at=1_000_000_000)
    status, _, _ = await site.post("/stripe/webhook", data=stale, headers=stale_headers)
    assert status == 400
    huge = b"{" + b" " * (300 * 1024) + b"}"
    status, _, _ = await site.post("/stripe/webhook", data=huge, headers=headers)
    assert status == 413
    status, _, _ = await site.post("/stripe/webhook", data=b"{}")
    assert status == 400
    assert await Payment.all().count() == 1


async def test_form_errors_are_problems(site: Site) -> None:
    for form in ({"plan": ""}, {"plan": "starter", "email": "not-an-address"}):
        status, body, headers = await site.post("/pricing/checkout", data=form)
        assert status == 422 and headers["Content-Type"].startswith(PROBLEM_TYPE)
    status, body, _ = await site.post("/pricing/checkout", data={"plan": "platinum"})
    assert status == 404 and json.loads(body)["status"] == 404
    status, _, _ = await site.get("/pricing/success?session_id=cs_test_nope")
    assert status == 404
    status, _, _ = await site.get("/pricing/success")
    assert status == 404


def test_the_inline_style_is_allowed_by_its_hash() -> None:
    from webapp import pricing

    assert "unsafe-inline" not in pricing.CSP and "sha256-" in pricing.CSP
    assert stripe_webhook.TOLERANCE_S == 300
