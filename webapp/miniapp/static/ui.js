/* What every page module shares: the text catalog, DOM helpers, the view, navigation and
 * dialogs. A page module exports `page = { name, tab, admin?, render(...args) }`; app.js lists
 * them. Everything shown goes into the DOM as text nodes. */
import * as tg from "./telegram.js";

export const $ = (id) => document.getElementById(id);
export const state = { me: null, t: {}, page: "home", locale: "en", pages: new Map(), cleanups: [], nav: 0 };

export function t(key, values = {}) {
  let text = state.t[key] || key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

export const date = (iso) => new Date(iso).toLocaleString(state.locale, { dateStyle: "medium", timeStyle: "short" });
export const day = (iso) => new Date(iso).toLocaleDateString(state.locale, { dateStyle: "medium" });
export const number = (value, digits = 2) =>
  Number(value).toLocaleString(state.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The credit under a lightweight-charts chart (its NOTICE asks for one; the library's own logo
 * would need an inline style our CSP refuses). */
export const credit = () => el("p", { class: "credit" },
  el("a", { href: "https://www.tradingview.com/", target: "_blank", rel: "noopener" }, "Charts by TradingView"));

/** Run `cleanup` when the view changes (charts, timers, subscriptions of the page shown). */
export function onLeave(cleanup) { state.cleanups.push(cleanup); }

function leave() {
  for (const cleanup of state.cleanups.splice(0)) { try { cleanup(); } catch { /* gone already */ } }
}

// The view's tasks (a page's render, a live update's re-render) run one at a time, in order.
// Each belongs to a navigation (`state.nav`, bumped by every go()): one overtaken by a later
// navigation before it starts is skipped, and what one shows after it has been overtaken is
// dropped, so a slow reload of the page just left can never replace the page the user went to.
let queue = Promise.resolve();
let running = 0;  // the navigation of the task running, or of the last one run
let pending = 0;
let inTask = false;

function busy(delta) {
  pending += delta;
  const view = $("view");
  if (view) view.setAttribute("aria-busy", String(pending > 0));
}

/** Run `work` as a view task of navigation `nav` (see above); resolves when it has run. */
export function task(nav, work) {
  busy(1);
  const run = queue.then(async () => {
    if (nav !== state.nav) return;
    running = nav;
    inTask = true;
    try { await work(); } finally { inTask = false; }
  }).finally(() => busy(-1));
  queue = run.catch(() => {});
  return run;
}

/** The navigation the code running now belongs to (a listener registered now lives as long). */
export const current = () => running;

/** Replace the view with `nodes`; false (nothing shown) when this is an overtaken task's view. */
export function show(...nodes) {
  if (running !== state.nav) return false;
  leave();
  const view = $("view");
  view.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  view.setAttribute("aria-busy", String(pending > 0));
  return true;
}

export function fail(error) {
  if (show(el("p", { class: "error", role: "alert" }, error.message))) tg.haptic("error");
}

export function setTab(name) {
  state.page = name;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.page === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
}

/** Show page `name` (a page module's `render(...args)`), or its error. The page left stops
 * listening at once; the render waits for the view task running, if any. Resolves once the page
 * is shown (at once when called from a view task, which must not wait for its successor). */
export function go(name, ...args) {
  const page = state.pages.get(name) || state.pages.get("home");
  const nav = ++state.nav;
  leave();
  if (page.tab) setTab(page.name);
  const shown = task(nav, async () => {
    tg.backButton(null);
    tg.mainButton(null);
    try { await page.render(...args); } catch (error) { fail(error); }
  });
  return inTask ? Promise.resolve() : shown;
}

/** A modal yes/no question (the confirmation before a destructive action): resolves true/false. */
export function confirm(title, text, yes, danger = false) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { "aria-labelledby": "confirm-title", id: "confirm" });
    const done = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    dialog.append(
      el("h2", { id: "confirm-title" }, title),
      el("p", { class: "consent-text" }, text),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", id: "confirm-no", onclick: () => done(false) }, t("miniapp.back")),
        el("button", { type: "button", class: danger ? "danger" : "primary", id: "confirm-yes", onclick: () => done(true) }, yes)),
    );
    dialog.addEventListener("cancel", () => { dialog.remove(); resolve(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
