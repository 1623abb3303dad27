/* Home: the plan and its renewal, terminals online, open positions and today's P&L per
 * account currency, pending approvals. */
import { call } from "./api.js";
import { listen } from "./stream.js";
import { day, el, go, show, state, t } from "./ui.js";

/** `value` in `currency` for the user's locale (+ for a gain), or a plain number. */
function money(value, currency) {
  const options = { signDisplay: "exceptZero", minimumFractionDigits: 2, maximumFractionDigits: 2 };
  try {
    return Number(value).toLocaleString(state.locale, { ...options, style: "currency", currency });
  } catch {
    return `${Number(value).toLocaleString(state.locale, options)} ${currency}`;
  }
}

async function render() {
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
      el("p", {}, t("miniapp.home_terminals", { online: me.terminals_online, total: me.terminals_total })),
      ...me.today.map((d) => el("p", { class: "muted", "data-currency": d.currency },
        t("miniapp.home_positions", { count: d.open_positions }), " · ",
        el("span", { class: `result ${Number(d.total) > 0 ? "win" : Number(d.total) < 0 ? "loss" : ""}` },
          t("miniapp.home_today", { pnl: money(d.total, d.currency) }))))));
    cards.push(el("button", { type: "button", class: "card link", id: "home-pending", onclick: () => go("signals") },
      me.pending_approvals ? t("miniapp.home_pending", { count: me.pending_approvals }) : t("miniapp.home_no_pending")));
  }
  show(...cards);
  listen(["signal", "decision", "terminal", "positions", "access", "resync"], () => render());
}

export const page = { name: "home", tab: "miniapp.nav_home", render };
