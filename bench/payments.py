"""Payment events exactly once under load: Telegram Stars payments and Stripe webhooks delivered
concurrently, with duplicates and out-of-order deliveries, against SQLite or PostgreSQL.

In process, through the services the bot's handlers and the webhook route call (the HTTP and
Bot API layers above them are measured by bench/updates.py):
- Stars: `Checkout.paid` with each user's signed subscription payload: the first payment and a
  renewal (for 10% of the users the renewal is delivered before the first payment);
- Stripe: the loopback fake of Stripe's API (stripeemu) completes a Checkout per customer and
  signs the webhooks it would send (checkout.session.completed, invoice.paid,
  customer.subscription.*); `StripeBilling.handle_event` verifies each signature on the raw body
  and applies it (for 10% of the customers in reverse order).
Then 30% of all deliveries are duplicates of deliveries already in the list, and everything is
shuffled (seeded) and delivered with a fixed concurrency.

Checked afterwards: `payments_recorded` (rows) must equal `unique_payments` (Stars charges +
paid invoices); `duplicates_applied` counts payments or entitlement periods beyond one per
unique payment (must be 0); `entitlement_mismatches` counts Stars users whose access does not
end where their renewal says, and card customers (linked after the run with their one-time
code) whose access does not match their paid invoice (must be 0).

    python bench/payments.py [--events 2000] [--concurrency 32] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common.database import run_on_database  # noqa: E402
from core import clock as process_clock  # noqa: E402
from core import db  # noqa: E402
from models.billing import Entitlement, Payment, StripeCustomer  # noqa: E402
from models.users import Role  # noqa: E402
from services.billing import catalog, stripe_ledger  # noqa: E402
from services.billing import entitlements as ent  # noqa: E402
from services.billing.checkout import (  # noqa: E402
    SUBSCRIPTION_PERIOD,
    Checkout,
    Kind,
    SuccessfulPayment,  # noqa: E402
)
from services.billing.stripe_billing import StripeBilling  # noqa: E402
from services.users import profiles  # noqa: E402

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DUPLICATE_SHARE = 0.3
OUT_OF_ORDER_SHARE = 0.1


class NoTelegram:
    """The Stars port: this bench never cancels or refunds."""

    async def edit_subscription(self, telegram_id: int, charge_id: str, *, canceled: bool) -> None:
        raise AssertionError

    async def refund(self, telegram_id: int, charge_id: str) -> None:
        raise AssertionError


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


async def stars_events(checkout: Checkout, users: list[Any], rng: random.Random) -> list[Any]:
    """Two payments per user (first, renewal), the renewal first for some."""
    out: list[Any] = []
    for i, user in enumerate(users):
        terms = await checkout.prepare(user, "starter", Kind.SUBSCRIPTION, T0)
        first_end = T0 + SUBSCRIPTION_PERIOD
        first = SuccessfulPayment(
            "XTR", terms.stars, terms.payload, f"stx-{i}-1", is_recurring=True,
            is_first_recurring=True, subscription_expiration_date=first_end,
        )  # fmt: skip
        renewal = SuccessfulPayment(
            "XTR", terms.stars, terms.payload, f"stx-{i}-2", is_recurring=True,
            subscription_expiration_date=first_end + SUBSCRIPTION_PERIOD,
        )  # fmt: skip
        pair = [("stars", user, first), ("stars", user, renewal)]
        if rng.random() < OUT_OF_ORDER_SHARE:
            pair.reverse()
        out.extend(pair)
    return out


async def stripe_events(server: Any, billing: StripeBilling, customers: int,
                        rng: random.Random) -> list[Any]:  # fmt: skip
    emu = server.emulator
    out: list[Any] = []
    for i in range(customers):
        since = len(emu.events)
        started = await billing.checkout(
            "starter", email=f"buyer{i}@example.com",
            success_url="https://desk.test/ok?s={CHECKOUT_SESSION_ID}",
            cancel_url="https://desk.test/pricing",
        )  # fmt: skip
        emu.complete_checkout(started.id)
        events = list(emu.events[since:])
        if rng.random() < OUT_OF_ORDER_SHARE:
            events.reverse()
        for event in events:
            body, headers = emu.signed(event)
            out.append(("stripe", body, headers["Stripe-Signature"]))
    return out


async def run(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    from stripeemu import StripeEmuServer

    rng = random.Random(20261202)
    await db.migrate(db_url)
    await db.init_db(db_url)
    manual = process_clock.ManualClock(T0)
    previous = process_clock.install(manual)
    try:
        await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
        checkout = Checkout(b"b" * 32, Decimal("0.013"))
        async with StripeEmuServer(
            auto_deliver=False, clock=lambda: manual.now().timestamp()
        ) as server:
            billing = StripeBilling(
                server.secret_key, server.webhook_secret, api_base=server.url,
                max_network_retries=0,
            )  # fmt: skip
            unique_target = round(args.events * (1 - DUPLICATE_SHARE))
            probe = await stripe_events(server, billing, 1, rng)
            per_customer = len(probe)
            customers = max(1, unique_target // (2 * per_customer))
            card = probe + await stripe_events(server, billing, customers - 1, rng)
            stars_users = max(1, (unique_target - len(card)) // 2)
            users = [
                await profiles.seed(9_000_000 + i, f"Buyer{i}", f"buyer{i}", Role.PUBLIC)
                for i in range(stars_users)
            ]
            unique = [*await stars_events(checkout, users, rng), *card]
            deliveries = list(unique)
            while len(deliveries) < args.events:
                deliveries.append(rng.choice(unique))
            rng.shuffle(deliveries)
            latencies: list[float] = []
            errors: Counter[str] = Counter()
            gate = asyncio.Semaphore(args.concurrency)
            port = NoTelegram()

            async def deliver(item: Any) -> None:
                async with gate:
                    began = time.perf_counter()
                    try:
                        if item[0] == "stars":
                            await checkout.paid(item[1], item[2], manual.now(), port)
                        else:
                            await billing.handle_event(item[1], item[2], manual.now())
                    except Exception as exc:  # counted and reported, never hidden
                        errors[type(exc).__name__] += 1
                    latencies.append(time.perf_counter() - began)

            started = time.perf_counter()
            await asyncio.gather(*(deliver(item) for item in deliveries))
            elapsed = time.perf_counter() - started
            await billing.close()

        paid_invoices = sum(1 for e in card if json.loads(e[1])["type"] == "invoice.paid")
        unique_payments = 2 * stars_users + paid_invoices
        recorded = await Payment.all().count()
        periods = await Entitlement.filter(payment_id__isnull=False).count()
        duplicates = max(0, recorded - unique_payments) + max(0, periods - recorded)
        mismatches = 0
        check_at = T0 + timedelta(days=1)
        want_end = T0 + 2 * SUBSCRIPTION_PERIOD
        for user in users:
            access = await ent.access_for(user.id, check_at, role=user.role)
            if access.plan != "starter" or access.ends_at != want_end or not access.renews:
                mismatches += 1
        for i, row in enumerate(await StripeCustomer.all()):  # link each buyer, then check
            owner = await profiles.seed(8_000_000 + i, f"Card{i}", f"card{i}", Role.PUBLIC)
            fresh = await stripe_ledger.fresh_code(row.customer_id, check_at)
            await stripe_ledger.link(owner.id, owner.telegram_id, fresh.link_code or "", check_at)
            access = await ent.access_for(owner.id, check_at, role=owner.role)
            if access.plan != "starter" or access.ends_at is None or access.ends_at <= check_at:
                mismatches += 1
    finally:
        process_clock.install(previous)
        await db.close_db()
    ms = [v * 1000 for v in latencies]
    return {
        "benchmark": "payments",
        "events": len(deliveries),
        "unique_events": len(unique),
        "stars_events": sum(1 for d in deliveries if d[0] == "stars"),
        "stripe_events": sum(1 for d in deliveries if d[0] == "stripe"),
        "concurrency": args.concurrency,
        "errors": dict(errors),
        "events_per_s": round(len(deliveries) / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "unique_payments": unique_payments,
        "payments_recorded": recorded,
        "duplicates_applied": duplicates,
        "entitlement_mismatches": mismatches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    run_on_database(args.database_url, "sdbenchpay", lambda url: run(args, url))


if __name__ == "__main__":
    main()
