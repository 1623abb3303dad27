"""`python -m bot users ...`: bad input is one readable line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_a_non_positive_limit_is_one_line_and_exit_2(tmp_path: Path, limit: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_TOKEN")}
    env["DATABASE_URL"] = f"sqlite://{tmp_path}/users.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "users", "list", "--limit", limit],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: --limit must be a number of rows from 1 to 1000 (ASCII digits), got {limit!r}"
    ]


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)  # no .env from the repository


# Cases argparse's `int` would take (Unicode digits, a sign, underscores, spaces) or that
# overflow the database's 64-bit integers.
BAD_NUMBERS = ["1001", "99999999999999999999999", str(2**63), str(2**64), "١٢", "²", "1e5",
               "+5", "5_000", " ", "0x10", "-0"]  # fmt: skip


@pytest.mark.parametrize("limit", BAD_NUMBERS)
def test_every_bad_limit_is_refused_before_the_database(
    env: None, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    assert main(["users", "list", "--limit", limit]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --limit must be a number of rows from 1 to 1000 (ASCII digits)")
    assert err.count("\n") == 1


@pytest.mark.parametrize("user", ["99999999999999999999999", str(2**52), "-5", "0", "١٢", "+5"])
def test_a_bad_user_id_is_named_not_looked_up(
    env: None, capsys: pytest.CaptureFixture[str], user: str
) -> None:
    assert main(["users", "show", user]) == 2
    err = capsys.readouterr().err
    assert f"{user!r} is not a positive Telegram id from 1 to {2**52 - 1}" in err
    assert err.count("\n") == 1


def test_a_good_limit_and_a_missing_user(
    clean_db: str, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "list", "--limit", " 5 ", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert main(["users", "show", "12345"]) == 2
    assert "no such user: 12345" in capsys.readouterr().err


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_TOKEN")}
    env["DATABASE_URL"] = f"sqlite://{tmp_path}/users.sqlite3"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("users", "role", "@nobody", "admin"), "error: no such user: @nobody"),
        (
            ("users", "role", "@nobody", "king"),
            "error: the role must be public, subscriber or admin",
        ),
        (("users", "ban", "@nobody"), "error: no such user: @nobody"),
    ],
)
def test_access_changes_from_the_shell_refuse_bad_input_in_one_line(
    tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    assert run_cli(tmp_path, "migrate").returncode == 0
    done = run_cli(tmp_path, *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [line]
