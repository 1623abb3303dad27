"""The buyer's and the dashboard's actions: the objects after them and the signed webhooks."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
import stripe
from aiohttp import web
from yarl import URL

from stripeemu import API_VERSION, StripeEmulator, StripeEmuServer, create_app, signature_header
from stripeemu.errors import StripeError
from tests.stripeemu.conftest import Endpoint, FakeClock, price, subscription_checkout, verified

MONTH_S = 30 * 86400


async def _paid_subscription(
    client: stripe.StripeClient, server: StripeEmuServer
) -> stripe.checkout.Session:
    starter = await price(client)
    session = await subscription_checkout(client, starter.id)
    server.emulator.complete_checkout(session.id)
    await server.emulator.flush()
    return await client.v1.checkout.sessions.retrieve_async(session.id)


async def test_complete_delivers_verified_events(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint, clock: FakeClock
) -> None:
    session = await _paid_subscription(client, server)
    events = [verified(r, server.webhook_secret) for r in endpoint.received]
    assert [e.type for e in events] == [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
    ]
    completed = events[1]
    assert completed.id.startswith("evt_")
    assert completed.livemode is False
    assert completed.api_version == API_VERSION == stripe.api_version
    assert completed.created == int(clock.now)
    obj = completed.data.object
    assert obj["id"] == session.id
    assert (obj["status"], obj["payment_status"]) == ("complete", "paid")
    assert obj["client_reference_id"] == "user-42"
    assert obj["metadata"]["plan"] == "starter"
    invoice = events[2].data.object
    assert invoice["parent"]["subscription_details"]["subscription"] == session.subscription
    assert invoice["status"] == "paid"
    assert invoice["amount_paid"] == 9900
    assert invoice["billing_reason"] == "subscription_create"
    sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
    assert sub.status == "active"
    assert sub.items.data[0].current_period_end == int(clock.now) + MONTH_S
    assert sub.latest_invoice == invoice["id"]
    intent_id = invoice["payments"]["data"][0]["payment"]["payment_intent"]
    intent = await client.v1.payment_intents.retrieve_async(intent_id)
    assert intent.amount_received == 9900


async def test_bad_signature_is_refused(
    server: StripeEmuServer, endpoint: Endpoint, client: stripe.StripeClient
) -> None:
    await _paid_subscription(client, server)
    received = endpoint.received[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received.body, received.signature, "whsec_other")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            received.body + b" ", received.signature, server.webhook_secret
        )


async def test_signature_matches_the_sdks_scheme_and_stale_times_are_refused() -> None:
    payload = b'{"id": "evt_1", "object": "event"}'
    header = signature_header(payload, "whsec_x", 1_700_000_000)
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), "whsec_x", timestamp=1_700_000_000
    )
    stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_x", tolerance=None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_x", tolerance=300)


async def test_renew_advances_the_period_and_pays(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint, clock: FakeClock
) -> None:
    session = await _paid_subscription(client, server)
    start = int(clock.now)
    clock.now += MONTH_S
    server.emulator.renew(str(session.subscription))
    await server.emulator.flush()
    paid, updated = (verified(r, server.webhook_secret) for r in endpoint.received[3:])
    assert (paid.type, updated.type) == ("invoice.paid", "customer.subscription.updated")
    assert paid.data.object["billing_reason"] == "subscription_cycle"
    assert paid.data.object["period_start"] == start + MONTH_S
    assert updated.data.previous_attributes["latest_invoice"] != paid.data.object["id"]
    sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
    assert sub.items.data[0].current_period_end == start + 2 * MONTH_S
    invoices = await client.v1.invoices.list_async(params={"subscription": sub.id})
    assert [i.billing_reason for i in invoices.data] == [
        "subscription_cycle",
        "subscription_create",
    ]


async def test_failed_renewal_then_recovery(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await _paid_subscription(client, server)
    sub_id = str(session.subscription)
    server.emulator.fail_renewal(sub_id)
    await server.emulator.flush()
    failed, updated = (verified(r, server.webhook_secret) for r in endpoint.received[3:])
    assert failed.type == "invoice.payment_failed"
    assert (failed.data.object["status"], failed.data.object["attempt_count"]) == ("open", 1)
    assert updated.type == "customer.subscription.updated"
    assert updated.data.object["status"] == "past_due"
    assert updated.data.previous_attributes["status"] == "active"
    server.emulator.renew(sub_id)
    await server.emulator.flush()
    paid = verified(endpoint.received[5], server.webhook_secret)
    assert paid.type == "invoice.paid"
    assert paid.data.object["id"] == failed.data.object["id"]
    assert (await client.v1.subscriptions.retrieve_async(sub_id)).status == "active"


async def test_portal_cancel_then_period_end_deletes(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await _paid_subscription(client, server)
    sub_id = str(session.subscription)
    server.emulator.cancel_at_period_end(sub_id)
    server.emulator.renew(sub_id)
    await server.emulator.flush()
    updated, deleted = (verified(r, server.webhook_secret) for r in endpoint.received[3:])
    assert updated.type == "customer.subscription.updated"
    assert updated.data.object["cancel_at_period_end"] is True
    assert updated.data.previous_attributes["cancel_at_period_end"] is False
    assert deleted.type == "customer.subscription.deleted"
    assert deleted.data.object["status"] == "canceled"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.subscriptions.update_async(sub_id, params={"cancel_at_period_end": False})


async def test_api_update_and_cancel(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await _paid_subscription(client, server)
    sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
    pro = await price(client, 19900, "pro")
    changed = await client.v1.subscriptions.update_async(
        sub.id,
        params={
            "items": [{"id": sub.items.data[0].id, "price": pro.id}],
            "proration_behavior": "always_invoice",
        },
    )
    assert changed.items.data[0].price.id == pro.id
    await server.emulator.flush()
    paid, updated = (verified(r, server.webhook_secret) for r in endpoint.received[3:])
    assert paid.type == "invoice.paid"
    assert paid.data.object["billing_reason"] == "subscription_update"
    assert paid.data.object["amount_paid"] == 10000  # the whole period is left on the fake clock
    assert updated.data.previous_attributes["items"]["data"][0]["price"]["id"] != pro.id
    canceled = await client.v1.subscriptions.cancel_async(sub.id)
    assert canceled.status == "canceled"
    await server.emulator.flush()
    assert (
        verified(endpoint.received[-1], server.webhook_secret).type
        == "customer.subscription.deleted"
    )


async def test_refunds_partial_then_full(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await _paid_subscription(client, server)
    invoice = await client.v1.invoices.retrieve_async(str(session.invoice))
    intent_id = invoice.payments.data[0].payment.payment_intent  # type: ignore[union-attr]
    part = await client.v1.refunds.create_async(
        params={"payment_intent": intent_id, "amount": 900}
    )
    assert (part.status, part.amount) == ("succeeded", 900)
    assert (await client.v1.refunds.retrieve_async(part.id)).payment_intent == intent_id
    charge_id = part.charge
    server.emulator.refund({"charge": charge_id})  # the rest, from the dashboard
    await server.emulator.flush()
    first, second = (verified(r, server.webhook_secret) for r in endpoint.received[3:])
    assert (first.type, second.type) == ("charge.refunded", "charge.refunded")
    assert (first.data.object["amount_refunded"], first.data.object["refunded"]) == (900, False)
    assert (second.data.object["amount_refunded"], second.data.object["refunded"]) == (9900, True)
    assert second.data.previous_attributes["amount_refunded"] == 900
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.refunds.create_async(params={"charge": str(charge_id)})
    assert caught.value.code == "charge_already_refunded"


async def test_refund_larger_than_the_charge(
    client: stripe.StripeClient, server: StripeEmuServer
) -> None:
    session = await _paid_subscription(client, server)
    sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
    invoice = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    intent = invoice.payments.data[0].payment.payment_intent  # type: ignore[union-attr]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.refunds.create_async(params={"payment_intent": intent, "amount": 10_000})
    assert (caught.value.code, caught.value.param) == ("amount_too_large", "amount")


async def test_held_events_go_out_in_the_chosen_order_and_again(
    endpoint: Endpoint, clock: FakeClock
) -> None:
    emu = StripeEmulator(webhook_url=endpoint.url, clock=clock, auto_deliver=False)
    async with StripeEmuServer(emulator=emu) as server:
        http = stripe.AIOHTTPClient()
        client = stripe.StripeClient(
            server.secret_key, base_addresses={"api": server.url}, http_client=http
        )
        try:
            session = await subscription_checkout(client, (await price(client)).id)
        finally:
            await http.close_async()
        emu.complete_checkout(session.id)
        assert endpoint.received == []
        events = list(reversed(emu.events))
        await emu.deliver(events)
        await emu.deliver(events[0])  # a duplicate
        got = [verified(r, emu.webhook_secret) for r in endpoint.received]
        assert [e.id for e in got] == [e.id for e in events] + [events[0].id]
        assert json.loads(endpoint.received[0].body) == json.loads(endpoint.received[-1].body)


async def test_failed_delivery_is_retried(
    endpoint: Endpoint, client: stripe.StripeClient, server: StripeEmuServer
) -> None:
    endpoint.status = 500
    session = await subscription_checkout(client, (await price(client)).id)
    server.emulator.complete_checkout(session.id)
    await server.emulator.flush()
    assert len(endpoint.received) == 3 * server.emulator.sender.attempts
    assert not any(e.delivered for e in server.emulator.events)
    endpoint.status = 200
    await server.emulator.deliver(server.emulator.events)
    assert all(e.delivered for e in server.emulator.events)


async def test_control_api_and_hosted_pages(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await subscription_checkout(client, (await price(client)).id)
    async with aiohttp.ClientSession() as http:
        page = await http.get(session.url)
        assert "Pay" in await page.text()
        paid = await http.post(
            session.url, data={"email": "card@example.com"}, allow_redirects=False
        )
        assert paid.status == 303
        assert paid.headers["Location"] == f"https://app.test/ok?session={session.id}"
        assert len(endpoint.received) == 3  # delivered before the redirect
        got = await client.v1.checkout.sessions.retrieve_async(
            session.id, params={"expand": ["customer"]}
        )
        assert got.customer.email == "card@example.com"  # type: ignore[union-attr]
        auth = {"Authorization": f"Bearer {server.secret_key}"}
        unauth = await http.post(f"{server.url}/_control/subscriptions/{got.subscription}/renew")
        assert unauth.status == 401
        renewed = await http.post(
            f"{server.url}/_control/subscriptions/{got.subscription}/renew", headers=auth
        )
        body = await renewed.json()
        assert body["object"]["status"] == "active"
        assert len(body["events"]) == 2
        portal = await client.v1.billing_portal.sessions.create_async(
            params={"customer": str(got.customer.id), "return_url": "https://app.test/account"}  # type: ignore[union-attr]
        )
        assert "Cancel plan" in await (await http.get(portal.url)).text()
        cancel = await http.post(
            f"{server.url}/p/session/{portal.id}/cancel/{got.subscription}", allow_redirects=False
        )
        assert cancel.headers["Location"] == "https://app.test/account"
        assert (
            verified(endpoint.received[-1], server.webhook_secret).data.object[
                "cancel_at_period_end"
            ]
            is True
        )
        again = await http.post(
            f"{server.url}/_control/events/{server.emulator.events[0].id}/deliver", headers=auth
        )
        assert (await again.json())["status"] == 200
    assert len(endpoint.received) == 7


async def test_prorations_wait_for_the_next_invoice(
    client: stripe.StripeClient, server: StripeEmuServer, clock: FakeClock
) -> None:
    session = await _paid_subscription(client, server)
    sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
    elite = await price(client, 49900, "elite")
    clock.now += MONTH_S // 2  # half the period used: half the difference is due
    await client.v1.subscriptions.update_async(
        sub.id, params={"items": [{"id": sub.items.data[0].id, "price": elite.id}]}
    )
    assert (await client.v1.invoices.list_async(params={"subscription": sub.id})).data[
        0
    ].billing_reason == ("subscription_create")
    clock.now += MONTH_S // 2
    server.emulator.renew(sub.id)
    latest = (await client.v1.invoices.list_async(params={"subscription": sub.id})).data[0]
    assert latest.amount_paid == 49900 + (49900 - 9900) // 2
    assert [line.amount for line in latest.lines.data] == [49900, 20000]


async def test_a_downgrade_credit_is_carried_over(
    client: stripe.StripeClient, server: StripeEmuServer, clock: FakeClock
) -> None:
    session = await _paid_subscription(client, server)
    sub = await client.v1.subscriptions.retrieve_async(str(session.subscription))
    tiny = await price(client, 100, "tiny")
    await client.v1.subscriptions.update_async(
        sub.id,
        params={
            "items": [{"id": sub.items.data[0].id, "price": tiny.id}],
            "proration_behavior": "always_invoice",
        },
    )
    server.emulator.renew(sub.id)  # the 98.00 credit covers the 1.00 renewal
    latest = (await client.v1.invoices.list_async(params={"subscription": sub.id})).data[0]
    assert (latest.amount_due, latest.status, latest.payments.data) == (0, "paid", [])  # type: ignore[union-attr]


async def test_a_refused_update_changes_nothing(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await _paid_subscription(client, server)
    sub_id = str(session.subscription)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.subscriptions.update_async(
            sub_id,
            params={
                "cancel_at_period_end": True,
                "items": [{"id": "si_nope", "price": "price_x"}],
            },
        )
    assert caught.value.param == "items[0][id]"
    assert (await client.v1.subscriptions.retrieve_async(sub_id)).cancel_at_period_end is False
    await server.emulator.flush()
    assert len(endpoint.received) == 3


async def test_a_canceling_subscription_ends_instead_of_failing(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint
) -> None:
    session = await _paid_subscription(client, server)
    server.emulator.cancel_at_period_end(str(session.subscription))
    server.emulator.fail_renewal(str(session.subscription))
    await server.emulator.flush()
    assert endpoint.types(server.webhook_secret)[-1] == "customer.subscription.deleted"


async def test_declined_card_and_expired_session(
    client: stripe.StripeClient, server: StripeEmuServer, clock: FakeClock
) -> None:
    session = await subscription_checkout(client, (await price(client)).id)
    with pytest.raises(StripeError) as caught:
        server.emulator.complete_checkout(session.id, card="4000000000000002")
    assert caught.value.status == 402
    assert caught.value.body()["error"] == {
        "message": "Your card was declined.",
        "type": "card_error",
        "code": "card_declined",
        "doc_url": "https://docs.stripe.com/error-codes/card-declined",
        "decline_code": "generic_decline",
    }
    async with aiohttp.ClientSession() as http:
        answer = await http.post(
            f"{server.url}/_control/checkout/sessions/{session.id}/complete",
            data={"card": "4000000000009995"},
            headers={"Authorization": f"Bearer {server.secret_key}"},
        )
        assert answer.status == 402
        assert (await answer.json())["error"]["decline_code"] == "insufficient_funds"
        page = await http.post(session.url, data={"email": "a@b.c", "card": "4000000000000002"})
        assert page.status == 402
        assert "declined" in await page.text()
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).status == "open"
    clock.now += 24 * 3600
    with pytest.raises(StripeError, match="no longer open"):
        server.emulator.complete_checkout(session.id)
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).status == "expired"


async def test_mounted_under_a_prefix(endpoint: Endpoint) -> None:
    """As the sandbox mounts it: the SDK's base address and the hosted pages carry the prefix."""
    emu = StripeEmulator(webhook_url=endpoint.url)
    host = web.Application()
    host.add_subapp("/stripe/", create_app(emu))
    runner = web.AppRunner(host, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    address, port = runner.addresses[0][:2]
    base = f"http://{address}:{port}/stripe"
    emu.public_url = base
    http_client = stripe.AIOHTTPClient()
    client = stripe.StripeClient(
        emu.secret_key, base_addresses={"api": base}, http_client=http_client
    )
    try:
        session = await subscription_checkout(client, (await price(client)).id)
        assert session.url == f"{base}/c/pay/{session.id}"
        async with aiohttp.ClientSession() as http:
            await http.post(session.url, data={"email": "m@example.com"}, allow_redirects=False)
            got = await client.v1.checkout.sessions.retrieve_async(session.id)
            portal = await client.v1.billing_portal.sessions.create_async(
                params={"customer": str(got.customer)}
            )
            page = await (await http.get(portal.url)).text()
            action = page.split('action="', 1)[1].split('"', 1)[0]
            back = await http.post(URL(portal.url).join(URL(action)), allow_redirects=False)
            assert back.headers["Location"] == f"/stripe/p/session/{portal.id}"
        assert (
            await client.v1.subscriptions.retrieve_async(str(got.subscription))
        ).cancel_at_period_end
    finally:
        await http_client.close_async()
        await runner.cleanup()
    assert endpoint.types(emu.webhook_secret)[-1] == "customer.subscription.updated"


async def test_signed_for_posting_yourself(
    client: stripe.StripeClient, server: StripeEmuServer
) -> None:
    emu = server.emulator
    session = await subscription_checkout(client, (await price(client)).id)
    emu.complete_checkout(session.id)
    event = emu.events_of("checkout.session.completed")[0]
    body, headers = emu.signed(event.id)
    assert (
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], emu.webhook_secret).id
        == event.id
    )
    stale_body, stale = emu.signed(event, signed_at=int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            stale_body, stale["Stripe-Signature"], emu.webhook_secret, tolerance=300
        )


