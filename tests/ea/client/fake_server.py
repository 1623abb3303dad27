"""A tiny /ea/v1 server for the client's unit tests: verifies every signature with the shared
signer, keeps commands pending until acked (redelivering them), records what it receives."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import time
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ea.crypto import payload_key, sign_request

NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class FakeServer:
    def __init__(self, device_id: str, secret: str, *, encrypt: bool = False) -> None:
        self.device_id = device_id
        self.secret = secret
        self.encrypt = encrypt
        self.seal_secret = secret  # the key answers are sealed with (tests break it)
        self.pending: dict[str, dict[str, Any]] = {}
        self.acks: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.symbols: list[dict[str, Any]] = []
        self.rejected: list[str] = []  # why requests failed verification
        self.nonces: set[str] = set()
        self.ack_status: dict[str, int] = {}  # command id -> forced HTTP status
        self.symbols_answers: list[tuple[int, dict[str, Any] | None]] = []  # forced, in order
        self.keep_pending = False  # a refused ack leaves the command pending (redelivered)
        self.polls = 0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def add(self, command: dict[str, Any]) -> None:
        self.pending[command["id"]] = command
        self._changed.set()

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_get("/ea/v1/commands", self._commands)
        app.router.add_post("/ea/v1/acks", self._ack)
        app.router.add_post("/ea/v1/account", self._account)
        app.router.add_post("/ea/v1/symbols", self._symbols)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _verify(self, request: web.Request) -> bytes:
        body = await request.read()
        h = request.headers
        nonce, stamp = h.get("X-Nonce", ""), h.get("X-Timestamp", "0")
        expected = sign_request(
            self.secret, request.method, request.path_qs, body, int(stamp), nonce
        )["X-Signature"]
        problem = None
        if h.get("X-Device-Id") != self.device_id:
            problem = "device"
        elif h.get("X-Signature") != expected:
            problem = "signature"
        elif abs(time.time() - int(stamp)) > 300:
            problem = "timestamp"
        elif not NONCE_RE.fullmatch(nonce) or nonce in self.nonces:
            problem = "nonce"
        if problem:
            self.rejected.append(problem)
            raise web.HTTPUnauthorized(
                text=json.dumps({"title": "Unauthorized", "detail": problem}),
                content_type="application/problem+json",
            )
        self.nonces.add(nonce)
        return body

    def _answer(self, data: dict[str, Any]) -> web.Response:
        if not self.encrypt:
            return web.json_response(data)
        nonce = os.urandom(12)
        sealed = AESGCM(payload_key(self.seal_secret)).encrypt(
            nonce, json.dumps(data).encode(), self.device_id.encode()
        )
        envelope = {
            "enc": "aes-256-gcm",
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(),
        }
        return web.json_response(envelope)

    async def _commands(self, request: web.Request) -> web.Response:
        await self._verify(request)
        self.polls += 1
        wait = float(request.query.get("wait", "0"))
        if not self.pending and wait > 0:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wait)
        return self._answer({"commands": list(self.pending.values()), "server_time": time.time()})

    async def _ack(self, request: web.Request) -> web.Response:
        ack = json.loads(await self._verify(request))
        forced = self.ack_status.get(ack["command_id"])
        if forced is not None:
            if not self.keep_pending:
                self.pending.pop(ack["command_id"], None)
            return web.json_response({"detail": "forced by the test"}, status=forced)
        self.acks.append(ack)
        self.pending.pop(ack["command_id"], None)
        return self._answer({"command_id": ack["command_id"], "status": ack["status"]})

    async def _account(self, request: web.Request) -> web.Response:
        self.accounts.append(json.loads(await self._verify(request)))
        return web.Response(status=204)

    async def _symbols(self, request: web.Request) -> web.Response:
        self.symbols.append(json.loads(await self._verify(request)))
        if not self.symbols_answers:
            return web.Response(status=204)
        status, body = self.symbols_answers.pop(0)
        if status >= 400:
            return web.json_response(body, status=status, content_type="application/problem+json")
        return self._answer(body or {})
