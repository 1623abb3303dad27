"""Message text as Telegram sees it: HTML parse_mode -> plain text + entities (UTF-16 offsets).

Telegram answers a malformed HTML text with "Bad Request: can't parse entities: ...", so the
emulator does too: a handler that forgets to escape `<` fails here the way it would in production.
MarkdownV2/Markdown texts are stored as sent, without entities (not parsed by the emulator).
"""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from bot.emulator.errors import ApiError, bad_request

MAX_TEXT = 4096
MAX_CAPTION = 1024

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?!\w)")
_URL = re.compile(r"https?://[^\s<>\"']+")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _EntityParseError(Exception):
    pass


class _HtmlToEntities(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.parts: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        return len(self._source[: self._line_starts[line - 1] + col].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        kind = _TAGS.get(tag)
        if kind is None or (tag == "span" and values.get("class") != "tg-spoiler"):
            msg = f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            raise _EntityParseError(msg)
        entity: dict[str, Any] = {"type": kind, "offset": self.pos}
        if tag == "a":
            entity["url"] = values.get("href", "")
        elif tag == "blockquote" and "expandable" in values:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = values.get("emoji-id", "")
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = values.get("class", "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
                entity["type"] = ""  # merged into the enclosing <pre>
        self.stack.append((tag, entity))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        msg = f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
        raise _EntityParseError(msg)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            msg = f"Unexpected end tag at byte offset {self._byte_offset()}"
            raise _EntityParseError(msg)
        open_tag, entity = self.stack.pop()
        if open_tag != tag:
            msg = (
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
            raise _EntityParseError(msg)
        length = self.pos - entity["offset"]
        if entity["type"] and length > 0:
            entity["length"] = length
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos += utf16_len(data)

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        self.close()
        if self.stack:
            tag = self.stack[-1][0]
            msg = f'Can\'t find end tag corresponding to start tag "{tag}"'
            raise _EntityParseError(msg)
        return "".join(self.parts), self.entities


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram HTML -> (plain text, entities); raises ApiError 400 on malformed markup."""
    parser = _HtmlToEntities(source)
    try:
        parser.feed(source)
        text, entities = parser.finish()
    except _EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    return text, entities


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims surrounding whitespace; entities are shifted and clipped to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _check_entities(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(
        isinstance(e, dict)
        and isinstance(e.get("type"), str)
        and isinstance(e.get("offset"), int)
        and isinstance(e.get("length"), int)
        for e in raw
    ):
        raise bad_request("can't parse entities JSON object")
    return [dict(e) for e in raw]


def prepare_text(
    source: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    limit: int = MAX_TEXT,
    what: str = "text",
) -> tuple[str, list[dict[str, Any]]]:
    """Validate and parse an outgoing text or caption as Telegram does."""
    source = source or ""
    if entities is not None:
        text, parsed = source, _check_entities(entities)
    elif (parse_mode or "").upper() == "HTML":
        text, parsed = parse_html(source)
    else:
        text, parsed = source, []
    text, parsed = _strip(text, parsed)
    if entities is None:
        parsed += _linkified(text, parsed)
    if what == "text" and not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > limit:
        detail = "message is too long" if what == "text" else "message caption is too long"
        raise ApiError(400, f"Bad Request: {detail}")
    parsed.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, parsed


def _linkified(text: str, formatting: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entities Telegram adds by itself (commands, mentions, URLs), outside code and links."""
    opaque = [e for e in formatting if e["type"] in ("code", "pre", "text_link")]
    return [
        found
        for found in detect_entities(text)
        if not any(
            e["offset"] < found["offset"] + found["length"]
            and found["offset"] < e["offset"] + e["length"]
            for e in opaque
        )
    ]


def _span(text: str, start: int, end: int) -> tuple[int, int]:
    return utf16_len(text[:start]), utf16_len(text[start:end])


def detect_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's clients attach to what a user types: bot commands, mentions, URLs."""
    found: list[dict[str, Any]] = []
    for pattern, kind in ((_COMMAND, "bot_command"), (_MENTION, "mention"), (_URL, "url")):
        for match in pattern.finditer(text):
            offset, length = _span(text, match.start(), match.end())
            if not any(e["offset"] <= offset < e["offset"] + e["length"] for e in found):
                found.append({"type": kind, "offset": offset, "length": length})
    found.sort(key=lambda e: e["offset"])
    return found
