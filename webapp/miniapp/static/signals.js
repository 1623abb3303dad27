/* Signals: the open list (live, with each one's expiry countdown), the history with outcomes
 * in R, one signal with its chart, and the decision (consent first). */
import { call } from "./api.js";
import { drawChart } from "./chart.js";
import { listen } from "./stream.js";
import * as tg from "./telegram.js";
import { $, credit, date, el, fail, go, number, onLeave, show, t } from "./ui.js";

/** "2:05:09" (h:mm:ss) until `deadline` (epoch ms), or null once it has passed. */
export function remaining(deadline, now = Date.now()) {
  const left = Math.floor((deadline - now) / 1000);
  if (left <= 0) return null;
  const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/** The signal's expiry counted down from the server's `expires_in_s` (the market's clock:
 * a replay's signals expire in its bars' time, not by this device's clock). */
function countdown(s) {
  const deadline = Date.now() + 1000 * (s.expires_in_s ?? 0);
  return el("span", { class: "countdown", "data-deadline": String(deadline) });
}

/** Keep every `.countdown` on the page current (a clock in the page, not a poll of the server). */
function tickCountdowns() {
  const tick = () => {
    for (const node of document.querySelectorAll(".countdown")) {
      const left = remaining(Number(node.dataset.deadline));
      node.textContent = left ? t("miniapp.signal_expires_in", { time: left }) : t("miniapp.signal_expiring");
    }
  };
  tick();
  const timer = setInterval(tick, 1000);
  onLeave(() => clearInterval(timer));
}

const signed = (value) => `${Number(value) > 0 ? "+" : ""}${number(value, 2)}`;

function outcome(s) {
  const parts = [t(`signal.status_${s.status}`)];
  if (s.close_reason) parts.push(t(`signal.closed_${s.close_reason}`));
  return parts.join(" · ");
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
    s.can_decide ? countdown(s) : null,
    el("span", { class: "decision", "data-decision": s.decision || "" }, decisionText(s))];
  if (!s.entry) return el("li", { class: "card signal" }, ...body);
  return el("li", {}, el("button", { type: "button", class: "card signal link", "data-signal": String(s.id),
    onclick: () => go("signal", s.id) }, ...body));
}

function modes(current) {
  const button = (mode, key) => el("button", {
    type: "button", class: "segment", id: `signals-${mode}`, "aria-pressed": String(mode === current),
    onclick: () => { if (mode !== current) { tg.haptic("select"); go("signals", mode); } },
  }, t(key));
  return el("div", { class: "segments", role: "group", "aria-label": t("miniapp.nav_signals") },
    button("open", "miniapp.signals_open"), button("history", "miniapp.signals_history"));
}

async function list(mode = "open") {
  if (mode === "history") return history();
  const page = await call("GET", "/signals?limit=50");
  const nodes = [modes("open")];
  if (!page.items.length) nodes.push(el("p", { class: "muted" }, t("miniapp.signals_empty")));
  else nodes.push(el("ul", { class: "list", id: "signal-list", "aria-label": t("miniapp.nav_signals") }, ...page.items.map(signalRow)));
  if (page.items.length && !page.items.some((s) => s.entry)) nodes.push(el("p", { class: "muted" }, t("miniapp.upgrade")));
  show(...nodes);
  tickCountdowns();
  listen(["signal", "decision"], () => list("open"));
}

function historyRow(s) {
  const side = t(s.side === "buy" ? "signal.side_buy" : "signal.side_sell");
  const r = s.result_r === null ? null : Number(s.result_r);
  return el("li", { class: "card signal", "data-history": String(s.id) },
    el("span", { class: "title" }, `#${s.id} ${s.symbol} · ${side}`),
    el("span", { class: "muted" }, `${outcome(s)} · ${date(s.published_at)}`),
    s.entry ? el("span", { class: "muted" }, `${t("miniapp.signal_entry")} ${s.entry} · ${t("miniapp.signal_stop")} ${s.stop} · ${t("miniapp.signal_take_profit")} ${s.take_profit}`) : null,
    r === null ? null : el("span", { class: `result ${r > 0 ? "win" : r < 0 ? "loss" : ""}` }, t("miniapp.signal_result", { r: signed(r) })),
    s.decision ? el("span", { class: "decision", "data-decision": s.decision }, decisionText(s)) : null);
}

async function history() {
  const items = [];
  const listNode = el("ul", { class: "list", id: "signal-history", "aria-label": t("miniapp.signals_history") });
  const total = el("p", { class: "muted", id: "history-total", "aria-live": "polite" });
  const more = el("button", { type: "button", class: "secondary", id: "history-more" }, t("miniapp.load_more"));
  const load = async (cursor) => {
    const page = await call("GET", `/signals/history?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    listNode.append(...page.items.map(historyRow));
    const closed = items.filter((s) => s.result_r !== null);
    total.textContent = closed.length
      ? t("miniapp.signals_total", { r: signed(closed.reduce((sum, s) => sum + Number(s.result_r), 0)), count: closed.length })
      : "";
    more.hidden = !page.next_cursor;
    more.onclick = () => load(page.next_cursor).catch(fail);
  };
  show(modes("history"), listNode, total, more);
  await load(null);
  if (!items.length) listNode.replaceWith(el("p", { class: "muted" }, t("miniapp.signals_history_empty")));
  listen(["signal"], () => list("history"));
}

function labels() {
  return { entry: t("miniapp.signal_entry"), stop: t("miniapp.signal_stop"), take_profit: t("miniapp.signal_take_profit"),
    point1: t("miniapp.signal_point1"), point2: t("miniapp.signal_point2") };
}

async function detail(id) {
  const found = await call("GET", `/signals/${id}`);
  const s = found.signal;
  const side = t(s.side === "buy" ? "signal.side_buy" : "signal.side_sell");
  const chart = el("div", { class: "chart", id: "chart", role: "img", "aria-label": t("miniapp.signal_chart") });
  const status = el("p", { class: "decision", id: "decision", "data-decision": s.decision || "", "aria-live": "polite" }, decisionText(s));
  const nodes = [
    el("h1", {}, `#${s.id} ${s.symbol} · ${side}`),
    chart,
    credit(),
    el("dl", { class: "levels" },
      level(t("miniapp.signal_entry"), s.entry), level(t("miniapp.signal_stop"), s.stop),
      level(t("miniapp.signal_take_profit"), s.take_profit), level(t("miniapp.signal_rr"), s.reward_risk && `1:${s.reward_risk}`),
      level(t("miniapp.signal_expires"), date(s.expires_at))),
    s.can_decide ? el("p", { class: "muted" }, countdown(s)) : null,
    s.result_r !== null && !s.can_decide ? el("p", { class: "result" }, t("miniapp.signal_result", { r: signed(s.result_r) })) : null,
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
  const drawn = drawChart(chart, found, labels());
  onLeave(() => drawn.remove());
  onLeave(tg.onTheme(() => drawn.retheme()));
  tg.backButton(() => go("signals"));
  tg.mainButton(canApprove ? t("signal.btn_approve") : null, canApprove ? () => decide(s.id, "approved") : null);
  tickCountdowns();
  listen(["signal", "decision"], (kind, key) => { if (kind === "resync" || key === s.id) return detail(s.id); });
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
    await detail(id);
  } catch (error) {
    fail(error);
  } finally {
    tg.mainButtonBusy(false);
  }
}

export const page = { name: "signals", tab: "miniapp.nav_signals", render: list };
export const signalPage = { name: "signal", render: detail };
