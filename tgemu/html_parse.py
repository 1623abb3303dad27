"""parse_mode=HTML as Telegram parses it: a scanner following tdlib's `parse_html`.

Not a general HTML parser on purpose (Python's `html.parser` accepts a bare `<`, drops comments
and decodes every HTML5 named entity; Telegram refuses the first two and keeps `&nbsp;` as
typed). Telegram's rules, which the error texts below repeat word for word:

- text is copied as is, except `&lt;` `&gt;` `&amp;` `&quot;` (case-sensitive, `;` optional)
  and numeric references `&#NNN;` / `&#xHHH;`; anything else after `&` stays literal;
- every `<` opens a tag: a start tag whose name is one of the supported ones, with attributes
  `name=token`, `name="value"` or `name='value'` (`expandable` alone on a blockquote), or an
  end tag `</name>` (`</>` closes whatever is open); tags nest properly;
- offsets in messages are UTF-8 byte offsets into the source, entity offsets UTF-16 units.

Reference: https://core.telegram.org/bots/api#html-style and tdlib's MessageEntity.cpp tests.
"""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

TAGS = {
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
_END = "\0"  # what tdlib reads past the end of its NUL-terminated text
_SPACE = frozenset(" \t\r\n\v\f\0")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_LETTERS = frozenset(string.ascii_letters)
_DIGITS = {10: frozenset(string.digits), 16: frozenset(string.hexdigits)}
_NAME_TOKEN = frozenset(string.ascii_letters + string.digits + ".-")
_SPECIAL = re.compile(r"[&<]")
_BAD_UNICODE = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)


