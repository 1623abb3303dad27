/* Admin (admins and the owner; the server refuses everyone else): users (search, one user's
 * role, ban and grants), signals (pause / resume per symbol, cancel), revenue (the owner's
 * /revenue figures with histograms) and the broadcast composer (preview, audience count, send
 * once per idempotency key). Sections are buttons inside the page; every destructive action
 * asks first. */
import { call } from "./api.js";
import { listen } from "./stream.js";
import * as tg from "./telegram.js";
import { confirm, credit, date, day, el, go, number, onLeave, show, state, t } from "./ui.js";

const SECTIONS = ["users", "signals", "revenue", "broadcast"];
const ROLES = ["public", "subscriber", "admin"];
const isOwner = () => state.me && state.me.role === "owner";

function sections(current) {
  const shown = SECTIONS.filter((s) => s !== "revenue" || isOwner());
  return el("nav", { class: "admin-sections", "aria-label": t("miniapp.admin_sections") },
    ...shown.map((name) => el("button", {
      type: "button", class: "admin-chip", id: `admin-${name}`, "aria-pressed": String(name === current),
      onclick: () => { tg.haptic("select"); go("admin", name); },
    }, t(`miniapp.admin_${name}`))));
}

function notice(text, error = false) {
  return el("p", { class: error ? "error" : "muted", role: error ? "alert" : "status", id: "admin-notice" }, text);
}

function say(text, error = false) {
  const old = document.getElementById("admin-notice");
  const node = notice(text, error);
  if (old) old.replaceWith(node);
  else document.getElementById("view").append(node);
  if (error) tg.haptic("error");
}

/** Run `action`; its error becomes the page's notice instead of replacing the page. */
async function attempt(action) {
  try { return await action(); } catch (error) { say(error.message, true); return null; }
}

// -- users ------------------------------------------------------------------------------------
function userRow(u) {
  const who = u.username ? `${u.name} · @${u.username}` : u.name;
  return el("li", {}, el("button", { type: "button", class: "card link", "data-user": String(u.telegram_id),
    onclick: () => go("admin", "user", u.telegram_id) },
    el("span", { class: "title" }, who),
    el("span", { class: "muted" }, `${u.telegram_id} · ${t(`miniapp.admin_role_${u.role}`)} · ${t(`miniapp.admin_status_${u.status}`)}`)));
}

