"""/post in the owner's language: the side typed as a word of that language (compra / venta,
покупка / продажа, or buy / sell), prices and the bar's time written for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import OWNER, say, text
from tests.e2e.test_manual_signals import feed_bars
from tgemu import EmulatorClient


@pytest.mark.parametrize(
    ("lang", "word", "question"),
    [
        ("es", "Venta", "EURUSD VENTA, último precio 1,07657: ¿precio de entrada (orden límite)?"),
        ("es", "compra", "EURUSD COMPRA, último precio 1,07657"),
        ("ru", "продажа", "EURUSD ПРОДАЖА, последняя цена 1,07657: цена входа (лимитный ордер)?"),
        ("ru", "BUY", "EURUSD ПОКУПКА, последняя цена 1,07657"),
    ],
)
async def test_the_side_in_the_owners_words(
    owner_app, tg: EmulatorClient, data_dir: Path, lang: str, word: str, question: str
) -> None:
    await feed_bars(owner_app, data_dir)
    await say(tg, OWNER, f"/language {lang}")
    await say(tg, OWNER, "/post")
    side = text(await say(tg, OWNER, "eurusd"))
    assert "1,07657" in side and "Apr" not in side  # the bar's time in the owner's words
    assert text(await say(tg, OWNER, word)).startswith(question)


async def test_a_word_that_is_no_side_asks_again_in_the_owners_words(
    owner_app, tg: EmulatorClient, data_dir: Path
) -> None:
    await feed_bars(owner_app, data_dir)
    await say(tg, OWNER, "/language ru")
    await say(tg, OWNER, "/post")
    await say(tg, OWNER, "eurusd")
    assert text(await say(tg, OWNER, "держать")) == (
        "Нажмите «Покупка» или «Продажа» (или напишите покупка / продажа)."
    )


@pytest.mark.parametrize(
    ("lang", "auto", "skip", "expiry_q", "note_q", "preview"),
    [
        ("es", "Automático", "omitir", "caducidad de la orden en horas", "justificación",
         "Vista previa"),
        ("ru", "Авто", "Пропустить", "срок действия ордера в часах", "пояснение",
         "Предпросмотр"),
        ("en", "AUTO", "skip", "order expiry in hours", "rationale", "Preview"),
    ],
)  # fmt: skip
async def test_the_defaults_taken_with_the_owners_words(
    owner_app, tg: EmulatorClient, data_dir: Path, lang: str, auto: str, skip: str,
    expiry_q: str, note_q: str, preview: str,
) -> None:  # fmt: skip
    await feed_bars(owner_app, data_dir)
    await say(tg, OWNER, f"/language {lang}")
    await say(tg, OWNER, "/post")
    await say(tg, OWNER, "eurusd")
    await say(tg, OWNER, "buy")
    await say(tg, OWNER, "1.07")
    await say(tg, OWNER, "1.065")
    assert expiry_q in text(await say(tg, OWNER, auto))  # the take-profit at 3.25 R
    assert note_q in text(await say(tg, OWNER, auto))  # the default expiry
    shown = text(await say(tg, OWNER, skip))  # no rationale
    assert preview in shown and skip not in shown
