/* SignalDesk Mini App: signs in, loads the user's text, builds the tabs from the page modules
 * and opens the page the start parameter names. */
import { ApiError, call, signIn, strings } from "./api.js";
import * as admin from "./admin.js";
import * as alerts from "./alerts.js";
import * as home from "./home.js";
import * as performance from "./performance.js";
import * as plan from "./plan.js";
import * as positions from "./positions.js";
import * as settings from "./settings.js";
import * as signals from "./signals.js";
import * as live from "./stream.js";
import * as tg from "./telegram.js";
import * as terminals from "./terminals.js";
import { $, el, fail, go, setTab, state, t } from "./ui.js";

// Every page, in tab order; a page without `tab` is reached from another (a signal's detail).
const PAGES = [
  home.page, signals.page, signals.signalPage, positions.page, terminals.page,
  terminals.terminalPage, terminals.newTerminalPage, alerts.page, performance.page, plan.page, settings.page,
  admin.page,
];

/** Where to land: Telegram's start parameter (a t.me/<bot>/app?startapp=... link), else the
 * page URL's `startapp` (the chat's Open app buttons). `signal_<id>` opens that signal, a tab's
 * name opens that tab, anything else Home. */
export function startParam(app) {
  const fromTelegram = app && app.initDataUnsafe && app.initDataUnsafe.start_param;
  return fromTelegram || new URLSearchParams(window.location.search).get("startapp") || "";
}

function landing(start) {
  const free = state.me && !state.me.access.plan;
  const fallback = [free ? "plan" : "home"];  // the free tier: its plans
  const match = /^signal_(\d+)$/.exec(start || "");
  if (match) return free ? fallback : ["signal", Number(match[1])];  // a signal's levels are paid
  const page = state.pages.get(start || "");
  const staff = state.me && ["admin", "owner"].includes(state.me.role);
  if (page && page.tab && (!page.admin || staff)) return [page.name];
  return fallback;  // a link to nothing we know, or to a page that is not theirs
}

function buildShell() {
  document.documentElement.lang = state.locale;
  document.title = t("miniapp.title");
  const admin = ["admin", "owner"].includes(state.me.role);
  const tabs = PAGES.filter((p) => p.tab && (!p.admin || admin)).map((p) =>
    el("button", { type: "button", class: "tab", id: `tab-${p.name}`, "data-page": p.name,
      onclick: () => { tg.haptic("select"); go(p.name); } }, t(p.tab)));
  $("tabs").setAttribute("aria-label", t("miniapp.nav_sections"));
  if (!$("live-status")) {  // shown while the live stream reconnects (stream.js)
    $("tabs").after(el("p", { id: "live-status", class: "live-status", role: "status", hidden: true }, t("miniapp.live_offline")));
  }
  $("tabs").replaceChildren(...tabs);
  setTab(state.page);
}

async function start() {
  tg.setUp();
  for (const page of PAGES) state.pages.set(page.name, page);
  const app = tg.webApp();
  if (!app || !app.initData) {  // not opened by Telegram: say so in the browser's language
    const language = (navigator.language || "en").slice(0, 2);
    state.t = (await strings(language).catch(() => strings("en"))).strings;
    $("status").textContent = t("miniapp.error_open_in_telegram");
    return;
  }
  try {
    await signIn(app.initData);
    const me = (state.me = await call("GET", "/me"));
    state.locale = me.language;
    state.t = (await strings(me.language)).strings;
    if ($("status")) $("status").textContent = t("miniapp.loading");
    // The landing page first, then the tabs: a tap on a tab can never be overtaken by the
    // landing page arriving later.
    await go(...landing(startParam(app)));
    buildShell();
    live.start();
    live.listen(["access"], async () => {  // role, ban or plan changed: the tabs may differ
      state.me = await call("GET", "/me").catch(() => state.me);
      buildShell();
    }, { always: true });
  } catch (error) {
    fail(error instanceof ApiError ? error : new Error(String(error)));
  }
}

start();
