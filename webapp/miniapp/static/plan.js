/* Plan: the user's plan and renewal, the plans to buy, cancel / renew again / switch at renewal.
 * Buying is Telegram Stars only: the server makes the invoice link, Telegram.WebApp.openInvoice
 * shows it. What the page then says comes from our server's state (GET /plan, again on each
 * LiveUpdate "access" the bot's successful_payment causes), never from invoiceClosed's status. */
import { call } from "./api.js";
import { listen } from "./stream.js";
import * as tg from "./telegram.js";
import { confirm, day, el, fail, show, state, t } from "./ui.js";

// A purchase waiting for the server to record it: the state before it, to see it change.
let pending = null;
let note = null;  // {key, values} or {error} shown above the plans until the page is left

const signature = (c) => `${c.plan}|${c.ends_at}|${c.renews}|${c.in_grace}`;
const stars = (n) => Number(n).toLocaleString(state.locale);

function renewal(c) {
  if (c.complimentary || !c.ends_at) return t("miniapp.plan_complimentary");
  if (c.in_grace) return t("miniapp.plan_grace", { date: day(c.ends_at) });
  return t(c.renews ? "miniapp.plan_renews" : "miniapp.plan_ends", { date: day(c.ends_at) });
}

function currentCard(p) {
  const c = p.current;
  const nodes = c.plan
    ? [el("h2", {}, t("miniapp.plan_current", { plan: c.plan_name || c.plan })),
       el("p", { class: "muted", id: "plan-renewal" }, renewal(c))]
    : [el("h2", {}, t("miniapp.plan_current", { plan: t("miniapp.plan_free_name") })),
       el("p", { class: "muted" }, t("miniapp.plan_free"))];
  if (p.scheduled) {
    nodes.push(el("p", { id: "plan-scheduled" },
      t("miniapp.plan_scheduled", { plan: p.scheduled.plan_name, date: day(p.scheduled.effective_at) })));
  }
  const actions = [];
  if (p.can_cancel) {
    actions.push(el("button", { type: "button", class: "secondary", id: "plan-cancel",
      onclick: () => cancel(c) }, t("miniapp.plan_cancel")));
  }
  if (p.can_reenable) {
    actions.push(el("button", { type: "button", class: "primary", id: "plan-reenable",
      onclick: () => change("/plan/reenable") }, t("miniapp.plan_reenable")));
  }
  if (actions.length) nodes.push(el("div", { class: "actions" }, ...actions));
  return el("section", { class: "card", id: "plan-current", "data-plan": c.plan || "" }, ...nodes);
}

function offerCard(o, p) {
  const features = o.features.map((f) => f.name).join(" · ");
  const body = [
    el("h3", {}, o.name),
    el("p", { class: "plan-price" }, t("miniapp.plan_price", { stars: stars(o.stars_30) })),
    el("p", { class: "muted" }, features),
    el("p", { class: "muted" }, t("miniapp.plan_terminals", { count: o.terminal_limit })),
  ];
  let actions;
  if (o.action === "current") {
    actions = [el("span", { class: "plan-badge" }, t("miniapp.plan_is_current"))];
  } else if (o.action === "downgrade") {
    actions = [el("button", { type: "button", class: "primary", onclick: () => downgrade(o, p) },
      t("miniapp.plan_downgrade"))];
  } else {
    const first = t(o.action === "upgrade" ? "miniapp.plan_upgrade" : "miniapp.plan_subscribe", { stars: stars(o.stars_30) });
    actions = [
      el("button", { type: "button", class: "primary", "data-kind": "subscription",
        onclick: () => buy(o.code, "subscription", p) }, first),
      el("button", { type: "button", class: "plain", "data-kind": "once_30",
        onclick: () => buy(o.code, "once_30", p) }, t("miniapp.plan_once", { days: 30, stars: stars(o.stars_30) })),
      el("button", { type: "button", class: "plain", "data-kind": "once_90",
        onclick: () => buy(o.code, "once_90", p) }, t("miniapp.plan_once", { days: 90, stars: stars(o.stars_90) })),
    ];
  }
  return el("li", { class: "card plan-offer", "data-plan": o.code, "data-action": o.action },
    ...body, el("div", { class: "actions wrap" }, ...actions));
}

function status() {
  if (note && note.error) return el("p", { id: "plan-status", class: "error", role: "alert" }, note.error);
  const text = note ? t(note.key, note.values) : "";
  return el("p", { id: "plan-status", role: "status", "aria-live": "polite", class: note ? "plan-note" : "plan-note empty" }, text);
}

/** Draw the page from the server's answer; a purchase is told once the state shows it. */
function draw(p) {
  if (pending && signature(p.current) !== pending) {
    pending = null;
    note = { key: "miniapp.plan_paid", values: { plan: p.current.plan_name || p.current.plan || "" } };
    tg.haptic("success");
  }
  const offers = p.offers.length
    ? el("ul", { class: "list", id: "plan-offers", "aria-label": t("miniapp.plan_offers") }, ...p.offers.map((o) => offerCard(o, p)))
    : el("p", { class: "muted" }, t("miniapp.plan_none"));
  show(currentCard(p), status(), el("h2", { class: "plan-heading" }, t("miniapp.plan_offers")), offers,
    el("p", { class: "muted" }, t("miniapp.plan_stars_only")));
  const primary = !p.current.plan && p.offers.find((o) => o.action === "buy");
  if (primary) {
    tg.mainButton(t("miniapp.plan_subscribe", { stars: stars(primary.stars_30) }),
      () => buy(primary.code, "subscription", p));
  } else tg.mainButton(null);
  listen(["access", "resync"], () => refresh());
}

async function refresh() {
  draw(await call("GET", "/plan"));
}

async function buy(code, kind, p) {
  try {
    const invoice = await call("POST", "/plan/checkout", { plan: code, kind });
    const app = tg.webApp();
    pending = signature(p.current);
    app.openInvoice(invoice.url, (closed) => {
      // Telegram's word on the sheet only says whether to wait: the plan shown is ours.
      if (closed === "paid" && pending) note = { key: "miniapp.plan_paying", values: {} };
      else if (closed !== "paid") pending = null;
      refresh().catch(fail);
    });
  } catch (error) {
    pending = null;
    oops(error);
  }
}

/** An API refusal (not sold, a downgrade instead, ...) shown above the page as it is now. */
function oops(error) {
  tg.haptic("error");
  note = { error: error.message };
  refresh().catch(fail);
}

async function change(path, body) {
  try {
    note = null;
    draw(await call("POST", path, body));
    tg.haptic("success");
  } catch (error) {
    oops(error);
  }
}

async function cancel(c) {
  const yes = await confirm(t("miniapp.plan_cancel_title"),
    t("miniapp.plan_cancel_confirm", { plan: c.plan_name || c.plan, date: day(c.ends_at) }),
    t("miniapp.plan_confirm"), true);
  if (yes) await change("/plan/cancel");
}

async function downgrade(o, p) {
  const yes = await confirm(t("miniapp.plan_downgrade_title"),
    t("miniapp.plan_downgrade_confirm", { plan: o.name, date: day(p.current.ends_at) }),
    t("miniapp.plan_confirm"));
  if (yes) await change("/plan/downgrade", { plan: o.code });
}

async function render() {
  note = null;
  await refresh();
}

export const page = { name: "plan", tab: "miniapp.nav_plan", render };
