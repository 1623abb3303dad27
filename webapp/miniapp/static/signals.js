/* Signals: the open list, one signal with its chart, and the decision (consent first). */
import { call } from "./api.js";
import { drawChart } from "./chart.js";
import * as tg from "./telegram.js";
import { $, date, el, fail, go, onLeave, show, t } from "./ui.js";

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
    onclick: () => go("signal", s.id) }, ...body));
}

async function list() {
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

async function detail(id) {
  const found = await call("GET", `/signals/${id}`);
  const s = found.signal;
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
  const drawn = drawChart(chart, found, labels());
  onLeave(() => drawn.remove());
  onLeave(tg.onTheme(() => drawn.retheme()));
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
    await detail(id);
  } catch (error) {
    fail(error);
  } finally {
    tg.mainButtonBusy(false);
  }
}

export const page = { name: "signals", tab: "miniapp.nav_signals", render: list };
export const signalPage = { name: "signal", render: detail };
