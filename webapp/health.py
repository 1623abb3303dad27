"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from aiohttp import web
from tortoise import connections

from bot import db, metrics
from webapp.problems import problem

routes = web.RouteTableDef()


@routes.get("/health")
async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/ready")
async def ready(_request: web.Request) -> web.Response:
    try:
        await connections.get("default").execute_query("SELECT 1")
        pending = await db.pending_migrations()
    except Exception as exc:  # any database failure means not ready
        return problem(503, "Service Unavailable", f"database unreachable: {type(exc).__name__}")
    if pending:
        return problem(503, "Service Unavailable", "migrations pending", pending=pending)
    return web.json_response({"status": "ready", "database": "ok", "migrations": "head"})


@routes.get("/metrics")
async def metrics_endpoint(_request: web.Request) -> web.Response:
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.CONTENT_TYPE})
