/* SignalDesk Mini App: Home and Signals. Plain ES modules, text through the server's catalogs;
 * everything shown goes into the DOM as text nodes. */
import { ApiError, call, signIn, strings } from "./api.js";
import { drawChart } from "./chart.js";
import * as tg from "./telegram.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, t: {}, page: "home", chart: null, locale: "en" };

function t(key, values = {}) {
  let text = state.t[key] || key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const date = (iso) => new Date(iso).toLocaleString(state.locale, { dateStyle: "medium", timeStyle: "short" });
const day = (iso) => new Date(iso).toLocaleDateString(state.locale, { dateStyle: "medium" });

function show(...nodes) {
  if (state.chart) { state.chart.remove(); state.chart = null; }
  const view = $("view");
  view.replaceChildren(...nodes);
  view.setAttribute("aria-busy", "false");
}

function fail(error) {
  tg.haptic("error");
  show(el("p", { class: "error", role: "alert" }, error.message));
}

function setTab(page) {
  state.page = page;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.page === page) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
}

async function home() {
  setTab("home");
  tg.backButton(null);
  tg.mainButton(null);
  const me = (state.me = await call("GET", "/me"));
  const a = me.access;
  const plan = a.plan
    ? el("section", { class: "card", id: "home-plan" },
        el("h2", {}, t("miniapp.home_plan", { plan: a.plan_name || a.plan })),
        a.ends_at ? el("p", { class: "muted" }, t(a.renews ? "miniapp.home_renews" : "miniapp.home_ends", { date: day(a.ends_at) })) : null)
    : el("section", { class: "card" }, el("h2", {}, t("miniapp.home_free")), el("p", { class: "muted" }, t("miniapp.upgrade")));
  const cards = [plan];
  if (a.plan) {
    cards.push(el("section", { class: "card", id: "home-terminals" },
      el("p", {}, t("miniapp.home_terminals", { online: me.terminals_online, total: me.terminals_total }))));
    const pending = el("button", { type: "button", class: "card link", id: "home-pending", onclick: () => go("signals") },
      me.pending_approvals ? t("miniapp.home_pending", { count: me.pending_approvals }) : t("miniapp.home_no_pending"));
    cards.push(pending);
  }
  show(...cards);
}

function level(label, value) {
  return el("div", { class: "level" }, el("dt", {}, label), el("dd", {}, value ?? t("miniapp.signal_hidden")));
}

function decisionText(s) {
  if (s.decision === "approved") return t("miniapp.decision_approved");
  if (s.decision === "rejected") return t("miniapp.decision_rejected");
  return s.can_decide ? t("miniapp.decision_none") : t(`signal.status_${s.status}`);
}

function signalRow(s) {
  const side = t(s.side === "buy" ? "signal.side_buy" : "signal.side_sell");
  const body = [el("span", { class: "title" }, `#${s.id} ${s.symbol} · ${side}`),
    el("span", { class: "muted" }, s.entry ? `${t("miniapp.signal_entry")} ${s.entry}` : t(`signal.status_${s.status}`)),
    el("span", { class: "decision", "data-decision": s.decision || "" }, decisionText(s))];
  if (!s.entry) return el("li", { class: "card signal" }, ...body);
  return el("li", {}, el("button", { type: "button", class: "card signal link", "data-signal": String(s.id),
    onclick: () => signal(s.id) }, ...body));
}

async function signals() {
  setTab("signals");
  tg.backButton(null);
  tg.mainButton(null);
  const page = await call("GET", "/signals?limit=50");
  if (!page.items.length) { show(el("p", { class: "muted" }, t("miniapp.signals_empty"))); return; }
  const nodes = [el("ul", { class: "list", id: "signal-list", "aria-label": t("miniapp.nav_signals") }, ...page.items.map(signalRow))];
  if (!page.items.some((s) => s.entry)) nodes.push(el("p", { class: "muted" }, t("miniapp.upgrade")));
  show(...nodes);
}

function labels() {
  return { entry: t("miniapp.signal_entry"), stop: t("miniapp.signal_stop"), take_profit: t("miniapp.signal_take_profit"),
    point1: t("miniapp.signal_point1"), point2: t("miniapp.signal_point2") };
}

