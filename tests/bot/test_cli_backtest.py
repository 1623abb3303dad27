"""`python -m bot backtest` as a subprocess on the bundled data: JSON shape, summary, report,
and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = str(ROOT / "data" / "samples" / "EURUSD_H1.csv")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "backtest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_output_has_setups_trades_and_metrics() -> None:
    run = cli("--data", DATA, "--symbol", "EURUSD", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)  # exactly one JSON object
    assert {"setups", "trades", "metrics"} <= set(data)
    assert (len(data["setups"]), len(data["trades"]), data["metrics"]["trades"]) == (63, 39, 39)
    setup = data["setups"][0]
    assert set(setup) >= {
        "side",
        "trigger",
        "leg2_start",
        "point1",
        "point2",
        "entry",
        "stop",
        "take_profit",
    }
    assert setup["side"] in ("buy", "sell") and set(setup["point1"]) == {"time", "price"}
    for key in ("trigger", "leg2_start"):
        assert datetime.fromisoformat(setup[key]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    # raw, unrounded levels: the first setup is a SELL from 1.07775 (high) to 1.07072 (low)
    assert setup["point1"]["price"] == 1.07775 and setup["point2"]["price"] == 1.07072
    assert setup["entry"] == pytest.approx(1.07072 + 0.74 * (1.07775 - 1.07072))
    assert data["metrics"]["end_equity_money"] == pytest.approx(18430.56)


def test_summary_table_and_html_report(tmp_path: Path) -> None:
    run = cli("--data", DATA, "--symbol", "eurusd", "--from", "2017-09-01", "--to", "2017-11-30",
              "--balance", "5000", "--risk", "1", "--report", str(tmp_path / "rep"))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("EURUSD: ") and "sharpe" in run.stdout
    assert (tmp_path / "rep" / "index.html").exists() and (
        tmp_path / "rep" / "equity.png"
    ).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--symbol", "FOOBAR"), "unknown symbol 'FOOBAR'"),
        (("--symbol", "EURUSD", "--from", "2030-01-01"), "no EURUSD bars"),
        (("--symbol", "EURUSD", "--from", "yesterday"), "--from must be a date"),
        (("--symbol", "EURUSD", "--risk", "0"), "--risk must be a percentage"),
        (("--symbol", "EURUSD", "--timeframe", "H2"), "--timeframe must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    run = cli("--data", DATA, *args)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: ")
    assert message in run.stderr and run.stdout == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("time,open,high,low,close\n2017-01-02 00:00,1.1,1.0,1.2,1.1\n", "bad candle file"),
        ("time,open,high,low,close\n", "no EURUSD bars"),
    ],
)
def test_bad_files_are_one_line_and_exit_2(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "candles.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    run = cli("--data", str(path), "--symbol", "EURUSD")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert message in run.stderr
