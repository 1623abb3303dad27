"""Every Mini App tab in Spanish and in Russian, in Debian's Chromium inside the sandbox frame:
no English sentence of the catalog and no bare message id is left on any page the subscriber
and the owner can open."""

from __future__ import annotations

import re

import pytest

from bot.app import AppRunner
from models.users import User
from services.miniapp import strings
from tests.e2e.miniapp_browser import ARTIFACTS, playwright_api
from tests.e2e.test_sandbox import ARGS, CHROMIUM, paused_sandbox  # noqa: F401 - the fixture

SAM, OWNER = 1000002, 1000001
PERSONAS = {SAM: "Sam Subscriber", OWNER: "Olivia Owner"}
# Words that are the same in every language (names, symbols, units) are not "untranslated".
SAME_EVERYWHERE = re.compile(
    r"^[\W\d_]*(EURUSD|XAUUSD|GBPUSD|USD|MT5|R|TradingView|Charts by TradingView)?[\W\d_]*$"
)


def english_sentences(language: str) -> set[str]:
    """The English text of every page message whose translation differs from it (so seeing it
    on a page in `language` means something was not translated)."""
    english, other = strings.page_strings("en"), strings.page_strings(language)
    out = set()
    for key, text in english.items():
        if other.get(key) != text:
            fixed = re.split(r"\{\w+\}", text)  # the parts around the placeholders
            out.update(part.strip() for part in fixed if len(part.strip()) >= 6)
    return out


@pytest.mark.browser
@pytest.mark.parametrize("language", ["es", "ru"])
async def test_every_tab_is_translated(paused_sandbox: AppRunner, language: str) -> None:  # noqa: F811
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    await User.filter(telegram_id__in=list(PERSONAS)).update(language=language)
    sentences = english_sentences(language)
    assert len(sentences) > 30  # the check has something to find
    # Whole words only: Spanish "Compactas" is not the English "Compact".
    english = re.compile("|".join(rf"(?<!\w){re.escape(s)}(?!\w)" for s in sorted(sentences)))
    async with pw_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 1100, "height": 860})
        await page.goto(f"{sandbox.base_url}/sandbox")
        for telegram_id, persona in PERSONAS.items():
            await page.get_by_role("button", name=persona).click()
            await page.evaluate(
                "([url, user]) => window.SandboxMiniApp.open(url, user)",
                [f"{sandbox.base_url}/app", telegram_id],
            )
            app = page.frame_locator("#miniapp-frame")
            await expect(app.locator("html")).to_have_attribute("lang", language)
            tabs = app.locator("#tabs button")
            await expect(tabs.first).to_be_visible()
            names = await tabs.evaluate_all("ts => ts.map(t => t.dataset.page)")
            assert names and "home" in names
            for name in names:
                await app.locator(f"#tab-{name}").click()
                await expect(app.locator(f"#tab-{name}")).to_have_attribute("aria-current", "page")
                await expect(app.locator("#view")).to_have_attribute("aria-busy", "false")
                await expect(app.locator("#view")).not_to_be_empty()
                texts = await app.locator("body").evaluate(
                    """body => {
                      const out = [];
                      const walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
                      while (walk.nextNode()) {
                        const node = walk.currentNode, el = node.parentElement;
                        if (!el || el.closest("script, style, [hidden]") || !node.textContent.trim()) continue;
                        out.push(node.textContent.trim());
                      }
                      for (const el of body.querySelectorAll("[aria-label], [placeholder], [title]"))
                        for (const a of ["aria-label", "placeholder", "title"])
                          if (el.getAttribute(a)) out.push(el.getAttribute(a).trim());
                      return out;
                    }"""
                )
                shown = [t for t in texts if not SAME_EVERYWHERE.match(t)]
                bare = [t for t in shown if re.search(r"\b(miniapp|signal|error)\.[a-z_]+", t)]
                assert not bare, (language, name, bare)
                untranslated = [t for t in shown if english.search(t)]
                assert not untranslated, (language, persona, name, untranslated)
                await page.screenshot(path=str(ARTIFACTS / f"{name}-{language}.png"))
            await page.locator("#miniapp-close").click()
        await browser.close()