class HtmlParseError(Exception):
    """Telegram's reason, e.g. 'Unsupported start tag "div" at byte offset 2'."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _Open:
    tag: str
    offset: int  # UTF-16 offset in the output text
    first_part: int  # index into the output parts, for <a> without href
    attrs: dict[str, str] = field(default_factory=dict)


class _Scanner:
    def __init__(self, source: str) -> None:
        self.s = source
        self.parts: list[str] = []
        self.pos = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []
        self.bad_unicode = False

    def at(self, i: int) -> str:
        return self.s[i] if i < len(self.s) else _END

    def byte_offset(self, i: int) -> int:
        return len(self.s[:i].encode("utf-8", "surrogatepass"))

    def skip_space(self, i: int) -> int:
        while self.at(i) != _END and self.at(i) in _SPACE:
            i += 1
        return i

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        i, size = 0, len(self.s)
        while i < size:
            char = self.s[i]
            if char == "&":
                decoded = self.reference(i)
                self.emit(decoded[0] if decoded else "&")
                i = decoded[1] if decoded else i + 1
            elif char != "<":
                special = _SPECIAL.search(self.s, i)
                end = special.start() if special else size
                self.emit(self.s[i:end])
                i = end
            elif self.at(i + 1) == "/":
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        if self.bad_unicode:
            raise HtmlParseError(_BAD_UNICODE)
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)  # only <pre> carries a language in the Bot API
        return "".join(self.parts), self.entities

    def reference(self, i: int) -> tuple[str, int] | None:
        """`&...` at i: (character, index after it), or None when it stays literal."""
        end = i + 1
        if self.at(end) != "#":
            while self.at(end) in _LETTERS:
                end += 1
            char = _NAMED.get(self.s[i + 1 : end])
            if char is None:
                return None
        else:
            end += 1
            base = 10
            if self.at(end) == "x":
                base, end = 16, end + 1
            value = 0
            while self.at(end) in _DIGITS[base]:
                value = value * base + int(self.s[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None
            if value == 0:
                return None
            char = chr(value)
            self.bad_unicode |= 0xD800 <= value <= 0xDFFF
        return char, end + 1 if self.at(end) == ";" else end

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in _SPACE and self.at(i) != ">":
            i += 1
        where = f"at byte offset {self.byte_offset(begin)}"
        if self.at(i) == _END:
            raise HtmlParseError(f"Unclosed start tag {where}")
        tag = self.s[begin + 1 : i].lower()
        if tag not in TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" {where}')
        attrs, i = self.attributes(tag, i, where)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {where}')
        self.stack.append(_Open(tag, self.pos, len(self.parts), attrs))
        return i + 1

    def attributes(self, tag: str, i: int, where: str) -> tuple[dict[str, str], int]:
        """The attributes of a start tag from i; returns them and the index of its `>`."""
        attrs: dict[str, str] = {}
        while self.at(i) != ">":
            i = self.skip_space(i)
            if self.at(i) == ">":
                break
            name_start = i
            while self.at(i) not in _SPACE and self.at(i) not in "=>":
                i += 1
            name = self.s[name_start:i]
            if not name:
                raise HtmlParseError(f'Empty attribute name in the tag "{tag}" {where}')
            i = self.skip_space(i)
            if self.at(i) != "=":
                if tag == "blockquote" and name == "expandable":
                    attrs[name] = ""
                    continue
                msg = f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
                raise HtmlParseError(f"{msg} {where}")
            i = self.skip_space(i + 1)
            if self.at(i) == _END:
                raise HtmlParseError(f'Unclosed start tag "{tag}" {where}')
            attrs[name], i = self.attribute_value(i)
            if self.at(i) == _END:
                raise HtmlParseError(f"Unclosed start tag {where}")
        return attrs, i

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in ("'", '"'):
            start = i
            while self.at(i) in _NAME_TOKEN:
                i += 1
            if self.at(i) not in _SPACE and self.at(i) != ">":
                msg = f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
                raise HtmlParseError(msg)
            return self.s[start:i].lower(), i
        i += 1
        chars: list[str] = []
        while self.at(i) not in (quote, _END):
            decoded = self.reference(i) if self.s[i] == "&" else None
            chars.append(decoded[0] if decoded else self.s[i])
            i = decoded[1] if decoded else i + 1
        return "".join(chars), i + 1 if self.at(i) == quote else i

    def end_tag(self, begin: int) -> int:
        where = f"at byte offset {self.byte_offset(begin)}"
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag {where}")
        i = begin + 2
        while self.at(i) not in _SPACE and self.at(i) != ">":
            i += 1
        name = self.s[begin + 2 : i]
        i = self.skip_space(i)
        if self.at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag {where}")
        opened = self.stack[-1]
        if name and name.lower() != opened.tag:
            msg = f'Unmatched end tag {where}, expected "</{opened.tag}>", found "</{name}>"'
            raise HtmlParseError(msg)
        self.stack.pop()
        self.close(opened)
        return i + 1

    def close(self, opened: _Open) -> None:
        length = self.pos - opened.offset
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": TAGS[opened.tag], "offset": opened.offset}
        attrs = opened.attrs
        if opened.tag == "a":
            url = attrs.get("href") or "".join(self.parts[opened.first_part :])
            if not url or any(c.isspace() for c in url):
                return  # Telegram drops a link it cannot read as a URL
            entity["url"] = url
        elif opened.tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif opened.tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif opened.tag in ("pre", "code"):
            css_class = attrs.get("class", "")
            if opened.tag == "code" and css_class.startswith("language-"):
                entity["language"] = css_class.removeprefix("language-")
            entity = self.merged_pre(entity)
        entity["length"] = length
        self.entities.append(entity)

    def merged_pre(self, entity: dict[str, Any]) -> dict[str, Any]:
        """<pre><code class="language-x"> over the same text is one pre entity with a language
        (either nesting order); otherwise both entities stay, and the language is dropped."""
        last = self.entities[-1] if self.entities else None
        same_text = (entity["offset"], self.pos - entity["offset"])
        if last is None or (last["offset"], last["length"]) != same_text:
            return entity
        code = entity if entity["type"] == "code" else last
        if {last["type"], entity["type"]} != {"pre", "code"} or not code.get("language"):
            return entity
        self.entities.pop()
        return {"type": "pre", "offset": entity["offset"], "language": code["language"]}


def parse(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram HTML -> (plain text, entities); raises HtmlParseError with Telegram's reason."""
    return _Scanner(source).run()
