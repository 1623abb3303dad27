"""The OpenAPI 3.1 document of an `Api`, from the models its operations declare."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from core.http.problems import PROBLEM_TYPE

if TYPE_CHECKING:
    from webapp.miniapp.api import Api, Operation

REF = "#/components/schemas/{model}"
SECURITY_SCHEMES = {
    "session": {"type": "http", "scheme": "bearer", "description": "POST /auth/telegram"},
    "initData": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "`tma <Telegram.WebApp.initData>`",
    },
}  # fmt: skip


def _openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)


def _parameters(model: type[BaseModel], where: str) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": where, "required": where == "path" or name in required,
         "schema": {k: v for k, v in prop.items() if k != "title"}}
        for name, prop in schema.get("properties", {}).items()
    ]  # fmt: skip


def _operation(op: Operation, refs: dict[tuple[type[BaseModel], str], Any]) -> dict[str, Any]:
    from webapp.miniapp.api import Auth, ProblemOut, Raw

    problem = {PROBLEM_TYPE: {"schema": refs[(ProblemOut, "serialization")]}}
    if isinstance(op.response, Raw):
        content = {op.response.content_type: {"schema": {"type": "string"}}}
        description = op.response.description
    else:
        content = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        description = HTTPStatus(op.status).phrase
    responses: dict[str, Any] = {str(op.status): {"description": description, "content": content}}
    for code in op.statuses():
        responses[str(code)] = {"description": HTTPStatus(code).phrase, "content": problem}
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "parameters": _parameters(op.path_model, "path") + _parameters(op.query_model, "query"),
        "responses": responses,
        "security": [] if op.auth is Auth.NONE else [{"session": []}, {"initData": []}],
    }
    if op.body_model is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body_model, "validation")]}},
        }
    return out


def document(api: Api) -> dict[str, Any]:
    from webapp.miniapp.api import ProblemOut, Raw

    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ProblemOut, "serialization")]
    for op in api.operations:
        if not isinstance(op.response, Raw):
            wanted.append((op.response, "serialization"))
        if op.body_model is not None:
            wanted.append((op.body_model, "validation"))
    unique = list(dict.fromkeys(wanted))
    keys, defs = models_json_schema(unique, ref_template=REF)
    refs: dict[tuple[type[BaseModel], str], Any] = dict(keys.items())
    paths: dict[str, dict[str, Any]] = {}
    for op in api.operations:
        paths.setdefault(_openapi_path(api.prefix + op.path), {})[op.method.lower()] = _operation(
            op, refs
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": SECURITY_SCHEMES},
    }


def disagreements(api: Api, app: web.Application, served: dict[str, Any]) -> list[str]:
    """Where the routes `app` serves under the API's prefix, the document it serves (`served`)
    and the document the operations' models give disagree: empty when they agree."""
    own = ("GET", api.prefix + "/openapi.json")
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
        and route.resource.canonical.startswith(api.prefix + "/")
    } - {own}  # fmt: skip
    documented = {(m.upper(), path) for path, ops in served.get("paths", {}).items() for m in ops}
    out = [f"{m} {p}: served but not documented" for m, p in sorted(routes - documented)]
    out += [f"{m} {p}: documented but not served" for m, p in sorted(documented - routes)]
    fresh = document(api)
    for path, ops in fresh["paths"].items():
        for method, operation in ops.items():
            given = served.get("paths", {}).get(path, {}).get(method)
            if given is not None and given != operation:
                out.append(f"{method.upper()} {path}: documented unlike its models")
    schemas = served.get("components", {}).get("schemas", {})
    for name, schema in fresh["components"]["schemas"].items():
        if schemas.get(name) != schema:
            out.append(f"schema {name}: documented unlike its model")
    out += [
        f"schema {name}: no model"
        for name in sorted(set(schemas) - set(fresh["components"]["schemas"]))
    ]
    return out
