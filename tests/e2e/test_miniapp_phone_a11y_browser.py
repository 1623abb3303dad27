"""The Mini App on a phone (390 x 844, the sandbox shows its frame full-width there) in Debian's
Chromium, for a paid subscriber and for the owner, on every tab the page's tab bar offers them
(read from the DOM, so a new tab is covered without touching this test) and every section of
the Admin tab and of the Signals tab's history, and the first signal and terminal opened: every visible control has an accessible name
and a touch target of at least 44 x 44 CSS px, no id is used twice (an `aria-labelledby` or a
label would name the wrong node), and nothing makes the page scroll sideways.

The accessible name follows the parts of the accessible-name computation the page uses:
`aria-labelledby`, `aria-label`, the control's `<label>`s, its text, `title`, `alt`, an input
button's value. A checkbox or radio inside (or named by) a label is tapped through the label,
so the label's box is its target. A row meant to scroll sideways (the tab bar, the admin
sections) scrolls inside itself: only the document's own width counts. Screenshots go to
$TEST_ARTIFACTS/miniapp/phone-<persona>-<tab>.png."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import AppRunner
from tests.e2e.miniapp_browser import ARTIFACTS, open_from_menu, playwright_api, sandbox_chat
from tests.e2e.test_sandbox import paused_sandbox  # noqa: F401

PHONE = {"width": 390, "height": 844}
TARGET = 44

AUDIT = """(target) => {
  const root = document.documentElement;
  const controls = [...document.querySelectorAll(
    'button, a[href], input:not([type="hidden"]), select, textarea, [role="button"], '
    + '[role="tab"], [tabindex]:not([tabindex="-1"])')];
  const visible = (n) => {
    if (n.closest("dialog:not([open])") || n.closest("[hidden]")) return false;
    const style = getComputedStyle(n);
    return style.visibility !== "hidden" && style.display !== "none" && n.getClientRects().length > 0;
  };
  const textOf = (n) => (n ? (n.innerText || n.textContent || "").trim() : "");
  const nameOf = (n) => {
    const by = (n.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
      .map((id) => textOf(document.getElementById(id))).join(" ").trim();
    if (by) return by;
    const aria = (n.getAttribute("aria-label") || "").trim();
    if (aria) return aria;
    const labels = n.labels ? [...n.labels].map(textOf).join(" ").trim() : "";
    if (labels) return labels;
    if (["button", "submit", "reset"].includes(n.type) && n.tagName === "INPUT") return (n.value || "").trim();
    return textOf(n) || (n.getAttribute("title") || "").trim() || (n.getAttribute("alt") || "").trim();
  };
  const describe = (n) => n.id ? `#${n.id}` : n.outerHTML.replace(/\\s+/g, " ").slice(0, 90);
  const unnamed = [], small = [];
  for (const n of controls.filter(visible)) {
    if (!nameOf(n)) unnamed.push(describe(n));
    const box = (["checkbox", "radio"].includes(n.type) && (n.closest("label") || (n.labels && n.labels[0]))) || n;
    const r = box.getBoundingClientRect();
    if (r.width < target - 0.5 || r.height < target - 0.5) {
      small.push(`${describe(n)} ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  const ids = [...document.querySelectorAll("[id]")].map((n) => n.id);
  const twice = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  return { width: window.innerWidth, scroll: root.scrollWidth, unnamed, small, twice };
}"""


async def audit(app: Any, where: str, offenders: list[str]) -> int:
    """Offenders of the view shown, as `where: ...` lines; the frame's own width."""
    found = await app.locator("html").evaluate(f"() => ({AUDIT})({TARGET})")
    offenders += [f"{where}: no accessible name: {n}" for n in found["unnamed"]]
    offenders += [f"{where}: smaller than {TARGET}x{TARGET}: {n}" for n in found["small"]]
    offenders += [
        f"{where}: id used twice (labels and tests find the wrong one): {n}"
        for n in found["twice"]
    ]
    if found["scroll"] > found["width"]:
        offenders.append(f"{where}: scrolls sideways ({found['scroll']} > {found['width']} px)")
    return int(found["width"])


async def settled(app: Any, expect: Any, tab: str) -> None:
    await expect(app.locator(f"#tab-{tab}")).to_have_attribute("aria-current", "page")
    await expect(app.locator("#view")).to_have_attribute("aria-busy", "false")
    await expect(app.locator("#view")).not_to_contain_text("Loading")


@pytest.mark.browser
@pytest.mark.parametrize(
    ("persona", "staff"),
    [("Sam Subscriber", False), ("Olivia Owner", True)],
    ids=["sam", "olivia"],
)
async def test_every_tab_on_a_phone_is_labelled_tappable_and_fits(
    paused_sandbox: AppRunner,  # noqa: F811
    persona: str,
    staff: bool,
) -> None:
    sandbox = paused_sandbox
    pw_api = playwright_api()
    expect = pw_api.expect
    who = persona.split()[0].lower()
    offenders: list[str] = []
    async with sandbox_chat(pw_api, sandbox.base_url, PHONE) as (page, errors):
        await page.get_by_role("button", name=persona).click()
        app = await open_from_menu(page, expect)
        await expect(app.locator("#tabs .tab").first).to_be_visible()
        tabs = await app.locator("#tabs .tab").evaluate_all(
            "(ns) => ns.map((n) => n.dataset.page)"
        )
        assert ("admin" in tabs) is staff, tabs
        assert {"home", "signals", "positions", "terminals", "performance", "plan"} <= set(tabs)
        for tab in tabs:
            await app.locator(f"#tab-{tab}").click()
            await settled(app, expect, tab)
            width = await audit(app, tab, offenders)
            assert 360 <= width <= 390, width  # the frame is the phone's width
            await page.screenshot(path=str(ARTIFACTS / f"phone-{who}-{tab}.png"))
            opens = {"signals": "button[data-signal]", "terminals": "button[data-terminal]"}.get(
                tab
            )
            if opens is not None and await app.locator(opens).count():  # one of the list's own
                await app.locator(opens).first.click()
                await expect(app.locator("#view")).to_have_attribute("aria-busy", "false")
                await expect(app.locator(f"#view {opens}")).to_have_count(0)
                await audit(app, f"{tab} > first item", offenders)
                await page.screenshot(path=str(ARTIFACTS / f"phone-{who}-{tab}-item.png"))
                await app.locator(f"#tab-{tab}").click()
                await settled(app, expect, tab)
            sections = {"admin": ".admin-chip", "signals": "#signals-history"}.get(tab)
            if sections is None:
                continue
            for name in await app.locator(sections).evaluate_all("(ns) => ns.map((n) => n.id)"):
                await app.locator(f"#{name}").click()
                await expect(app.locator(f"#{name}")).to_have_attribute("aria-pressed", "true")
                await expect(app.locator("#view")).not_to_contain_text("Loading")
                await audit(app, f"{tab} > {name}", offenders)
                await page.screenshot(path=str(ARTIFACTS / f"phone-{who}-{tab}-{name}.png"))
    assert offenders == [], "\n".join(offenders)
    assert errors == [], errors
