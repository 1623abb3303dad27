"""stripeemu: a loopback fake of the Stripe API (the endpoints SignalDesk calls) that the real
`stripe` SDK talks to, with the buyer's and the dashboard's actions and signed webhooks.

Start it (tests, the sandbox)::

    from stripeemu import StripeEmuServer

    async with StripeEmuServer(webhook_url="http://127.0.0.1:8080/stripe/webhook") as server:
        client = stripe.StripeClient(
            server.secret_key,                       # "sk_test_emulator" unless given
            base_addresses={"api": server.url},      # the SDK calls {url}/v1/...
            http_client=stripe.AIOHTTPClient(),      # for the *_async methods
        )
        session = await client.v1.checkout.sessions.create_async(params={...})
        server.emulator.complete_checkout(session.id)  # the buyer pays with 4242...
        await server.emulator.flush()                  # webhooks delivered

The app points the SDK at it with its Stripe key set to `server.secret_key`, the API base to
`server.url` and `STRIPE_WEBHOOK_SECRET` to `server.webhook_secret` ("whsec_emulator" unless
given). Mounted in another aiohttp app: `create_app(StripeEmulator(public_url=...))`.

Endpoints: customers (create, retrieve, update, list by email, search), products and prices
(create, retrieve, list; prices by `lookup_keys`), checkout sessions (payment and subscription
mode; retrieve with `expand`, line items), billing portal sessions, subscriptions (retrieve,
list, update: cancel_at_period_end, metadata, an item's price with proration_behavior; cancel),
invoices (retrieve, list by subscription or customer), refunds (create, retrieve), charges,
payment intents and events (retrieve). Bearer auth with the secret key (401), idempotency keys
as Stripe's (replay; 400 idempotency_error on other params), 404 resource_missing, Stripe's
error body and parameter errors for the fields above.

Actions (Python methods on `StripeEmulator`, or `/_control/...` over HTTP, see `control`):
`complete_checkout`, `renew`, `fail_renewal`, `cancel_at_period_end` (the portal),
`cancel_now`, `refund` (the dashboard). Each emits the events Stripe sends:
checkout.session.completed, customer.subscription.created / updated / deleted, invoice.paid,
invoice.payment_failed, charge.refunded, with `previous_attributes` on updates. Events are
posted in order, signed as Stripe signs them (`Stripe-Signature: t=..,v1=..`); with
`auto_deliver=False` they wait for `deliver(events)`, in any order and as often as wanted.
`clock` (unix seconds) stamps objects, periods and events; the signature time is the wall
clock (`signing_clock`) because receivers check it against theirs.

Hosted pages without JavaScript: `session.url` (pay with a test card, then `success_url` with
`{CHECKOUT_SESSION_ID}` filled in) and the portal's `url` (cancel at period end).

Objects follow Stripe API 2026-10-28 (stripe 16.1): periods are on subscription items
(`items.data[].current_period_end`), an invoice's subscription is
`parent.subscription_details.subscription` and its payment intent is in `payments.data[]`.
"""

from stripeemu.emulator import API_VERSION, StripeEmulator
from stripeemu.server import StripeEmuServer, create_app
from stripeemu.webhooks import Event, signature_header

__all__ = [
    "API_VERSION",
    "Event",
    "StripeEmuServer",
    "StripeEmulator",
    "create_app",
    "signature_header",
]
