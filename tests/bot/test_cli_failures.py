"""The command line fails in one readable line, with the right exit code, and says no secret."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from core import db

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**clean, "DATA_DIR": str(tmp_path), "LOG_LEVEL": "ERROR", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unreachable_database_stops_run_in_one_line_without_the_password(
    tmp_path: Path,
) -> None:
    url = f"postgres://sd:hunter2secret@127.0.0.1:{closed_port()}/signaldesk"
    done = cli("run", tmp_path=tmp_path, DATABASE_URL=url, WEB_PORT="0")
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith("error: could not start: database postgres://sd:***@127.0.0.1:")
    )
    assert "Traceback" not in done.stderr
    assert "hunter2secret" not in done.stderr + done.stdout


def test_a_busy_port_stops_run_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli(
            "run",
            tmp_path=tmp_path,
            DATABASE_URL=f"sqlite://{tmp_path}/a.sqlite3",
            WEB_PORT=str(port),
        )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: could not start: web server on 127.0.0.1:{port}: ")
    assert "address already in use" in last


def test_migrate_names_the_migrations_it_knows(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/m.sqlite3"
    for flag in ("--to", "--down"):
        done = cli("migrate", flag, "0009_nope", tmp_path=tmp_path, DATABASE_URL=url)
        assert done.returncode == 2
        known = ", ".join(db.known_migrations())
        assert done.stderr.strip() == f"error: unknown migration '0009_nope'; known: {known}"
        assert known.startswith("0001_initial, ")


def test_migrate_with_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgres://sd:pw@127.0.0.1:{closed_port()}/signaldesk"
    done = cli("migrate", tmp_path=tmp_path, DATABASE_URL=url)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: database postgres://sd:***@127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1
