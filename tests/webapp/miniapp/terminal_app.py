"""The Mini App's API and the EA API in one app on loopback (as the assembly mounts them), so a
test drives the page's routes and a terminal's signed requests against the same database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from ea.api import setup_ea_routes
from ea.crypto import sign_request
from services.terminals.device_auth import Credentials
from tests.webapp.miniapp.conftest import Api, make_app


@dataclass
class Terminal:
    """A terminal running our EA: signs each request with its device id and secret."""

    url: str
    device_id: str
    secret: str
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: Any = None) -> int:
        return (await self.answer(method, path, body))[0]

    async def answer(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(self.secret, method, path, data, device_id=self.device_id)
        headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.url + path, data=data, headers=headers) as r:
            raw = await r.read()
            return r.status, json.loads(raw) if raw and r.content_type.endswith("json") else None

    async def commands(self) -> list[dict[str, Any]]:
        status, body = await self.answer("GET", "/ea/v1/commands?wait=0")
        assert status == 200, body
        return list(body["commands"])

    async def report(self, balance: float, equity: float, positions: list[Any]) -> int:
        body = {"balance": balance, "equity": equity, "margin": 12.5, "currency": "USD",
                "positions": positions}  # fmt: skip
        return await self.call("POST", "/ea/v1/account", body)


def position(ticket: int, profit: float, symbol: str = "EURUSD") -> dict[str, Any]:
    return {"ticket": ticket, "symbol": symbol, "side": "sell", "volume": 0.1,
            "open_price": 1.07592, "sl": 1.07965, "tp": 1.06379, "profit": profit,
            "comment": ""}  # fmt: skip


@dataclass
class Both:
    api: Api
    url: str
    http: aiohttp.ClientSession

    def terminal(self, device_id: str, secret: str) -> Terminal:
        return Terminal(self.url, device_id, secret, self.http)

    async def add(self, header: str, name: str = "Main MT5") -> Terminal:
        """A terminal added through the page's route, with the secret it answered."""
        status, new, _ = await self.api.call(
            "POST", "/api/v1/terminals", auth=header, json={"name": name}
        )
        assert status == 201, new
        return self.terminal(new["device_id"], new["secret"])


async def serve_both() -> AsyncIterator[Both]:
    app = make_app()
    setup_ea_routes(app, Credentials(ttl_s=0))  # every request reads the device row
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url("")).rstrip("/")
            yield Both(Api(url, http), url, http)
    finally:
        await server.close()
