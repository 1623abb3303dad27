"""The README gives the exact TradingView alert message the hook accepts: its ```json block is
`TRADINGVIEW_TEMPLATE` character for character, and once TradingView filled in the
placeholders it is a body the hook's model takes."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from webapp.ingest import TRADINGVIEW_TEMPLATE, TradingViewBody

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_the_template_the_hook_reads() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```json\n(.*?)\n^```$", readme, flags=re.DOTALL | re.MULTILINE)
    shown = [b for b in blocks if "{{ticker}}" in b]
    assert shown == [TRADINGVIEW_TEMPLATE]


def test_the_template_filled_in_is_a_valid_alert() -> None:
    filled = (
        TRADINGVIEW_TEMPLATE.replace("{{ticker}}", "FX:EURUSD")
        .replace("{{strategy.order.action}}", "BUY")
        .replace("{{time}}", "2026-12-04T20:00:00Z")
        .replace("{{close}}", "1.08412")
        .replace("{{plot_0}}", "1.0790")
        .replace("{{strategy.order.comment}}", "breakout")
    )
    body = TradingViewBody.model_validate(json.loads(filled))
    signal = body.to_signal()
    assert (signal.symbol, signal.side, signal.order_type) == ("EURUSD", "buy", "limit")
    assert signal.external_id == "tv:EURUSD:buy:2026-12-04T20:00:00Z"
    assert (signal.entry, signal.stop) == (Decimal("1.08412"), Decimal("1.0790"))
