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


def _raw_schema(media_type: str) -> dict[str, Any]:
    """A non-JSON answer: text, or bytes of that media type (OpenAPI 3.1 `contentMediaType`)."""
    if media_type.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "contentMediaType": media_type}


def _operation(op: Operation, refs: dict[tuple[type[BaseModel], str], Any]) -> dict[str, Any]:
    from webapp.miniapp.api import Auth, ProblemOut

    problem = {PROBLEM_TYPE: {"schema": refs[(ProblemOut, "serialization")]}}
    if op.response is not None:
        content = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    else:
        assert op.raw is not None  # Api.route declares exactly one of the two
        content = {op.raw: {"schema": _raw_schema(op.raw)}}
    responses: dict[str, Any] = {
        str(op.status): {"description": HTTPStatus(op.status).phrase, "content": content}
    }
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
    from webapp.miniapp.api import ProblemOut

    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ProblemOut, "serialization")]
    for op in api.operations:
        if op.response is not None:
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
