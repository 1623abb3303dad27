/* Home: the plan and its renewal, terminals online, pending approvals. */
import { call } from "./api.js";
import { listen } from "./stream.js";
import { day, el, go, show, state, t } from "./ui.js";

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
      el("p", {}, t("miniapp.home_terminals", { online: me.terminals_online, total: me.terminals_total }))));
    cards.push(el("button", { type: "button", class: "card link", id: "home-pending", onclick: () => go("signals") },
      me.pending_approvals ? t("miniapp.home_pending", { count: me.pending_approvals }) : t("miniapp.home_no_pending")));
  }
  show(...cards);
  listen(["signal", "decision", "terminal", "positions", "access", "resync"], () => render());
}

export const page = { name: "home", tab: "miniapp.nav_home", render };
