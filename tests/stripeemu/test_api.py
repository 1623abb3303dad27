"""The API through the real stripe SDK (async client over loopback)."""

from __future__ import annotations

import aiohttp
import pytest
import stripe

from stripeemu import StripeEmuServer, create_app
from stripeemu.known_params import KNOWN_PARAMS
from tests.stripeemu.conftest import price, subscription_checkout


async def test_customer_create_retrieve_update_list_and_search(
    client: stripe.StripeClient,
) -> None:
    created = await client.v1.customers.create_async(
        params={"email": "sam@example.com", "name": "Sam", "metadata": {"tg": "42"}}
    )
    assert created.id.startswith("cus_")
    assert created.metadata["tg"] == "42"
    await client.v1.customers.create_async(params={"email": "other@example.com"})
    updated = await client.v1.customers.update_async(
        created.id, params={"name": "Sam T", "metadata": {"tg": "", "ref": "x"}}
    )
    assert updated.name == "Sam T"
    assert updated.metadata.to_dict() == {"ref": "x"}
    fetched = await client.v1.customers.retrieve_async(created.id)
    assert fetched.name == "Sam T"
    listed = await client.v1.customers.list_async(params={"email": "sam@example.com"})
    assert [c.id for c in listed.data] == [created.id]
    found = await client.v1.customers.search_async(params={"query": "email:'sam@example.com'"})
    assert [c.id for c in found.data] == [created.id]
    by_meta = await client.v1.customers.search_async(params={"query": "metadata['ref']:'x'"})
    assert [c.id for c in by_meta.data] == [created.id]


async def test_prices_by_lookup_key_and_duplicate_key(client: stripe.StripeClient) -> None:
    starter = await price(client, 9900, "starter")
    await price(client, 19900, "pro")
    found = await client.v1.prices.list_async(params={"lookup_keys": ["starter"]})
    assert [p.id for p in found.data] == [starter.id]
    assert found.data[0].recurring is not None
    assert found.data[0].recurring.interval == "month"
    assert (await client.v1.prices.retrieve_async(starter.id)).unit_amount == 9900
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await price(client, 100, "starter")
    assert "lookup key" in str(caught.value.user_message)


async def test_checkout_session_and_expand(
    client: stripe.StripeClient, server: StripeEmuServer
) -> None:
    starter = await price(client)
    session = await subscription_checkout(client, starter.id)
    assert session.id.startswith("cs_test_")
    assert session.url is not None
    assert session.url.startswith(server.url)
    assert (session.status, session.payment_status, session.mode) == (
        "open",
        "unpaid",
        "subscription",
    )
    assert session.client_reference_id == "user-42"
    assert session.amount_total == 9900
    server.emulator.complete_checkout(session.id)
    got = await client.v1.checkout.sessions.retrieve_async(
        session.id, params={"expand": ["line_items", "subscription", "customer"]}
    )
    assert got.status == "complete"
    assert got.line_items is not None
    assert got.line_items.data[0].price.id == starter.id
    assert isinstance(got.subscription, stripe.Subscription)
    assert got.subscription.status == "active"
    assert got.subscription.items.data[0].price.id == starter.id
    assert got.subscription.metadata.to_dict() == {"plan": "starter"}
    assert isinstance(got.customer, stripe.Customer)
    assert got.customer.email == "sam@example.com"
    plain = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert isinstance(plain.subscription, str)
    assert "line_items" not in plain.to_dict()
    items = await client.v1.checkout.sessions.line_items.list_async(session.id)
    assert [i.quantity for i in items.data] == [1]


async def test_payment_mode_with_price_data(
    client: stripe.StripeClient, server: StripeEmuServer
) -> None:
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 2500,
                        "product_data": {"name": "90 days"},
                    },
                    "quantity": 2,
                }
            ],
            "success_url": "https://app.test/ok",
            "payment_intent_data": {"metadata": {"order": "7"}},
        }
    )
    assert session.amount_total == 5000
    server.emulator.complete_checkout(session.id, email="buyer@example.com")
    got = await client.v1.checkout.sessions.retrieve_async(
        session.id, params={"expand": ["payment_intent"]}
    )
    assert isinstance(got.payment_intent, stripe.PaymentIntent)
    assert got.payment_intent.status == "succeeded"
    assert got.payment_intent.metadata["order"] == "7"
    assert got.customer is None
    charge = await client.v1.charges.retrieve_async(str(got.payment_intent.latest_charge))
    assert (charge.amount, charge.paid, charge.refunded) == (5000, True, False)