async function signal(id) {
  const detail = await call("GET", `/signals/${id}`);
  const s = detail.signal;
  const side = t(s.side === "buy" ? "signal.side_buy" : "signal.side_sell");
  const chart = el("div", { class: "chart", id: "chart", role: "img", "aria-label": t("miniapp.signal_chart") });
  const status = el("p", { class: "decision", id: "decision", "data-decision": s.decision || "", "aria-live": "polite" }, decisionText(s));
  const nodes = [
    el("h1", {}, `#${s.id} ${s.symbol} · ${side}`),
    chart,
    el("p", { class: "credit" }, el("a", { href: "https://www.tradingview.com/", target: "_blank", rel: "noopener" },
      "Charts by TradingView")),
    el("dl", { class: "levels" },
      level(t("miniapp.signal_entry"), s.entry), level(t("miniapp.signal_stop"), s.stop),
      level(t("miniapp.signal_take_profit"), s.take_profit), level(t("miniapp.signal_rr"), s.reward_risk && `1:${s.reward_risk}`),
      level(t("miniapp.signal_expires"), date(s.expires_at))),
    status,
  ];
  // The primary action (Approve) is Telegram's Main button; the page shows its own only
  // where there is none. Reject (and Approve again after a rejection) stay on the page.
  const hosted = Boolean(tg.webApp());
  const canApprove = s.can_decide && s.decision !== "approved";
  const buttons = [];
  if (s.can_decide && s.decision !== "rejected") {
    buttons.push(el("button", { type: "button", class: "secondary", id: "reject", onclick: () => decide(s.id, "rejected") }, t("signal.btn_reject")));
  }
  if (canApprove && !hosted) {
    buttons.push(el("button", { type: "button", class: "primary", id: "approve", onclick: () => decide(s.id, "approved") }, t("signal.btn_approve")));
  }
  if (buttons.length) nodes.push(el("div", { class: "actions" }, ...buttons));
  show(...nodes);
  state.chart = drawChart(chart, detail, labels());
  tg.backButton(() => go("signals"));
  tg.mainButton(canApprove ? t("signal.btn_approve") : null, canApprove ? () => decide(s.id, "approved") : null);
}

function consent(text) {
  return new Promise((resolve) => {
    const dialog = $("consent");
    $("consent-title").textContent = t("miniapp.consent_title");
    $("consent-text").textContent = text;
    $("consent-accept").textContent = t("signal.btn_accept");
    $("consent-cancel").textContent = t("miniapp.back");
    const done = (value) => { dialog.close(); resolve(value); };
    $("consent-accept").onclick = () => done(true);
    $("consent-cancel").onclick = () => done(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
  });
}

async function decide(id, decision, accept) {
  tg.mainButtonBusy(true);
  try {
    const body = accept ? { decision, accept_disclaimer: accept } : { decision };
    const result = await call("POST", `/signals/${id}/decision`, body);
    if (result.needs_consent) {
      tg.mainButtonBusy(false);
      if (await consent(result.disclaimer)) await decide(id, decision, result.needs_consent);
      return;
    }
    tg.haptic(decision === "approved" ? "success" : "warning");
    await signal(id);
  } catch (error) {
    fail(error);
  } finally {
    tg.mainButtonBusy(false);
  }
}

async function go(page) {
  try {
    await (page === "signals" ? signals() : home());
  } catch (error) {
    fail(error);
  }
}

function translateShell() {
  document.documentElement.lang = state.locale;
  document.title = t("miniapp.title");
  $("tab-home").textContent = t("miniapp.nav_home");
  $("tab-signals").textContent = t("miniapp.nav_signals");
}

async function start() {
  tg.setUp();
  tg.onTheme(() => { if (state.chart) state.chart.retheme(); });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => { tg.haptic("select"); go(tab.dataset.page); });
  const app = tg.webApp();
  if (!app || !app.initData) {
    $("status").textContent = "Open this page from the bot in Telegram.";
    return;
  }
  try {
    await signIn(app.initData);
    const me = (state.me = await call("GET", "/me"));
    state.locale = me.language;
    state.t = (await strings(me.language)).strings;
    translateShell();
    const start = app.initDataUnsafe && app.initDataUnsafe.start_param;
    const match = /^signal_(\d+)$/.exec(start || "");
    if (match) await signal(Number(match[1]));
    else await go(start === "signals" ? "signals" : "home");
  } catch (error) {
    fail(error instanceof ApiError ? error : new Error(String(error)));
  }
}

start();
