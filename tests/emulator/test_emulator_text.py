"""Telegram HTML -> text + entities, and what Telegram's clients detect in typed text."""

from __future__ import annotations

from typing import Any

import pytest

from bot.emulator.errors import ApiError
from bot.emulator.media import image_size
from bot.emulator.text import detect_entities, parse_html, prepare_text

HTML_CASES = [
    ("plain", "plain", []),
    ("<b>bold <i>both</i></b>", "bold both", [("bold", 0, 9), ("italic", 5, 4)]),
    ("a &amp; b &lt;c&gt; &quot;d&quot;", 'a & b <c> "d"', []),
    (
        '<pre><code class="language-python">x = 1</code></pre>',
        "x = 1",
        [("pre", 0, 5, "python")],
    ),
    ('<a href="https://t.me/x">link</a>', "link", [("text_link", 0, 4)]),
    (
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
        "st",
        [("spoiler", 0, 1), ("spoiler", 1, 1)],
    ),
    ("😀<u>u</u>", "😀u", [("underline", 2, 1)]),
    ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
    ("<b></b>x", "x", []),
]


def _summary(entities: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for e in entities:
        row: tuple[Any, ...] = (e["type"], e["offset"], e["length"])
        if "language" in e:
            row += (e["language"],)
        out.append(row)
    return out


@pytest.mark.parametrize(("source", "text", "entities"), HTML_CASES)
def test_parse_html(source: str, text: str, entities: list[tuple[Any, ...]]) -> None:
    parsed_text, parsed = parse_html(source)
    assert parsed_text == text
    assert sorted(_summary(parsed)) == sorted(entities)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("é<div>", 'Unsupported start tag "div" at byte offset 2'),
        ("<br/>", 'Unsupported start tag "br" at byte offset 0'),
        ('<span class="x">y</span>', 'Unsupported start tag "span"'),
    ],
)
def test_bad_html_is_rejected_like_telegram(source: str, error: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_html(source)
    assert info.value.code == 400
    assert info.value.description.startswith("Bad Request: can't parse entities: ")
    assert error in info.value.description


def test_surrounding_whitespace_is_trimmed_and_entities_shift() -> None:
    text, entities = prepare_text("\n  <b>hi</b> there  \n", "HTML", None)
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_commands_urls_and_mentions_are_linkified_outside_code() -> None:
    text, entities = prepare_text("Use /help or <code>/raw</code> at https://x.test", "HTML", None)
    assert text == "Use /help or /raw at https://x.test"
    assert _summary(entities) == [("bot_command", 4, 5), ("code", 13, 4), ("url", 21, 14)]


def test_explicit_entities_win_over_parse_mode() -> None:
    given = [{"type": "bold", "offset": 0, "length": 1}]
    assert prepare_text("<b>", "HTML", given) == ("<b>", given)


def test_markdown_is_stored_as_sent() -> None:
    assert prepare_text("*bold*", "MarkdownV2", None) == ("*bold*", [])


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("/start", [("bot_command", 0, 6)]),
        ("/start payload-1", [("bot_command", 0, 6)]),
        ("see /help@signaldesk_bot", [("bot_command", 4, 20)]),
        ("path a/b and 1/2", []),
        ("hi @sam_trades", [("mention", 3, 11)]),
        ("mail a@b.cd", []),
        ("🚀 /go", [("bot_command", 3, 3)]),
    ],
)
def test_detect_entities(text: str, entities: list[tuple[Any, ...]]) -> None:
    assert _summary(detect_entities(text)) == entities


def test_image_size_sniffing() -> None:
    gif = b"GIF89a" + (7).to_bytes(2, "little") + (5).to_bytes(2, "little") + b"\x00" * 8
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x04ab"
        + b"\xff\xc0\x00\x11\x08"
        + (9).to_bytes(2, "big")
        + (12).to_bytes(2, "big")
        + b"\x03" * 12
    )
    assert image_size(gif) == (7, 5)
    assert image_size(jpeg) == (12, 9)
    assert image_size(b"not an image") == (0, 0)