async def test_a_trial_is_free_then_renews_at_its_end(
    client: stripe.StripeClient, server: StripeEmuServer, endpoint: Endpoint, clock: FakeClock
) -> None:
    starter = await price(client)
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "line_items": [{"price": starter.id, "quantity": 1}],
            "subscription_data": {"trial_period_days": 7},
            "success_url": "https://app.test/ok",
        }
    )
    done = server.emulator.complete_checkout(session.id)
    sub = await client.v1.subscriptions.retrieve_async(str(done["subscription"]))
    trial_end = int(clock.now) + 7 * 86400
    assert (sub.status, sub.trial_end, sub.items.data[0].current_period_end) == (
        "trialing",
        trial_end,
        trial_end,
    )
    first = await client.v1.invoices.retrieve_async(str(sub.latest_invoice))
    assert (first.amount_paid, first.status, first.payments.data) == (0, "paid", [])  # type: ignore[union-attr]
    clock.now = trial_end
    server.emulator.renew(sub.id)
    await server.emulator.flush()
    renewed = await client.v1.subscriptions.retrieve_async(sub.id)
    assert renewed.status == "active"
    assert renewed.items.data[0].current_period_end == trial_end + MONTH_S
    updated = verified(endpoint.received[-1], server.webhook_secret)
    assert updated.data.previous_attributes["status"] == "trialing"
    second = await client.v1.invoices.retrieve_async(str(renewed.latest_invoice))
    assert second.amount_paid == 9900
    assert [line.description for line in (*first.lines.data, *second.lines.data)] == [
        "Trial period for Starter",
        "1 × Starter",
    ]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "line_items": [{"price": starter.id}],
                "subscription_data": {"trial_period_days": 0},
                "success_url": "https://app.test/ok",
            }
        )
    assert caught.value.param == "subscription_data[trial_period_days]"
