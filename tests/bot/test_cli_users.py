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
