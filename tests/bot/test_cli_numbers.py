"""Decimal command-line options (periods, balances, risk): digits 0-9 only, never an exponent,
"nan" or another script's digits; a bad one is one line and exit code 2. (Whole-number
options: `services.text.numbers`, issue 9 item 3.)

These fail before any database or network is touched, so they run in-process.
"""

from __future__ import annotations

import pytest

from bot.cli import main

NOT_DIGITS = ["\u0663", "\uff11", "\u00b2", "1_0", "+5", " 5", "1e1", "nan", "inf"]
EA = ["ea-sim", "--device", "dev_x", "--secret", "s"]
BACKTEST = ["backtest", "--data", "x.csv", "--symbol", "EURUSD"]


@pytest.mark.parametrize("text", NOT_DIGITS)
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [*EA, "--account-every", "{}"],
            "--account-every must be a number above 0 and at most 86400",
        ),
        ([*EA, "--interval", "{}"], "--interval must be a number above 0 and at most 86400"),
        ([*EA, "--balance", "{}"], "--balance must be a positive number"),
        ([*EA, "--max-lot", "{}"], "--max-lot must be a positive number"),
        ([*BACKTEST, "--risk", "{}"], "--risk must be a number >= 0"),
        ([*BACKTEST, "--balance", "{}"], "--balance must be a number >= 0.01"),
        ([*BACKTEST, "--commission", "{}"], "--commission must be a number >= 0"),
    ],  # fmt: skip
)
def test_a_decimal_option_takes_ascii_digits_only(
    argv: list[str], message: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.replace("{}", text) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err and text in err


@pytest.mark.parametrize("option", ["--interval", "--account-every"])
def test_a_period_beyond_a_day_is_refused(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EA, option, "99999999999999999999999"]) == 2
    assert option in capsys.readouterr().err
