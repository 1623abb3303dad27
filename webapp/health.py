"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web
from tortoise import connections

from core import db, metrics
from core.http.problems import problem
from services import business_metrics

routes = web.RouteTableDef()
# A Redis client the app depends on (the shared FSM storage), when REDIS_URL is set.
REDIS_KEY = web.AppKey("redis", object)
REDIS_TIMEOUT_S = 2.0


@routes.get("/health")
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    try:
        await connections.get("default").execute_query("SELECT 1")
        pending = await db.pending_migrations()
    except Exception as exc:  # any database failure means not ready
        return problem(503, "Service Unavailable", f"database unreachable: {type(exc).__name__}")
    redis = request.app.get(REDIS_KEY)
    if redis is not None:
        try:
            await asyncio.wait_for(redis.ping(), REDIS_TIMEOUT_S)  # type: ignore[attr-defined]
        except Exception as exc:  # any Redis failure means dialogs cannot be served
            return problem(503, "Service Unavailable", f"redis unreachable: {type(exc).__name__}")
    if pending:
        return problem(503, "Service Unavailable", "migrations pending", pending=pending)
    body = {"status": "ready", "database": "ok", "migrations": "head"}
    if redis is not None:
        body["redis"] = "ok"
    return web.json_response(body)


@routes.get("/metrics")
async def metrics_endpoint(_request: web.Request) -> web.Response:
    return web.Response(
        body=await business_metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
    )
