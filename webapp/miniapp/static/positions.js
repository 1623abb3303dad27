/* Positions: per terminal, the account figures (balance, equity, margin, floating P&L), the
 * open positions with a confirmed Close, and the account's equity chart. Live: an EA report
 * (or a change of the terminal) makes the page fetch them again; no polling. */
import { call } from "./api.js";
import { accountFigures, live, money, seen } from "./terminals.js";
import { drawEquity } from "./terminals_chart.js";
import * as tg from "./telegram.js";
import { confirm, credit, date, el, fail, go, number, onLeave, show, t } from "./ui.js";

const side = (s) => t(s === "buy" ? "signal.side_buy" : "signal.side_sell");
const closing = new Set();  // "device:ticket" closes sent from this page, until the position goes

function positionRow(p, terminal, refresh) {
  const key = `${terminal.device_id}:${p.ticket}`;
  const profit = Number(p.profit);
  const origin = p.signal_id ? t("miniapp.positions_signal", { id: p.signal_id }) : p.orphan ? t("miniapp.positions_outside") : null;
  const sent = closing.has(key);
  const button = el("button", { type: "button", class: "danger small", "data-close": String(p.ticket), disabled: sent,
    "aria-label": t("miniapp.positions_close_label", { ticket: p.ticket }) }, t("miniapp.positions_close"));
  const status = el("span", { class: "muted close-status", "aria-live": "polite" }, sent ? t("miniapp.positions_closing") : "");
  button.addEventListener("click", async () => {
    tg.haptic("warning");
    const yes = await confirm(t("miniapp.positions_close_title", { ticket: p.ticket }),
      t("miniapp.positions_close_text", { symbol: p.symbol, side: side(p.side), volume: p.volume }),
      t("miniapp.positions_close_yes"), true);
    if (!yes) return;
    button.disabled = true;
    try {
      await call("POST", `/terminals/${terminal.device_id}/positions/${p.ticket}/close`);
      closing.add(key);
      status.textContent = t("miniapp.positions_closing");
      tg.haptic("success");
    } catch (error) {
      if (error.status === 409) { closing.add(key); status.textContent = error.message; return; }
      button.disabled = false;
      status.textContent = error.message;
      tg.haptic("error");
      if (error.status === 404) refresh();
    }
  });
  const none = t("miniapp.positions_none");
  return el("li", { class: "card position", "data-ticket": String(p.ticket) },
    el("div", { class: "row" },
      el("span", { class: "title" }, `${p.symbol} · ${side(p.side)}`),
      el("span", { class: "pnl", "data-sign": profit > 0 ? "up" : profit < 0 ? "down" : "" },
        terminal.account ? money(p.profit, terminal.account.currency) : number(p.profit))),
    el("span", { class: "muted" }, `#${p.ticket} · ${t("miniapp.positions_volume_at", { volume: p.volume, price: p.open_price })}`),
    el("span", { class: "muted" }, t("miniapp.positions_sl_tp", { sl: p.sl ?? none, tp: p.tp ?? none })),
    origin ? el("span", { class: "muted" }, origin) : null,
    el("div", { class: "row" }, status, button));
}

function picker(terminals, current) {
  if (terminals.length < 2) return null;
  const select = el("select", { id: "positions-terminal", name: "terminal", onchange: (e) => go("positions", e.target.value) },
    ...terminals.map((x) => el("option", { value: x.device_id, selected: x.device_id === current }, x.name)));
  return el("label", { for: "positions-terminal" }, el("span", {}, t("miniapp.positions_terminal")), select);
}

async function render(deviceId) {
  const terminals = (await call("GET", "/terminals")).items;
  if (!terminals.length) {
    show(el("p", { class: "muted", id: "positions-none" }, t("miniapp.positions_no_terminals")),
      el("button", { type: "button", class: "card link", onclick: () => go("terminals") }, t("miniapp.nav_terminals")));
    return;
  }
  const chosen = terminals.some((x) => x.device_id === deviceId) ? deviceId : terminals[0].device_id;
  const [found, curve] = await Promise.all([
    call("GET", `/terminals/${chosen}/positions`), call("GET", `/terminals/${chosen}/equity?days=7`)]);
  const head = el("div", {});
  const list = el("div", {});
  const chart = el("div", { class: "chart equity", id: "equity-chart", role: "img", "aria-label": t("miniapp.positions_equity_chart"),
    hidden: !curve.points.length });
  const empty = el("p", { class: "muted", id: "equity-empty" }, t("miniapp.positions_no_equity"));
  const fill = (data) => {
    const terminal = data.terminal;
    for (const key of [...closing]) {  // a close sent is done once the position is gone
      const [device, ticket] = key.split(":");
      if (device === terminal.device_id && !data.items.some((p) => String(p.ticket) === ticket)) closing.delete(key);
    }
    head.replaceChildren(el("section", { class: "card", id: "positions-account", "aria-live": "polite" },
      el("h2", {}, terminal.name),
      el("span", { class: "online", "data-online": String(terminal.online) }, seen(terminal)),
      terminal.account ? el("span", { class: "muted" }, t("miniapp.positions_updated", { when: date(terminal.account.at) })) : null,
      accountFigures(terminal.account)));
    list.replaceChildren(el("h2", { id: "positions-title" }, t("miniapp.positions_open_list")),
      data.items.length
        ? el("ul", { class: "list", id: "position-list", "aria-labelledby": "positions-title" }, ...data.items.map((p) => positionRow(p, terminal, refresh)))
        : el("p", { class: "muted", id: "position-list" }, t("miniapp.positions_empty")));
  };
  let drawn = null;
  const plot = (points) => {
    if (drawn) { drawn.update(points); return; }
    if (!points.length) return;
    empty.remove();
    chart.hidden = false;
    drawn = drawEquity(chart, points);
  };
  const refresh = async () => {
    try {
      const [data, next] = await Promise.all([
        call("GET", `/terminals/${chosen}/positions`), call("GET", `/terminals/${chosen}/equity?days=7`)]);
      fill(data);
      plot(next.points);
    } catch (error) {
      if (error.status === 404) go("positions"); else fail(error);
    }
  };
  fill(found);
  show(el("div", { class: "stack", id: "positions", "data-terminal": chosen }, picker(terminals, chosen), head,
    el("section", { class: "card", "aria-labelledby": "equity-title" }, el("h2", { id: "equity-title" }, t("miniapp.positions_equity")), chart,
      curve.points.length ? null : empty,
      credit()),
    list));
  plot(curve.points);
  onLeave(() => { if (drawn) drawn.remove(); });
  onLeave(tg.onTheme(() => { if (drawn) drawn.retheme(); }));
  if (deviceId) tg.backButton(() => go("terminal", chosen));
  live(["positions", "terminal"], found.terminal.live_key, refresh);
}

export const page = { name: "positions", tab: "miniapp.nav_positions", render };
