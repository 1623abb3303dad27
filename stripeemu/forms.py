"""Stripe's form encoding, decoded: `a[b][0][c]=v` -> `{"a": {"b": [{"c": "v"}]}}`.

The SDK sends lists indexed (`expand[0]=x`); `expand[]=x` (curl's habit) appends. Values stay
strings, as on the wire; `integer`, `boolean` and `expand_paths` read them the way Stripe does and
answer its `parameter_invalid_*` errors.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from stripeemu.errors import invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode(text: str) -> dict[str, Any]:
    """The nested params of a form body or query string."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            raise invalid(key, f"Invalid parameter name: {key}", code="parameter_unknown")
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        _put(root, parts, value)
    return {key: _listify(value) for key, value in root.items()}


def _put(node: dict[str, Any], parts: list[str], value: str) -> None:
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if nxt == "":  # `a[]=v`: append to a list kept under integer-like keys
            bucket = node.setdefault(part, {})
            if not isinstance(bucket, dict):
                raise invalid(part, f"Invalid array: {part}")
            if i + 2 == len(parts):
                bucket[str(len(bucket))] = value
                return
            node = bucket.setdefault(str(len(bucket)), {})
            continue
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid(part, f"Invalid object: {part}")
        node = child
    last = parts[-1]
    if last == "":
        return
    node[last] = value


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def integer(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(
            name, f"Invalid integer: {value}", code="parameter_invalid_integer"
        ) from None


def boolean(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if value in ("true", "false"):
        return bool(value == "true")
    raise invalid(name, f"Invalid boolean: {value}", code="parameter_invalid_boolean")


def mapping(params: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested hash (`price_data`, `subscription_data`, ...); absent is empty."""
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid object: {name}", code="parameter_invalid_string")
    return value


METADATA_KEYS = 50
METADATA_KEY_CHARS = 40
METADATA_VALUE_CHARS = 500


def string_map(params: dict[str, Any], name: str) -> dict[str, str]:
    """A `metadata` hash of strings (an empty string unsets a key), within Stripe's limits:
    50 keys, keys up to 40 characters, values up to 500."""
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(name, f"Invalid hash: {name}", code="parameter_invalid_string")
    if len(value) > METADATA_KEYS:
        raise invalid(
            name, f"You can specify up to {METADATA_KEYS} keys.", "parameter_invalid_string"
        )
    for key, text in value.items():
        if len(key) > METADATA_KEY_CHARS or len(text) > METADATA_VALUE_CHARS:
            raise invalid(
                f"{name}[{key}]",
                f"Metadata keys can be up to {METADATA_KEY_CHARS} characters long and values "
                f"up to {METADATA_VALUE_CHARS} characters long.",
                "parameter_invalid_string",
            )
    return dict(value)


def listed(params: dict[str, Any], name: str) -> list[Any]:
    value = params.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    raise invalid(name, f"Invalid array: {name}", code="parameter_invalid_array")


def expand_paths(params: dict[str, Any]) -> list[str]:
    return [str(path) for path in listed(params, "expand")]
