"""Telegram HTML -> text + entities, and what Telegram's clients detect in typed text."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.tgemu.helpers import TOKEN, USER_ID
from tgemu import EmulatorClient, EmulatorServer
from tgemu.errors import ApiError
from tgemu.media import image_size
from tgemu.text import detect_entities, parse_html, prepare_text

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
    # Telegram's own parser (tdlib's test vectors): only four named entities, `;` optional,
    # numeric references, attributes in three spellings, `</>` closes the innermost tag
    (
        "&lt;&gt;&amp;&quot;&laquo;&nbsp;&#12345678;&QUOT;",
        '<>&"&laquo;&nbsp;&#12345678;&QUOT;',
        [],
    ),
    ("a &lt b &amp c &#60; &#x3C; &#x1F600; &#0;", "a < b & c < < 😀 &#0;", []),
    ("a & b > c", "a & b > c", []),
    ("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", [("italic", 5, 7), ("bold", 9, 3)]),
    ("🏟 🏟&lt;<i    aba  =  190azAz-.   >a</i>", "🏟 🏟<a", [("italic", 6, 1)]),
    ("🏟 🏟&lt;<i    aba  =  '&lt;&gt;&quot;'>a</>", "🏟 🏟<a", [("italic", 6, 1)]),
    ("🏟 🏟&lt;<i>a</    >", "🏟 🏟<a", [("italic", 6, 1)]),
    ("<B>x</B>", "x", [("bold", 0, 1)]),
    ("<a>telegram.org</a><a> </a>", "telegram.org ", [("text_link", 0, 12)]),
    ("<pre><code>x</code></pre>", "x", [("code", 0, 1), ("pre", 0, 1)]),
    ('<code class="language-fift"><pre>x</></>', "x", [("pre", 0, 1, "fift")]),
    ('<pre><code class="language-fift">x</> </>', "x ", [("code", 0, 1), ("pre", 0, 2)]),
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
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<!-- note -->", 'Unsupported start tag "!--" at byte offset 0'),
        # a bare `<`, the classic unescaped text
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("1<2", "Unclosed start tag at byte offset 1"),
        ("x <", "Unclosed start tag at byte offset 2"),
        ("<code>a<b</code>", 'Unsupported start tag "b</code" at byte offset 7'),
        # tdlib's vectors
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        (
            "🏟 🏟&lt;<i>a</em   >",
            'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
        ),
        ("&#57311;", "Text contains invalid Unicode characters after decoding HTML entities"),
    ],
)
def test_bad_html_is_rejected_like_telegram(source: str, error: str) -> None:
    with pytest.raises(ApiError) as info:
        parse_html(source)
    assert info.value.code == 400
    assert info.value.description.startswith("Bad Request: can't parse entities: ")
    assert error in info.value.description


@pytest.mark.parametrize("method", ["sendMessage", "sendPhoto"])
async def test_the_bot_api_refuses_bad_html_in_texts_and_captions(
    server: EmulatorServer, client: EmulatorClient, method: str
) -> None:
    field = "text" if method == "sendMessage" else "caption"
    params: dict[str, Any] = {"chat_id": USER_ID, field: "2 < 3", "parse_mode": "HTML"}
    if method == "sendPhoto":
        params["photo"] = "https://example.com/chart.png"
    url = f"{server.url}/bot{TOKEN}/{method}"
    async with aiohttp.ClientSession() as http, http.post(url, json=params) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": 'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
    }
    params[field] = "2 &lt; 3 &amp; <b>4</b>"
    async with aiohttp.ClientSession() as http, http.post(url, json=params) as resp:
        sent = (await resp.json())["result"]
    assert sent[field] == "2 < 3 & 4"


def test_surrounding_whitespace_is_trimmed_and_entities_shift() -> None:
    text, entities = prepare_text("\n  <b>hi</b> there  \n", "HTML", None)
    assert text == "hi there"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_commands_urls_and_mentions_are_linkified_outside_code() -> None:
    text, entities = prepare_text("Use /help or <code>/raw</code> at https://x.test", "HTML", None)
    assert text == "Use /help or /raw at https://x.test"
    assert _summary(entities) == [("bot_command", 4, 5), ("code", 13, 4), ("url", 21, 14)]


def test_no_command_link_inside_an_escaped_device_name() -> None:
    text, entities = prepare_text(
        "Device <b>&lt;b&gt;Lab&lt;/b&gt; /b</b> paired: /devices", "HTML", None
    )
    assert text == "Device <b>Lab</b> /b paired: /devices"
    commands = [text[e["offset"] : e["offset"] + e["length"]] for e in entities
                if e["type"] == "bot_command"]  # fmt: skip
    assert commands == ["/b", "/devices"]


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
        # Telegram's boundaries (tdlib's match_bot_commands): not inside words or markup
        ("device <b>Lab</b> added", []),  # an escaped name in a bot message
        ("EA-1/b", []),
        ("x>/b and /b<y", []),
        ("é/b ١/b /bé /b١", []),  # Unicode letters and digits are word characters
        ("(lab)/b", [("bot_command", 5, 2)]),  # punctuation is a boundary, as in Telegram
        ("@/start", [("bot_command", 1, 6)]),
        ("/start@ab", []),  # "@" with no valid bot name: plain text
        ("/start@", []),
        ("/start@abc", [("bot_command", 0, 10)]),
        ("/a@" + "b" * 33, []),
        ("/" + "a" * 64, [("bot_command", 0, 65)]),
        ("/" + "a" * 65, []),
        ("/a/b //c", []),
        ("@abcd and @abcde", [("mention", 10, 6)]),  # usernames have 5 characters or more
        ("@@abcde", [("mention", 1, 6)]),
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
