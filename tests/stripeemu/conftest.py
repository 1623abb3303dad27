"""Fixtures: the emulator on loopback, a webhook endpoint that records what it receives, and the
real stripe SDK's async client pointed at the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import stripe
from aiohttp import web

from stripeemu import StripeEmuServer


@dataclass
class Received:
    body: bytes
    signature: str


@dataclass
class Endpoint:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 200

    def types(self, secret: str) -> list[str]:
        return [verified(r, secret).type for r in self.received]


def verified(received: Received, secret: str) -> stripe.Event:
    return stripe.Webhook.construct_event(received.body, received.signature, secret, tolerance=300)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    ep = Endpoint()

    async def hook(request: web.Request) -> web.Response:
        ep.received.append(Received(await request.read(), request.headers["Stripe-Signature"]))
        return web.Response(status=ep.status, text="ok")

    app = web.Application()
    app.router.add_post("/stripe/webhook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    ep.url = f"http://{host}:{port}/stripe/webhook"
    yield ep
    await runner.cleanup()


class FakeClock:
    def __init__(self, now: float = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def server(endpoint: Endpoint, clock: FakeClock) -> AsyncIterator[StripeEmuServer]:
    async with StripeEmuServer(webhook_url=endpoint.url, clock=clock) as running:
        yield running


@pytest.fixture
async def client(server: StripeEmuServer) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.AIOHTTPClient()
    sdk = stripe.StripeClient(
        server.secret_key,
        base_addresses={"api": server.url},
        http_client=http,
        max_network_retries=0,
    )
    yield sdk
    await http.close_async()


async def price(
    client: stripe.StripeClient, amount: int = 9900, lookup_key: str = "starter"
) -> stripe.Price:
    product = await client.v1.products.create_async(params={"name": "Starter"})
    return await client.v1.prices.create_async(
        params={
            "currency": "usd",
            "unit_amount": amount,
            "product": product.id,
            "recurring": {"interval": "month"},
            "lookup_key": lookup_key,
        }
    )


async def subscription_checkout(
    client: stripe.StripeClient, price_id: str
) -> stripe.checkout.Session:
    return await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "line_items": [{"price": price_id, "quantity": 1}],
            "client_reference_id": "user-42",
            "metadata": {"plan": "starter", "version": "1"},
            "subscription_data": {"metadata": {"plan": "starter"}},
            "success_url": "https://app.test/ok?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://app.test/pricing",
            "customer_email": "sam@example.com",
        }
    )
