"""Commands are offered until the order's end in wall-clock time, also when bars are replayed."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.signals import SignalStatus
from services.copy.opening import delivery_deadline
from services.signals.views import SignalView

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def view(published: datetime) -> SignalView:
    return SignalView(
        id=1, symbol="EURUSD", side="sell", status=SignalStatus.PUBLISHED, close_reason=None,
        version=1, entry=Decimal("1.1"), stop=Decimal("1.2"), take_profit=Decimal("0.8"),
        digits=5, published_at=published, expires_at=published + timedelta(hours=100),
        result_r=None, rationale="", price_adjusted=False,
    )  # fmt: skip


def test_live_signal_commands_expire_with_the_order() -> None:
    live = view(NOW - timedelta(hours=3))
    assert delivery_deadline(live, NOW) == live.expires_at


def test_replayed_signal_commands_get_the_orders_life_from_now() -> None:
    replayed = view(datetime(2017, 4, 20, 23, tzinfo=UTC))
    assert delivery_deadline(replayed, NOW) == NOW + timedelta(hours=100)