async def test_subscription_mode_refuses_one_time_prices(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1,
                            "product_data": {"name": "x"},
                        }
                    }
                ],
                "success_url": "https://app.test/ok",
            }
        )
    assert "recurring price" in str(caught.value.user_message)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"line_items": [{"price": "price_x"}], "success_url": "https://a.test"}, "mode"),
        ({"mode": "subscription", "success_url": "https://a.test"}, "line_items"),
        (
            {
                "mode": "subscription",
                "line_items": [{"price": "price_nope"}],
                "success_url": "https://a",
            },
            "line_items[0][price]",
        ),
    ],
)
async def test_session_parameter_errors(
    client: stripe.StripeClient, params: dict, param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.checkout.sessions.create_async(params=params)
    assert caught.value.param == param


async def test_idempotent_replay_and_conflict(client: stripe.StripeClient) -> None:
    first = await client.v1.customers.create_async(
        params={"email": "a@example.com"}, options={"idempotency_key": "k-1"}
    )
    again = await client.v1.customers.create_async(
        params={"email": "a@example.com"}, options={"idempotency_key": "k-1"}
    )
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert first.last_response is not None
    assert again.last_response.headers["Original-Request"] == first.last_response.request_id
    assert len((await client.v1.customers.list_async()).data) == 1
    with pytest.raises(stripe.IdempotencyError) as caught:
        await client.v1.customers.create_async(
            params={"email": "b@example.com"}, options={"idempotency_key": "k-1"}
        )
    assert caught.value.http_status == 400
    assert "k-1" in str(caught.value.user_message)
    other = await client.v1.customers.create_async(params={"email": "a@example.com"})
    assert other.id != first.id  # the SDK's own keys are fresh per call


async def test_wrong_key_is_401(server: StripeEmuServer) -> None:
    http = stripe.AIOHTTPClient()
    bad = stripe.StripeClient(
        "sk_test_wrong_key_123456", base_addresses={"api": server.url}, http_client=http
    )
    try:
        with pytest.raises(stripe.AuthenticationError) as caught:
            await bad.v1.customers.create_async(params={"email": "a@example.com"})
    finally:
        await http.close_async()
    assert caught.value.http_status == 401
    assert "sk_test_wrong_key_123456" not in str(caught.value.user_message)


@pytest.mark.parametrize(
    ("call", "noun"),
    [
        (lambda c: c.v1.customers.retrieve_async("cus_missing"), "customer"),
        (lambda c: c.v1.subscriptions.retrieve_async("sub_missing"), "subscription"),
        (lambda c: c.v1.invoices.retrieve_async("in_missing"), "invoice"),
        (lambda c: c.v1.refunds.retrieve_async("re_missing"), "refund"),
        (lambda c: c.v1.checkout.sessions.retrieve_async("cs_test_missing"), "checkout.session"),
        (lambda c: c.v1.customers.retrieve_async("sub_wrongkind"), "customer"),
    ],
)
async def test_unknown_ids_are_resource_missing(
    client: stripe.StripeClient, call, noun: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await call(client)
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert f"No such {noun}" in str(caught.value.user_message)


async def test_portal_session(client: stripe.StripeClient, server: StripeEmuServer) -> None:
    customer = await client.v1.customers.create_async(params={"email": "a@example.com"})
    portal = await client.v1.billing_portal.sessions.create_async(
        params={"customer": customer.id, "return_url": "https://app.test/account"}
    )
    assert portal.id.startswith("bps_")
    assert portal.url.startswith(server.url)
    assert portal.return_url == "https://app.test/account"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.billing_portal.sessions.create_async(params={"customer": "cus_none"})


SDK_PARAMS = {
    "POST /v1/customers": "CustomerCreateParams",
    "POST /v1/customers/{id}": "CustomerUpdateParams",
    "GET /v1/customers": "CustomerListParams",
    "GET /v1/customers/search": "CustomerSearchParams",
    "GET /v1/customers/{id}": "CustomerRetrieveParams",
    "POST /v1/products": "ProductCreateParams",
    "GET /v1/products": "ProductListParams",
    "GET /v1/products/{id}": "ProductRetrieveParams",
    "POST /v1/prices": "PriceCreateParams",
    "GET /v1/prices": "PriceListParams",
    "GET /v1/prices/{id}": "PriceRetrieveParams",
    "POST /v1/checkout/sessions": "checkout.SessionCreateParams",
    "GET /v1/checkout/sessions/{id}": "checkout.SessionRetrieveParams",
    "GET /v1/checkout/sessions/{id}/line_items": "checkout.SessionLineItemListParams",
    "POST /v1/billing_portal/sessions": "billing_portal.SessionCreateParams",
    "GET /v1/subscriptions": "SubscriptionListParams",
    "GET /v1/subscriptions/{id}": "SubscriptionRetrieveParams",
    "POST /v1/subscriptions/{id}": "SubscriptionUpdateParams",
    "DELETE /v1/subscriptions/{id}": "SubscriptionCancelParams",
    "GET /v1/invoices": "InvoiceListParams",
    "GET /v1/invoices/{id}": "InvoiceRetrieveParams",
    "POST /v1/refunds": "RefundCreateParams",
    "GET /v1/refunds/{id}": "RefundRetrieveParams",
    "GET /v1/charges/{id}": "ChargeRetrieveParams",
    "GET /v1/payment_intents/{id}": "PaymentIntentRetrieveParams",
    "GET /v1/events/{id}": "EventRetrieveParams",
}


def test_known_params_are_the_installed_sdks() -> None:
    options = stripe.RequestOptions.__required_keys__ | stripe.RequestOptions.__optional_keys__
    assert set(KNOWN_PARAMS) == set(SDK_PARAMS)
    for route, dotted in SDK_PARAMS.items():
        namespace = stripe.params
        for part in dotted.split("."):
            namespace = getattr(namespace, part)
        typed = (namespace.__required_keys__ | namespace.__optional_keys__) - options
        assert KNOWN_PARAMS[route] == typed, route


async def test_every_served_route_has_its_param_list(server: StripeEmuServer) -> None:
    served = {
        f"{route.method} {route.resource.canonical}"
        for route in create_app(server.emulator).router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and route.resource.canonical.startswith("/v1/")
    }
    assert served == set(KNOWN_PARAMS)


async def test_unknown_param_is_refused_at_any_route(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.customers.create_async(params={"emial": "typo@example.com"})  # type: ignore[typeddict-unknown-key]
    assert (caught.value.code, caught.value.param) == ("parameter_unknown", "emial")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.invoices.list_async(params={"subscriptoin": "sub_x"})  # type: ignore[typeddict-unknown-key]
    assert caught.value.code == "parameter_unknown"


async def test_curl_style_lists_and_response_headers(
    server: StripeEmuServer, client: stripe.StripeClient
) -> None:
    starter = await price(client)
    session = await subscription_checkout(client, starter.id)
    async with aiohttp.ClientSession() as http:
        got = await http.get(
            f"{server.url}/v1/checkout/sessions/{session.id}?expand[]=line_items",
            headers={"Authorization": f"Bearer {server.secret_key}"},
        )
        body = await got.json()
        assert body["line_items"]["data"][0]["price"]["id"] == starter.id
        assert got.headers["Stripe-Version"] == stripe.api_version
        assert got.headers["Request-Id"].startswith("req_")
        bad = await http.get(
            f"{server.url}/v1/checkout/sessions/{session.id}?expand[]=client_reference_id",
            headers={"Authorization": f"Bearer {server.secret_key}"},
        )
        assert bad.status == 400
        assert (await bad.json())["error"]["param"] == "expand"


@pytest.mark.parametrize(
    ("metadata", "param"),
    [
        ({f"k{i}": "v" for i in range(51)}, "metadata"),
        ({"k" * 41: "v"}, "metadata[" + "k" * 41 + "]"),
        ({"k": "v" * 501}, "metadata[k]"),
    ],
)
async def test_metadata_limits(client: stripe.StripeClient, metadata: dict, param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        await client.v1.customers.create_async(params={"metadata": metadata})
    assert caught.value.param == param
    assert (await client.v1.customers.list_async()).data == []


async def test_a_refused_session_stores_nothing(
    client: stripe.StripeClient, server: StripeEmuServer
) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1,
                            "product_data": {"name": "x"},
                        }
                    }
                ],
                "subscription_data": {"trial_period_days": 3},
                "success_url": "https://app.test/ok",
            }
        )
    assert server.emulator.store.all("prices") == server.emulator.store.all("products") == []
