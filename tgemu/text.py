"""Message text as Telegram sees it: HTML parse_mode -> plain text + entities (UTF-16 offsets).

Telegram answers a malformed HTML text with "Bad Request: can't parse entities: ...", so the
emulator does too (`html_parse` follows Telegram's parser): a handler that forgets to escape `<`
fails here the way it would in production.
MarkdownV2/Markdown texts are stored as sent, without entities (not parsed by the emulator).
"""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import re
from typing import Any

from tgemu import html_parse
from tgemu.errors import ApiError, bad_request
from tgemu.html_parse import utf16_len

__all__ = ["MAX_CAPTION", "MAX_TEXT", "detect_entities", "parse_html", "prepare_text", "utf16_len"]

MAX_TEXT = 4096
MAX_CAPTION = 1024

# Telegram's own rules (tdlib's match_bot_commands / find_mentions; \w is Unicode letters,
# numbers and "_", as tdlib's is_word_character): a command is "/" + 1-64 of [A-Za-z0-9_],
# optionally "@" + a 3-32 character bot name, neither preceded nor followed by a word
# character, "/", "<" or ">" (so "a/b", "</b>" and "x>/y" are plain text); an "@" with no valid
# bot name after the command makes it plain text too. A mention is "@" + 5-32 of [A-Za-z0-9_]
# between non-word characters.
_COMMAND = re.compile(
    r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32}(?![\w/<>])|(?![\w/<>@]))"
)
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{5,32}(?!\w)")
_URL = re.compile(r"https?://[^\s<>\"']+")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram HTML -> (plain text, entities); raises ApiError 400 on malformed markup."""
    try:
        return html_parse.parse(source)
    except html_parse.HtmlParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None


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
