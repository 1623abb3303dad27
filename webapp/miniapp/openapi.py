"""The OpenAPI 3.1 document of an `Api`, from the models its operations declare."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

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
