"""The Mini App's pages get live figures from the server-sent events stream, never by polling:
every timer in our page modules is one of the few known ones, none of which asks the server
for anything (a new setInterval/setTimeout fails here until it is looked at)."""

from __future__ import annotations

import re
from pathlib import Path

from webapp.miniapp.pages import STATIC

TIMER = re.compile(r"\b(setInterval|setTimeout|requestAnimationFrame)\s*\(")
FETCHES = re.compile(r"\b(call|fetch|download|stream|render|refresh|list|detail)\s*\(")
# (module, the line with the timer): what it is for
KNOWN = {
    ("signals.js", "const timer = setInterval(tick, 1000);"): "the expiry countdown's clock",
    (
        "stream.js",
        "await new Promise((resolve) => setTimeout(resolve, delay));",
    ): "the stream's reconnection back-off",
    (
        "performance.js",
        "setTimeout(() => URL.revokeObjectURL(url), 60_000);",
    ): "an export's download link freed",
}


def timers() -> dict[tuple[str, str], str]:
    found = {}
    for path in sorted(Path(STATIC).glob("*.js")):  # ours; vendor/ is a sub-folder
        for line in path.read_text().splitlines():
            if TIMER.search(line):
                found[(path.name, line.strip())] = line
    return found


def test_every_timer_in_the_pages_is_a_known_one_that_fetches_nothing() -> None:
    found = timers()
    assert set(found) == set(KNOWN), sorted(set(found) ^ set(KNOWN))
    tick = (Path(STATIC) / "signals.js").read_text()
    body = tick[tick.index("function tickCountdowns()") : tick.index("setInterval(tick")]
    assert not FETCHES.search(body.replace("tick()", "")), body  # the clock only re-labels


def test_the_positions_page_follows_the_live_stream() -> None:
    source = (Path(STATIC) / "positions.js").read_text()
    assert 'live(["positions", "terminal"], found.terminal.live_key, refresh);' in source
    assert not TIMER.search(source)
