"""schemathesis against the live Mini App API's OpenAPI document (loopback HTTP, fixed seed,
deterministic generation): no 5xx and no answer outside the documented schema, with a valid
session (a subscriber with an open signal and a terminal; the owner, whose session reaches the
admin routes) and without one; every operation of the document is exercised."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from core import clock
from models.users import Role
from services.miniapp import auth
from services.terminals import secrets as secret_box
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import OWNER, TOKEN, make_app
from webapp.miniapp import API

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SEED = 20261202
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
SUB = 1000002


@pytest.fixture
async def live(database: str, bus: Any, tmp_path: Path) -> AsyncIterator[str]:
    secret_box.configure("miniapp-fuzz-master-key", tmp_path)
    sam = await th.user(SUB)
    await th.user(OWNER, Role.OWNER, "Olivia")
    await th.publish()
    await th.device(sam)
    server = TestServer(make_app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def run_schemathesis(url: str, tmp_path: Path, *headers: str) -> tuple[int, str]:
    args = [str(SCHEMATHESIS), "run", f"{url}/api/v1/openapi.json", "--checks", CHECKS,
            "--seed", str(SEED), "--generation-deterministic", "--max-examples", "20",
            "--phases", "examples,coverage,fuzzing",
            "--workers", "1", "--no-color", "--report-dir", str(tmp_path / "report")]  # fmt: skip
    for header in headers:
        args += ["-H", header]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""}, cwd=tmp_path,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


def operations_tested(output: str) -> tuple[int, int, int]:
    """schemathesis's summary: operations selected, in the document, and tested."""
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    assert selected and tested, output[-3000:]
    return int(selected[1]), int(selected[2]), int(tested[1])


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")
@pytest.mark.timeout(300)  # every route of the API, each phase: minutes on a loaded machine
@pytest.mark.parametrize("who", [SUB, OWNER, None], ids=["subscriber", "owner", "no-session"])
async def test_schemathesis_finds_no_server_error_or_schema_violation(
    live: str, tmp_path: Path, who: int | None
) -> None:
    headers = []
    if who is not None:
        token = auth.issue(who, clock.now(), bot_token=TOKEN).token
        headers.append(f"Authorization: Bearer {token}")
    code, output = await run_schemathesis(live, tmp_path, *headers)
    assert code == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output.lower(), output[-3000:]
    documented = len(API.operations)
    assert operations_tested(output) == (documented, documented, documented)
    if who == OWNER:  # the owner's session is let through everywhere: fuzzed past the guard
        assert "Authentication failed" not in output, output[-3000:]
