/* The user's own results against the strategy's over the last 30 days (GET /mystats), shown
 * on the Performance page at the top of "My executions" (performance.js redraws that section
 * when a fill arrives, so this follows it). */
import { call } from "./api.js";
import { el, number, state, t } from "./ui.js";

const signedR = (v) => `${v > 0.005 ? "+" : ""}${number(v, 2)} R`;

/** An amount in the account's currency; a code Intl does not know (USC) shows after it. */
function money(m) {
  const value = Number(m.profit);
  try {
    return value.toLocaleString(state.locale, { style: "currency", currency: m.currency });
  } catch {
    return `${number(value, 2)} ${m.currency}`.trim();
  }
}

export async function myStats() {
  const stats = await call("GET", "/mystats?period=30d");
  const r = stats.total;
  const box = el("div", { id: "perf-mystats", "data-taken": String(r.taken),
    "data-signals": String(r.signals) }, el("h3", {}, t("miniapp.mystats_title")));
  if (!r.signals) {
    box.append(el("p", { class: "muted" }, t("miniapp.mystats_none")));
    return box;
  }
  box.append(el("p", { id: "perf-mystats-summary" }, t("miniapp.mystats_summary", {
    taken: number(r.taken, 0), signals: number(r.signals, 0), mine: signedR(r.my_r),
    strategy: signedR(r.strategy_r), slippage: signedR(r.slippage_r) })));
  if (r.money.length) {
    box.append(el("p", { id: "perf-mystats-money" },
      t("miniapp.mystats_money", { money: r.money.map(money).join(", ") })));
  }
  if (r.median_spread_points !== null) {
    box.append(el("p", { id: "perf-mystats-spread" },
      t("miniapp.mystats_spread", { spread: number(r.median_spread_points, 1) })));
  }
  if (stats.brokers.length) {
    box.append(el("p", { id: "perf-mystats-brokers" },
      t("miniapp.mystats_brokers", { brokers: stats.brokers.join(", ") })));
  }
  return box;
}
