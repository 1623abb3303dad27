"""`python -m bot devices ...` against the test database (in process, as the operator runs it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MASTER_KEY", "cli-test-master-key")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env from the repository


def test_add_list_revoke(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices", "add", "--user", "990001", "--name", "Home PC", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert set(made) == {"device_id", "secret"}
    assert re.fullmatch(r"dev_[A-Za-z0-9_-]{12}", made["device_id"]) and len(made["secret"]) >= 43
    assert main(["devices", "add", "--user", "990001", "--name", "VPS", "--mode", "copy"]) == 0
    assert "shown only this once" in capsys.readouterr().out
    assert main(["devices", "list", "--user", "990001", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["mode"], d["status"]) for d in listed] == [
        ("Home PC", "approval", "active"),
        ("VPS", "copy", "active"),
    ]
    assert made["secret"] not in json.dumps(listed)
    assert main(["devices", "revoke", made["device_id"]]) == 0
    assert main(["devices", "list", "--user", "990001"]) == 0
    out = capsys.readouterr().out
    assert "revoked" in out and made["device_id"] in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["devices", "add", "--user", "990002", "--name", ""], "1 to 64 characters"),
        (["devices", "add", "--user", "0", "--name", "x"], "positive Telegram id"),
        (["devices", "add", "--user", "9" * 23, "--name", "x"], "positive Telegram id"),
        (["devices", "add", "--user", str(2**63), "--name", "x"], "positive Telegram id"),
        (["devices", "add", "--user", "١٢", "--name", "x"], "got '١٢'"),
        (["devices", "add", "--user", "+5", "--name", "x"], "(ASCII digits)"),
        (["devices", "add", "--user", "abc", "--name", "x"], "positive Telegram id"),
        (["devices", "list", "--user", str(2**64)], "positive Telegram id"),
        (["devices", "list", "--user", "-1"], "positive Telegram id"),
        (["devices", "revoke", "dev_nope"], "no terminal dev_nope"),
    ],
)
def test_errors_are_one_line_exit_2(
    env: None, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
