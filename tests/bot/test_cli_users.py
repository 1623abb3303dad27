"""`python -m bot users ...`: bad input is one readable line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
        f"error: --limit must be a positive number of users, got {limit}"
    ]


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
