"""`python -m bot ea-sim`: one-line errors with exit 2; a real run until SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.ea.client.conftest import DEVICE, SECRET, STOP_S, acked, open_cmd
from tests.ea.client.fake_server import FakeServer
from tests.waiting import until


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--device", DEVICE], "--secret is required"),
        (["--device", DEVICE, "--secret", "s", "--server", "ftp://x"], "--server must be"),
        (
            ["--device", DEVICE, "--secret", "s", "--poll-wait", "31"],
            "--poll-wait must be long-poll seconds from 0 to 30",
        ),
        (["--device", DEVICE, "--secret", "s", "--poll-wait", "٣"], "--poll-wait must be"),
        (["--device", DEVICE, "--secret", "s", "--magic", str(2**64)], "--magic must be"),
        (["--device", DEVICE, "--secret", "s", "--max-spread", "+5"], "--max-spread must be"),
        (["--device", DEVICE, "--secret", "s", "--max-positions", "0"], "--max-positions must"),
        (["--device", DEVICE, "--secret", "s", "--spread-points", "1e5"], "--spread-points must"),
        (["--device", DEVICE, "--secret", "s", "--symbols", "FOO"], "unknown symbol 'FOO'"),
        (["--device", DEVICE, "--secret", "s", "--balance", "-1"], "--balance must be"),
        (["--device", DEVICE, "--secret", "s", "--max-lot", "x"], "--max-lot must be"),
        (["--device", DEVICE, "--secret", "s", "--prices", "/nope.csv"], "--prices /nope.csv"),
        (["--device", DEVICE, "--secret", "s", "--broker", "mt5"], "MetaTrader5 package"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "mt5" in argv and sys.platform == "win32":
        pytest.skip("the MetaTrader5 package may exist on Windows")
    assert main(["ea-sim", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


async def test_ea_sim_trades_on_replayed_prices_and_stops_on_sigint(
    server: FakeServer, tmp_path: Path, data_dir: Path
) -> None:
    server.add(open_cmd(order_type="market", price=None, sl=1.0, tp=1.5))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ea-sim", "--device", DEVICE, "--server", server.url,
        "--state", str(tmp_path / "state.json"), "--prices", str(data_dir / "EURUSD_H1.csv"),
        "--symbols", "EURUSD", "--interval", "0.05", "--poll-wait", "1", "--account-every", "1",
        env={"EA_SECRET": SECRET, "PATH": ""}, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await acked(server, "cmd_0001", ["filled"])
        await until(lambda: server.accounts and server.accounts[-1]["positions"])
        assert server.symbols[0]["symbols"][0]["name"] == "EURUSD"
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), STOP_S)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert server.rejected == []
