"""Command-line options: only ASCII digits are numbers; a bad one is one line and exit code 2.

These fail before any database or network is touched, so they run in-process.
"""

from __future__ import annotations

import pytest

from bot.cli import main

NOT_DIGITS = ["\u0663", "\uff11", "\u00b2", "1_0", "+5", " 5", "1e1", "nan"]
HUGE = "99999999999999999999999"


@pytest.mark.parametrize("text", NOT_DIGITS)
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["users", "list", "--limit", "{}"], "--limit must be a positive number of users"),
        (
            ["devices", "add", "--name", "x", "--user", "{}"],
            "--user must be a positive Telegram id",
        ),
        (["devices", "list", "--user", "{}"], "--user must be a positive Telegram id"),
        (["ea-sim", "--device", "dev_x", "--secret", "s", "--poll-wait", "{}"], "--poll-wait"),
        (["ea-sim", "--device", "dev_x", "--secret", "s", "--magic", "{}"], "--magic"),
        (
            ["ea-sim", "--device", "dev_x", "--secret", "s", "--account-every", "{}"],
            "--account-every must be a number above 0 and at most 86400",
        ),
        (["ea-sim", "--device", "dev_x", "--secret", "s", "--interval", "{}"], "--interval"),
        (["ea-sim", "--device", "dev_x", "--secret", "s", "--balance", "{}"], "--balance"),
        (["backtest", "--data", "x.csv", "--symbol", "EURUSD", "--risk", "{}"], "--risk"),
        (["backtest", "--data", "x.csv", "--symbol", "EURUSD", "--balance", "{}"], "--balance"),
    ],  # fmt: skip
)
def test_a_number_option_takes_ascii_digits_only(
    argv: list[str], message: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.replace("{}", text) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err and text in err


@pytest.mark.parametrize(
    "argv",
    [
        ["users", "list", "--limit", HUGE],
        ["devices", "list", "--user", HUGE],
        ["ea-sim", "--device", "dev_x", "--secret", "s", "--magic", HUGE],
        ["ea-sim", "--device", "dev_x", "--secret", "s", "--interval", HUGE],
        ["ea-sim", "--device", "dev_x", "--secret", "s", "--account-every", HUGE],
        ["ea-sim", "--device", "dev_x", "--secret", "s", "--max-positions", HUGE],
    ],
)
def test_huge_numbers_are_out_of_range_in_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and argv[-2] in err and HUGE in err, err
