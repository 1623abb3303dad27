/* What every page module shares: the text catalog, DOM helpers, the view, navigation and
 * dialogs. A page module exports `page = { name, tab, admin?, render(...args) }`; app.js lists
 * them. Everything shown goes into the DOM as text nodes. */
import * as tg from "./telegram.js";

export const $ = (id) => document.getElementById(id);
export const state = { me: null, t: {}, page: "home", locale: "en", pages: new Map(), cleanups: [] };

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

export function show(...nodes) {
  for (const cleanup of state.cleanups.splice(0)) { try { cleanup(); } catch { /* gone already */ } }
  const view = $("view");
  view.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  view.setAttribute("aria-busy", "false");
}

export function fail(error) {
  tg.haptic("error");
  show(el("p", { class: "error", role: "alert" }, error.message));
}

export function setTab(name) {
  state.page = name;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.page === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
}

/** Show page `name` (a page module's `render(...args)`), or its error. */
export async function go(name, ...args) {
  const page = state.pages.get(name) || state.pages.get("home");
  $("view").setAttribute("aria-busy", "true");
  try {
    if (page.tab) setTab(page.name);
    tg.backButton(null);
    tg.mainButton(null);
    await page.render(...args);
  } catch (error) {
    fail(error);
  }
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
