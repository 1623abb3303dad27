"""Outbox payloads: the builders of the JSON a notification carries (re-exported by
`services.outbox.notifications`).

A payload is a JSON dict describing one Bot API action; build it with `text`, `photo`,
`edit_text`, `edit_caption`, `edit_markup` or `delete` rather than by hand:

    {"method": "send_message" | "send_photo" | "edit_text" | "edit_caption" | "edit_markup"
               | "delete",
     "text": str, "caption": str, "parse_mode": "HTML" (default) | "MarkdownV2" | None,
     "reply_markup": {"inline_keyboard": [[{"text", "callback_data" | "url"}, ...]]} | None,
     "photo": {"chart_id": int} | {"file_id": str} | {"path": str},
     "reply_to": dedupe key of an earlier notification to the same chat (reply to its message;
                 waits until that one is done; sent without reply if it failed or was skipped),
     "edit_of": dedupe key of the notification whose message to edit or delete (waits for it;
                skipped if it failed or was skipped),
     "disable_notification": true when the recipient chose "silent" for its kind (set by
                             `notifications.enqueue_many`, never by the builders)}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Payload = dict[str, Any]
_REQUIRED: dict[str, tuple[str, ...]] = {
    "send_message": ("text",),
    "send_photo": ("photo",),
    "edit_text": ("text", "edit_of"),
    "edit_caption": ("edit_of",),
    "edit_markup": ("edit_of",),
    "delete": ("edit_of",),
}
EDITS = ("edit_text", "edit_caption", "edit_markup", "delete")


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: `callback_data` (packed by a CallbackData class), `url`, or
    `web_app` (the Mini App page's URL; private chats only)."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    web_app: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The button as Bot API JSON (unset fields left out)."""
        data: dict[str, Any] = {"text": self.text, "callback_data": self.callback_data,
                                "url": self.url}  # fmt: skip
        if self.web_app is not None:
            data["web_app"] = {"url": self.web_app}
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Keyboard:
    """An inline keyboard: rows of `Button`s. The one way services build keyboards (handlers
    use aiogram's `InlineKeyboardBuilder`); a payload stores it as Bot API JSON."""

    rows: tuple[tuple[Button, ...], ...]

    def as_json(self) -> dict[str, Any]:
        """The keyboard as the JSON `reply_markup` a payload carries."""
        return {"inline_keyboard": [[button.as_json() for button in row] for row in self.rows]}


def inline_keyboard(rows: Iterable[Iterable[Button]]) -> Keyboard:
    """A keyboard from rows of buttons."""
    return Keyboard(tuple(tuple(row) for row in rows))


def _markup(keyboard: Keyboard | None) -> dict[str, Any] | None:
    return None if keyboard is None else keyboard.as_json()


def _base(method: str, parse_mode: str | None, keyboard: Keyboard | None) -> Payload:
    return {"method": method, "parse_mode": parse_mode, "reply_markup": _markup(keyboard)}


def text(
    body: str,
    *,
    keyboard: Keyboard | None = None,
    reply_to: str | None = None,
    parse_mode: str | None = "HTML",
) -> Payload:
    """A new text message, optionally replying to the message of notification `reply_to`."""
    return _base("send_message", parse_mode, keyboard) | {"text": body, "reply_to": reply_to}


def photo(
    caption: str | None = None,
    *,
    chart_id: int | None = None,
    file_id: str | None = None,
    path: str | None = None,
    keyboard: Keyboard | None = None,
    reply_to: str | None = None,
    parse_mode: str | None = "HTML",
) -> Payload:
    """A photo: a chart (uploaded once, then re-sent by file_id), a known file_id or a file."""
    sources = {"chart_id": chart_id, "file_id": file_id, "path": path}
    source = {k: v for k, v in sources.items() if v is not None}
    return _base("send_photo", parse_mode, keyboard) | {
        "caption": caption,
        "photo": source,
        "reply_to": reply_to,
    }


def edit_text(
    edit_of: str, body: str, *, keyboard: Keyboard | None = None, parse_mode: str | None = "HTML"
) -> Payload:
    """Replace the text (and keyboard: None removes it) of notification `edit_of`'s message."""
    return _base("edit_text", parse_mode, keyboard) | {"text": body, "edit_of": edit_of}


def edit_caption(
    edit_of: str,
    caption: str,
    *,
    keyboard: Keyboard | None = None,
    parse_mode: str | None = "HTML",
) -> Payload:
    """Replace the caption (and keyboard) of a photo sent by notification `edit_of`."""
    return _base("edit_caption", parse_mode, keyboard) | {"caption": caption, "edit_of": edit_of}


def edit_markup(edit_of: str, keyboard: Keyboard | None = None) -> Payload:
    """Replace (None: remove) the inline keyboard of notification `edit_of`'s message."""
    return {"method": "edit_markup", "reply_markup": _markup(keyboard), "edit_of": edit_of}


def delete(edit_of: str) -> Payload:
    """Delete the message sent by notification `edit_of`."""
    return {"method": "delete", "edit_of": edit_of}


def validate_payload(payload: Mapping[str, Any]) -> str | None:
    """Check a payload's shape; returns its dependency key (reply_to or edit_of), if any."""
    method = str(payload.get("method"))
    required = _REQUIRED.get(method)
    if required is None:
        msg = f"payload 'method' must be one of {tuple(_REQUIRED)}, got {method!r}"
        raise ValueError(msg)
    missing = [key for key in required if not payload.get(key)]
    if missing:
        msg = f"{method} needs {' and '.join(missing)} (edit_of: the dedupe key to change)"
        raise ValueError(msg)
    if method == "send_photo" and len(payload["photo"]) != 1:
        msg = "send_photo needs 'photo' with exactly one of chart_id, file_id, path"
        raise ValueError(msg)
    if method not in EDITS and payload.get("edit_of"):
        msg = f"{method} sends a new message: use 'reply_to', not 'edit_of'"
        raise ValueError(msg)
    dependency = payload.get("edit_of") or payload.get("reply_to")
    return str(dependency) if dependency else None
