"""Keyboards are built one way: aiogram's `InlineKeyboardBuilder` in handlers, the typed
`Keyboard` of `Button`s (services.outbox.payloads) in services; the sender turns the stored JSON
back into aiogram's model with `model_validate`. Hand-made markup must not come back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("handlers", "services", "jobs", "middlewares", "webapp", "ea", "bot")
# The one module that writes the Bot API JSON of a keyboard.
JSON_WRITER = ROOT / "services" / "outbox" / "payloads.py"
OTHER_IDIOMS = {
    "aiogram markup built by hand": re.compile(r"\bInline(?:KeyboardMarkup|KeyboardButton)\("),
    "reply keyboards": re.compile(
        r"\b(?:ReplyKeyboardMarkup|KeyboardButton|ReplyKeyboardBuilder)\("
    ),
    "keyboard JSON written by hand": re.compile(r"""["']inline_keyboard["']\s*:"""),
    "markup as a dict literal": re.compile(r"reply_markup\s*=\s*(?:\{|dict\()"),
}


def offenders(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == JSON_WRITER:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("idiom", sorted(OTHER_IDIOMS))
def test_no_keyboard_is_built_another_way(idiom: str) -> None:
    assert offenders(OTHER_IDIOMS[idiom]) == [], (
        f"{idiom}: build keyboards with InlineKeyboardBuilder (handlers) or "
        "services.outbox.payloads.Keyboard/Button (services)"
    )


@pytest.mark.parametrize(
    ("line", "idiom"),
    [
        ("kb = InlineKeyboardMarkup(inline_keyboard=[[b]])", "aiogram markup built by hand"),
        ("b = InlineKeyboardButton(text='x', callback_data='y')", "aiogram markup built by hand"),
        ("ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text='a')]])", "reply keyboards"),
        ('return {"inline_keyboard": rows}', "keyboard JSON written by hand"),
        ('await m.answer("x", reply_markup={"inline_keyboard": []})', "markup as a dict literal"),
    ],
)
def test_the_check_sees_each_other_idiom(line: str, idiom: str) -> None:
    assert OTHER_IDIOMS[idiom].search(line)


def test_handlers_use_the_builder_and_services_the_typed_keyboard() -> None:
    assert offenders(re.compile(r"InlineKeyboardBuilder\(\)"))  # the handlers' idiom is in use
    assert all(
        line.startswith("handlers/") for line in offenders(re.compile(r"InlineKeyboardBuilder"))
    )
    assert offenders(re.compile(r"\binline_keyboard\(|\bKeyboard\("))  # and the services' one
