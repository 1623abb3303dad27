"""HTML report and charts: files written, content present, monthly returns by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from trading.backtest import BacktestResult, run_backtest
from trading.candles import Candles, load_csv
from trading.report import monthly_returns_pct, plot_trade, write_report
from trading.symbols import get_spec

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def candles() -> Candles:
    return load_csv("data/samples/EURUSD_H1.csv", "EURUSD", 3600).candles


@pytest.fixture(scope="module")
def result(candles: Candles) -> BacktestResult:
    return run_backtest(candles, get_spec("EURUSD"))


def test_write_report_creates_html_and_pngs(
    result: BacktestResult, candles: Candles, tmp_path: Path
) -> None:
    html_path = write_report(result, candles, tmp_path / "out")
    page = html_path.read_text(encoding="utf-8")
    for name in ("equity.png", "monthly_returns.png", "trade.png"):
        assert (tmp_path / "out" / name).read_bytes().startswith(PNG)
        assert f'src="{name}"' in page
    assert "sharpe" in page and "max_drawdown_pct" in page
    assert page.count("<tr>") >= len(result.trades) + 1


def test_a_chosen_trade_and_a_bad_index(
    result: BacktestResult, candles: Candles, tmp_path: Path
) -> None:
    path = plot_trade(result, candles, result.trades[0], tmp_path / "t.png")
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(ValueError, match="out of range: the run has 39 trades"):
        write_report(result, candles, tmp_path, trade=39)


def test_a_run_without_trades_has_no_trade_chart(candles: Candles, tmp_path: Path) -> None:
    empty = run_backtest(candles.slice(0, 30), get_spec("EURUSD"))
    page = write_report(empty, candles, tmp_path).read_text(encoding="utf-8")
    assert "No trades." in page and not (tmp_path / "trade.png").exists()


def test_monthly_returns_by_hand() -> None:
    t = np.array(
        [
            datetime(2020, m, d, tzinfo=UTC).timestamp()
            for m, d in ((1, 5), (1, 20), (2, 3), (4, 1))
        ],
        dtype=np.int64,
    )
    equity = np.array([1000.0, 1100.0, 990.0, 1089.0])
    years, matrix = monthly_returns_pct(t, equity, 1000.0)
    # Jan: 1100 / 1000 - 1 = +10 %; Feb: 990 / 1100 - 1 = -10 %; Apr: 1089 / 990 - 1 = +10 %
    assert years == [2020]
    assert matrix[0, [0, 1, 3]] == pytest.approx([10.0, -10.0, 10.0])
    assert np.isnan(matrix[0, 2]) and np.isnan(matrix[0, 4:]).all()
