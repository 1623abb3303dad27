"""Bot API request parameters: JSON bodies, urlencoded forms and multipart, read alike.

aiogram sends every value as a string (numbers and booleans JSON-encoded, nested objects as
JSON strings) and files as multipart parts referenced by `attach://<name>`; a JSON body carries
real types. `Params` accepts both, as Telegram does.
"""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tgemu.errors import ApiError, bad_request


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str
    content_type: str


async def read_params(request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return values
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object")
        values.update(body)
        return values
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            values[key] = Upload(value.file.read(), value.filename, value.content_type)
        else:
            values[key] = value
    return values


class Params:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def string(self, name: str, *, required: bool = False, empty: str = "") -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(empty or f"{name} is empty")
            return None
        if isinstance(value, Upload):
            raise bad_request(f"{name} must be a string")
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            return int(value)
        number = _integer(value)
        if number is None:
            raise bad_request(f"invalid {name} specified")
        return number

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def obj(self, name: str) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        number = _integer(value)
        if number is None:
            raise ApiError(400, "Bad Request: chat not found")
        return number

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an Upload (direct or via attach://) or a file_id/URL string."""
        value = self.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self.values.get(value.removeprefix("attach://"))
            if not isinstance(value, Upload):
                raise bad_request(f"{name} attachment not found")
        if value is None or value == "" or isinstance(value, Upload):
            return value or None
        return str(value)


_INT_TEXT = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: int() also takes "٣" and "1_0"


def _integer(value: object) -> int | None:
    """An integer parameter: a JSON integer, or its text in digits 0-9; else None."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        return int(value)
    return None
