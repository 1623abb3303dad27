"""The OpenAPI document matches the routes the app serves; the page shell and every API answer
carry the security headers, and the page runs no inline script."""

from __future__ import annotations

import re
from typing import Any

from tests.webapp.miniapp.conftest import Api, make_app
from webapp.miniapp import API as declared

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
