"""The OpenAPI document matches the routes the app serves; the page shell and every API answer
carry the security headers, and the page runs no inline script."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.webapp.miniapp.conftest import Api, make_app
from webapp.miniapp import API as declared
from webapp.miniapp import openapi
from webapp.miniapp.openapi import disagreements

OWN = {"/api/v1/openapi.json"}


def served_routes() -> set[tuple[str, str]]:
    app = make_app()
    out = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/v1/") and path not in OWN and route.method != "HEAD":
            out.add((route.method, path))
    return out


async def test_the_document_lists_exactly_the_served_routes(api: Api) -> None:
    status, document, _ = await api.call("GET", "/api/v1/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    assert documented == served_routes()
    assert len(documented) == len(declared.operations) >= 9
    assert disagreements(declared, make_app(), document) == []


def test_a_route_served_but_not_documented_is_a_disagreement() -> None:
    from aiohttp import web

    app = make_app()

    async def hidden(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/api/v1/hidden/{key}", hidden)
    app.router.add_post("/api/v1/me", hidden)
    assert disagreements(declared, app, openapi.document(declared)) == [
        "GET /api/v1/hidden/{key}: served but not documented",
        "POST /api/v1/me: served but not documented",
    ]


def test_a_documented_route_that_is_not_served_is_a_disagreement() -> None:
    served = copy.deepcopy(openapi.document(declared))
    served["paths"]["/api/v1/gone"] = {"delete": served["paths"]["/api/v1/me"]["get"]}
    served["paths"]["/api/v1/me"]["put"] = served["paths"]["/api/v1/me"]["get"]
    assert disagreements(declared, make_app(), served) == [
        "DELETE /api/v1/gone: documented but not served",
        "PUT /api/v1/me: documented but not served",
    ]


def test_a_document_unlike_the_models_is_a_disagreement() -> None:
    served = copy.deepcopy(openapi.document(declared))
    schemas = served["components"]["schemas"]
    name = next(n for n, s in sorted(schemas.items()) if s.get("properties"))
    field = next(iter(schemas[name]["properties"]))
    schemas[name]["properties"][field] = {"type": "boolean"}
    schemas["Forgotten"] = {"type": "object"}
    served["paths"]["/api/v1/me"]["get"]["summary"] = "something else"
    assert disagreements(declared, make_app(), served) == [
        "GET /api/v1/me: documented unlike its models",
        f"schema {name}: documented unlike its model",
        "schema Forgotten: no model",
    ]


def test_a_handler_annotated_unlike_its_route_is_refused_when_declared() -> None:
    from pydantic import BaseModel

    from webapp.miniapp import api as framework

    class Shown(BaseModel):
        a: int

    class Other(BaseModel):
        b: int

    custom = framework.Api()
    with pytest.raises(TypeError, match="documents"):

        @custom.get("/shown", response=Shown, summary="shown")
        async def wrong(call: framework.Call) -> Other:
            return Other(b=1)

    with pytest.raises(TypeError, match="documents"):

        @custom.get("/raw", response=framework.Raw("text/csv", "a file"), summary="raw")
        async def not_raw(call: framework.Call) -> Shown:
            return Shown(a=1)

    assert custom.operations == []


async def test_a_handler_answering_another_model_is_a_problem_not_an_undocumented_body() -> None:
    import aiohttp
    from aiohttp.test_utils import TestServer
    from pydantic import BaseModel

    from tests.webapp.miniapp.test_api import make_app_with
    from webapp.miniapp import api as framework

    class Shown(BaseModel):
        a: int

    class Other(BaseModel):
        b: int

    custom = framework.Api()
    smuggled: Any = Other(b=1)

    @custom.get("/shown", response=Shown, auth=framework.Auth.NONE, summary="shown")
    async def shown(call: framework.Call) -> Shown:
        return smuggled  # type: ignore[no-any-return]

    server = TestServer(make_app_with(custom), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            response = await http.get(server.make_url("/api/v1/shown"))
            body = await response.json(content_type=None)
    finally:
        await server.close()
    assert response.status == 500 and "b" not in body
    assert body["title"] == "Internal Server Error" and response.content_type.endswith("json")


async def test_each_operation_documents_its_errors_and_security(api: Api) -> None:
    _, document, _ = await api.call("GET", "/api/v1/openapi.json")
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert "422" in op["responses"], (method, path)
            for name in re.findall(r"\{(\w+)\}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in op["parameters"])
            if path != "/api/v1/auth/telegram" and not path.startswith("/api/v1/i18n/"):
                assert op["security"] and {"401", "403"} <= set(op["responses"])


async def test_the_page_shell_is_served_with_a_strict_csp(api: Api) -> None:
    status, page, response = await api.call("GET", "/app")
    assert status == 200 and response.content_type == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' https://telegram.org/js/telegram-web-app.js;" in csp
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all(body.strip() == "" and "src=" in attrs for attrs, body in scripts)
    assert "style=" not in page and "<style" not in page
    assert 'src="https://telegram.org/js/telegram-web-app.js"' in page


async def test_api_answers_and_problems_carry_the_headers(api: Api) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/me"):
        _, _, response = await api.call("GET", path)
        assert "Content-Security-Policy" in response.headers
        assert response.headers["Cache-Control"] == "no-store"


async def test_static_modules_are_served(api: Api) -> Any:
    for name in ("app.js", "api.js", "telegram.js", "chart.js", "app.css"):
        status, _, response = await api.call("GET", f"/app/static/{name}")
        assert status == 200, name
        assert "Content-Security-Policy" in response.headers