async function users(query = "") {
  const input = el("input", { type: "search", id: "admin-q", name: "q", value: query, maxlength: "64",
    autocomplete: "off", "aria-label": t("miniapp.admin_search_label"), placeholder: t("miniapp.admin_search_label") });
  const list = el("ul", { class: "list", id: "admin-user-list", "aria-label": t("miniapp.admin_users") });
  const more = el("button", { type: "button", class: "admin-neutral admin-wide", id: "admin-more", hidden: true }, t("miniapp.admin_more"));
  let cursor = null;
  const load = async (reset) => {
    const params = new URLSearchParams({ q: input.value.trim(), limit: "20" });
    if (!reset && cursor) params.set("cursor", cursor);
    const page = await call("GET", `/admin/users?${params}`);
    if (reset) list.replaceChildren();
    list.append(...page.items.map(userRow));
    if (reset && !page.items.length) list.append(el("li", { class: "muted" }, t("miniapp.admin_no_users")));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.onclick = () => attempt(() => load(false));
  const form = el("form", { class: "admin-search", role: "search", onsubmit: (e) => { e.preventDefault(); attempt(() => load(true)); } },
    input, el("button", { type: "submit", class: "primary", id: "admin-search" }, t("miniapp.admin_search")));
  show(sections("users"), form, list, more);
  await load(true);
}

function fact(label, value) {
  return el("div", { class: "level" }, el("dt", {}, label), el("dd", {}, value));
}

function planText(access) {
  if (!access.plan) return t("miniapp.admin_user_free");
  const name = access.plan_name || access.plan;
  return access.ends_at ? t("miniapp.admin_user_until", { plan: name, date: day(access.ends_at) }) : name;
}

async function grantForm(u) {
  const plans = (await call("GET", "/admin/plans")).items;
  const plan = el("select", { id: "grant-plan", name: "plan" }, ...plans.map((p) => el("option", { value: p.code }, p.name)));
  const days = el("input", { id: "grant-days", name: "days", type: "number", min: "1", max: "3660", value: "30", inputmode: "numeric", required: true });
  const submit = async (event) => {
    event.preventDefault();
    const name = plan.selectedOptions[0] ? plan.selectedOptions[0].textContent : plan.value;
    const ok = await confirm(t("miniapp.admin_grant_confirm_title", { plan: name, days: days.value }),
      t("miniapp.admin_grant_confirm", { name: u.name }), t("miniapp.admin_grant_button"));
    if (!ok) return;
    const done = await attempt(() => call("POST", `/admin/users/${u.telegram_id}/grant`, { plan: plan.value, days: Number(days.value) }));
    if (done) {
      tg.haptic("success");
      await user(u.telegram_id, t("miniapp.admin_granted", { plan: done.user.access.plan_name || done.plan, date: day(done.ends_at) }));
    }
  };
  return el("form", { class: "card admin-grant", id: "admin-grant", onsubmit: submit },
    el("h2", { class: "admin-heading" }, t("miniapp.admin_grant")),
    el("label", {}, t("miniapp.admin_grant_plan"), plan),
    el("label", {}, t("miniapp.admin_grant_days"), days),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary" }, t("miniapp.admin_grant_button"))));
}

async function change(u, path, body, title, text, yes, danger) {
  if (!(await confirm(title, text, yes, danger))) return;
  const done = await attempt(() => call("PATCH", `/admin/users/${u.telegram_id}/${path}`, body));
  if (done) { tg.haptic("success"); await user(u.telegram_id, t("miniapp.admin_done")); }
}

function roleButtons(u) {
  if (!isOwner() || u.role === "owner") return el("p", { class: "muted" }, t("miniapp.admin_role_owner_only"));
  return el("div", { class: "actions admin-roles" }, ...ROLES.filter((r) => r !== u.role).map((r) => {
    const role = t(`miniapp.admin_role_${r}`);
    return el("button", { type: "button", class: "admin-neutral", "data-role": r,
      onclick: () => change(u, "role", { role: r }, t("miniapp.admin_role_confirm_title"),
        t("miniapp.admin_role_confirm", { name: u.name, role }), t("miniapp.admin_change_role", { role })) },
    t("miniapp.admin_change_role", { role }));
  }));
}

function banButton(u) {
  if (u.role === "owner" || u.telegram_id === state.me.telegram_id) return null;
  const banned = u.status === "banned";
  const key = banned ? "unban" : "ban";
  return el("button", { type: "button", class: banned ? "admin-neutral" : "danger", id: "admin-ban",
    onclick: () => change(u, "ban", { banned: !banned }, t(`miniapp.admin_${key}_confirm_title`, { name: u.name }),
      t(`miniapp.admin_${key}_confirm`), t(`miniapp.admin_${key}`), !banned) },
  t(`miniapp.admin_${key}`));
}

async function user(id, message) {
  const u = await call("GET", `/admin/users/${id}`);
  const who = u.username ? `${u.name} · @${u.username}` : u.name;
  const nodes = [
    sections("users"),
    el("h1", { id: "admin-user" }, who),
    el("dl", { class: "levels" },
      fact(t("miniapp.admin_user_id"), String(u.telegram_id)),
      fact(t("miniapp.admin_user_role"), t(`miniapp.admin_role_${u.role}`)),
      fact(t("miniapp.admin_user_status"), t(`miniapp.admin_status_${u.status}`)),
      fact(t("miniapp.admin_user_plan"), planText(u.access)),
      fact(t("miniapp.admin_user_terminals"), String(u.terminals)),
      fact(t("miniapp.admin_user_since"), day(u.created_at))),
    roleButtons(u),
  ];
  const ban = banButton(u);
  if (ban) nodes.push(el("div", { class: "actions" }, ban));
  nodes.push(await grantForm(u));
  if (message) nodes.push(notice(message));
  show(...nodes);
  tg.backButton(() => go("admin", "users"));
}

// -- signals ----------------------------------------------------------------------------------
function symbolRow(s) {
  const state_ = t(s.paused ? "miniapp.admin_symbol_paused" : "miniapp.admin_symbol_running");
  const label = t(s.paused ? "miniapp.admin_resume" : "miniapp.admin_pause", { symbol: s.symbol });
  return el("li", { class: "card admin-row", "data-symbol": s.symbol },
    el("span", {}, el("span", { class: "title" }, s.symbol), " ",
      el("span", { class: "muted" }, t("miniapp.admin_symbol_line", { state: state_, count: s.open_signals }))),
    el("button", { type: "button", class: s.paused ? "primary" : "admin-neutral",
      onclick: async () => {
        const done = await attempt(() => call("PATCH", `/admin/symbols/${s.symbol}`, { paused: !s.paused }));
        if (done) { tg.haptic(done.symbol.paused ? "warning" : "success"); await signals(); }
      } }, label));
}

function openSignalRow(s) {
  const side = t(s.side === "buy" ? "signal.side_buy" : "signal.side_sell");
  return el("li", { class: "card admin-row", "data-signal": String(s.id) },
    el("span", {}, el("span", { class: "title" }, `#${s.id} ${s.symbol} · ${side}`), " ",
      el("span", { class: "muted" }, `${t(`signal.status_${s.status}`)} · ${date(s.published_at)}`)),
    el("button", { type: "button", class: "danger",
      onclick: async () => {
        const ok = await confirm(t("miniapp.admin_cancel_confirm_title", { id: s.id }), t("miniapp.admin_cancel_confirm"),
          t("miniapp.admin_cancel", { id: s.id }), true);
        if (!ok) return;
        const done = await attempt(() => call("POST", `/admin/signals/${s.id}/cancel`));
        if (done) {
          tg.haptic("warning");
          await signals(t("miniapp.admin_cancelled", { id: done.id, status: t(`signal.status_${done.status}`) }));
        }
      } }, t("miniapp.admin_cancel", { id: s.id })));
}

async function signals(message) {
  const [symbols, open] = await Promise.all([call("GET", "/admin/symbols"), call("GET", "/admin/signals")]);
  const nodes = [sections("signals"),
    el("h2", { class: "admin-heading" }, t("miniapp.admin_symbols")),
    el("ul", { class: "list", id: "admin-symbols" }, ...symbols.items.map(symbolRow)),
    el("h2", { class: "admin-heading" }, t("miniapp.admin_open_signals")),
    open.items.length ? el("ul", { class: "list", id: "admin-open" }, ...open.items.map(openSignalRow))
      : el("p", { class: "muted" }, t("miniapp.admin_no_signals"))];
  if (message) nodes.push(notice(message));
  show(...nodes);
  listen(["signal"], () => signals());  // a signal opened, filled, cancelled: the list follows
}

// -- revenue ----------------------------------------------------------------------------------
const css = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function histogram(node, points) {
  const LW = window.LightweightCharts;
  if (!LW || !points.length) return null;
  const colors = () => ({ bg: css("--bg", "#ffffff"), text: css("--text", "#1f2328"), grid: css("--grid", "#e6e9ee"), bar: css("--button", "#2481cc") });
  const c = colors();
  const money = (cents) => new Intl.NumberFormat(state.locale, { style: "currency", currency: "USD" }).format(cents);
  const chart = LW.createChart(node, {
    autoSize: true,
    layout: { background: { color: c.bg }, textColor: c.text, attributionLogo: false },
    grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
    localization: { locale: state.locale, priceFormatter: money },
    timeScale: { timeVisible: false },
  });
  const series = chart.addSeries(LW.HistogramSeries, { color: c.bar, priceFormat: { type: "custom", formatter: money } });
  series.setData(points.map((p) => ({ time: p.time, value: p.mrr_cents / 100 })));
  chart.timeScale().fitContent();
  const stop = tg.onTheme(() => {
    const n = colors();
    chart.applyOptions({ layout: { background: { color: n.bg }, textColor: n.text }, grid: { vertLines: { color: n.grid }, horzLines: { color: n.grid } } });
    series.applyOptions({ color: n.bar });
  });
  return () => { stop(); chart.remove(); };
}

async function revenue() {
  if (!isOwner()) { show(sections("revenue"), notice(t("miniapp.admin_revenue_owner_only"))); return; }
  const r = await call("GET", "/admin/revenue");
  const f = r.formatted;
  const plans = r.by_plan.length
    ? el("ul", { class: "list admin-plans" }, ...r.by_plan.map((p) => el("li", {}, `${p.plan_name}: ${number(p.subscribers, 0)}`)))
    : el("p", { class: "muted" }, t("miniapp.admin_no_subscribers"));
  const daily = el("div", { class: "chart admin-chart", id: "revenue-daily", role: "img", "aria-label": t("miniapp.admin_daily") });
  const monthly = el("div", { class: "chart admin-chart", id: "revenue-monthly", role: "img", "aria-label": t("miniapp.admin_monthly") });
  show(sections("revenue"),
    el("p", { class: "muted" }, t("miniapp.admin_month", { date: day(r.month_start) })),
    el("dl", { class: "levels", id: "revenue-figures" },
      fact(t("miniapp.admin_mrr"), f.mrr_cents),
      fact(t("miniapp.admin_subscribers"), number(r.subscribers, 0)),
      fact(t("miniapp.admin_arpu"), f.arpu_cents),
      fact(t("miniapp.admin_new"), number(r.new_this_month, 0)),
      fact(t("miniapp.admin_churned"), number(r.churned_this_month, 0)),
      fact(t("miniapp.admin_stars"), t("miniapp.admin_stars_xtr", { amount: f.stars_revenue_cents, stars: number(r.stars_received, 0) })),
      fact(t("miniapp.admin_card"), f.card_revenue_cents),
      fact(t("miniapp.admin_refunds"), t("miniapp.admin_refunds_line", { count: number(r.refunds, 0), amount: f.refunded_cents })),
      fact(t("miniapp.admin_owed"), f.commissions_owed_cents)),
    el("p", {}, t("miniapp.admin_trials", { started: number(r.trials_started, 0), running: number(r.trials_running, 0),
      converted: number(r.trials_converted, 0), pct: number(r.conversion_pct, 1) })),
    el("h2", { class: "admin-heading" }, t("miniapp.admin_by_plan")), plans,
    el("h2", { class: "admin-heading" }, t("miniapp.admin_daily")), daily,
    el("h2", { class: "admin-heading" }, t("miniapp.admin_monthly")), monthly,
    credit());
  for (const remove of [histogram(daily, r.daily), histogram(monthly, r.monthly)]) if (remove) onLeave(remove);
}

// -- broadcast --------------------------------------------------------------------------------
function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function broadcast() {
  const plans = (await call("GET", "/admin/plans")).items;
  const audience = el("select", { id: "bc-audience", name: "audience" },
    ...["all", "paid", "free", "plan"].map((a) => el("option", { value: a }, t(`miniapp.admin_audience_${a}`))));
  const plan = el("select", { id: "bc-plan", name: "plan", "aria-label": t("miniapp.admin_audience_plan") },
    ...plans.map((p) => el("option", { value: p.code }, p.name)));
  const planLabel = el("label", { hidden: true }, t("miniapp.admin_audience_plan"), plan);
  const text = el("textarea", { id: "bc-text", name: "text", rows: "5", maxlength: "4000", required: true });
  const count = el("p", { class: "muted", id: "bc-count", "aria-live": "polite" });
  const preview = el("section", { class: "card", id: "bc-preview", hidden: true, "aria-label": t("miniapp.admin_preview_title") });
  const sendButton = el("button", { type: "button", class: "primary", id: "bc-send", disabled: true }, t("miniapp.admin_send"));
  const hosted = Boolean(tg.webApp());
  let key = null;  // one per composed message: a double tap or a retry sends nothing twice
  let recipients = 0;
  let busy = false;

  const target = () => (audience.value === "plan" ? { audience: "plan", plan: plan.value } : { audience: audience.value });
  const recount = async () => {
    planLabel.hidden = audience.value !== "plan";
    const params = new URLSearchParams(target());
    const found = await attempt(() => call("GET", `/admin/broadcast/audience?${params}`));
    if (found) count.textContent = t("miniapp.admin_recipients", { count: number(found.recipients, 0) });
  };
  const stale = () => {  // the text or audience changed: preview again before sending
    key = null; preview.hidden = true; sendButton.disabled = true; tg.mainButton(null);
  };
  const send = async () => {
    if (busy || !key) return;
    const ok = await confirm(t("miniapp.admin_send_confirm_title"), t("miniapp.admin_send_confirm", { count: number(recipients, 0) }),
      t("miniapp.admin_send"), true);
    if (!ok) return;
    busy = true; sendButton.disabled = true; tg.mainButtonBusy(true);
    try {
      const sent = await call("POST", "/admin/broadcast", { ...target(), text: text.value, idempotency_key: key });
      tg.haptic("success");
      say(sent.repeated ? t("miniapp.admin_sent_repeat", { count: number(sent.recipients, 0) })
        : t("miniapp.admin_sent", { count: number(sent.queued, 0) }));
      text.value = ""; stale();
    } catch (error) {
      sendButton.disabled = false;  // same key: trying again cannot send twice
      say(error.message, true);
    } finally { busy = false; tg.mainButtonBusy(false); }
  };
  const showPreview = async (event) => {
    event.preventDefault();
    const body = { ...target(), text: text.value };
    const found = await attempt(() => call("POST", "/admin/broadcast/preview", body));
    if (!found) return;
    recipients = found.recipients;
    key = key || newKey();
    preview.replaceChildren(el("h2", { class: "admin-heading" }, t("miniapp.admin_preview_title")),
      el("div", { class: "admin-bubble", id: "bc-bubble" }, found.text));
    preview.hidden = false;
    count.textContent = t("miniapp.admin_recipients", { count: number(found.recipients, 0) });
    sendButton.disabled = found.recipients === 0;
    if (hosted && found.recipients) tg.mainButton(t("miniapp.admin_send"), send);
  };
  audience.onchange = () => { stale(); recount(); };
  plan.onchange = () => { stale(); recount(); };
  text.oninput = stale;
  sendButton.onclick = send;
  const form = el("form", { class: "admin-broadcast", id: "bc-form", onsubmit: showPreview },
    el("label", {}, t("miniapp.admin_audience"), audience), planLabel,
    el("label", {}, t("miniapp.admin_text"), text), count,
    el("div", { class: "actions" }, el("button", { type: "submit", class: "admin-neutral", id: "bc-preview-button" }, t("miniapp.admin_preview")),
      hosted ? null : sendButton));
  show(sections("broadcast"), form, preview);
  onLeave(() => tg.mainButton(null));
  await recount();
}

async function render(section = "users", arg) {
  if (section === "user") return user(arg);
  if (section === "signals") return signals();
  if (section === "revenue") return revenue();
  if (section === "broadcast") return broadcast();
  return users(typeof arg === "string" ? arg : "");
}

export const page = { name: "admin", tab: "miniapp.nav_admin", admin: true, render };
