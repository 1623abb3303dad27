/* Performance: the strategy's track record from closed signals (figures, equity and drawdown
 * curves, a monthly heatmap), the user's own fills with slippage and latency, and the CSV / PNG
 * exports. Updates when a signal closes or a fill arrives (stream.js; no polling). */
import { call, download } from "./api.js";
import { myStats } from "./mystats.js";
import { listen } from "./stream.js";
import * as tg from "./telegram.js";
import { credit, date, el, fail, number, onLeave, show, state, t } from "./ui.js";

const css = (name, fallback) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
const colors = () => ({ bg: css("--bg", "#ffffff"), text: css("--text", "#1f2328"),
  grid: css("--grid", "#e6e9ee"), equity: css("--link", "#2481cc"), drawdown: "#e53935" });

const undefinedText = () => t("miniapp.performance_undefined");
const fixed = (v, digits = 2) => (v === null || v === undefined ? undefinedText() : number(v, digits));
const signedR = (v) => (v === null || v === undefined ? undefinedText() : `${v > 0 ? "+" : ""}${number(v, 2)} R`);
/** Milliseconds as seconds in the reader's locale ("1.5 sec", "1,5 s", "1,5 с"). */
const seconds = (ms) => (ms / 1000).toLocaleString(state.locale,
  { style: "unit", unit: "second", unitDisplay: "short", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const percent = (v) => (v === null || v === undefined ? undefinedText()
  : (v / 100).toLocaleString(state.locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }));

function figure(key, label, value, text) {
  return el("div", { class: "figure" }, el("dt", {}, label),
    el("dd", { "data-figure": key, "data-value": value === null ? "" : String(value) }, text));
}

function figures(f) {
  return el("dl", { class: "figures", id: "perf-figures" },
    figure("signals", t("miniapp.performance_signals"), f.signals,
      `${f.signals} · ${t("miniapp.performance_wins_losses", { wins: f.wins, losses: f.losses })}`),
    figure("total_r", t("miniapp.performance_total_r"), f.total_r, signedR(f.total_r)),
    figure("average_r", t("miniapp.performance_average_r"), f.average_r, signedR(f.average_r)),
    figure("win_rate_pct", t("miniapp.performance_win_rate"), f.win_rate_pct, percent(f.win_rate_pct)),
    figure("profit_factor", t("miniapp.performance_profit_factor"), f.profit_factor, fixed(f.profit_factor)),
    figure("max_drawdown_r", t("miniapp.performance_max_drawdown"), f.max_drawdown_r,
      f.max_drawdown_r === null ? undefinedText() : `${number(f.max_drawdown_r, 2)} R`),
    figure("annual_r", t("miniapp.performance_annual_r"), f.annual_r, signedR(f.annual_r)),
    figure("sharpe", t("miniapp.performance_sharpe"), f.sharpe, fixed(f.sharpe)),
    figure("sortino", t("miniapp.performance_sortino"), f.sortino, fixed(f.sortino)),
    figure("calmar", t("miniapp.performance_calmar"), f.calmar, fixed(f.calmar)));
}

/** One value per close time (lightweight-charts wants strictly ascending times: signals that
 * closed in the same second show the value after the last of them), from 0 R at the start. */
function series(closed, key, sign = 1) {
  const first = closed[0];
  const start = Math.min(Date.parse(first.published_at) / 1000, Date.parse(first.closed_at) / 1000 - 1);
  const points = [{ time: Math.floor(start), value: 0 }];
  for (const c of closed) {
    const time = Math.floor(Date.parse(c.closed_at) / 1000);
    const value = sign * c[key];
    if (time <= points[points.length - 1].time) points[points.length - 1].value = value;
    else points.push({ time, value });
  }
  return points;
}

function drawCurves(equityNode, drawdownNode, closed) {
  const LW = window.LightweightCharts;
  if (!LW) return null;
  const c = colors();  // read again on every theme change
  const options = () => ({
    autoSize: true,
    // the logo injects an inline <style> (refused by our CSP): the page credits TradingView in text
    layout: { background: { color: colors().bg }, textColor: colors().text, attributionLogo: false },
    grid: { vertLines: { color: colors().grid }, horzLines: { color: colors().grid } },
    timeScale: { timeVisible: false },
    localization: { priceFormatter: (p) => `${number(p, 2)} R`, locale: state.locale },
    handleScroll: false, handleScale: false,
  });
  const equity = LW.createChart(equityNode, options());
  const line = equity.addSeries(LW.LineSeries, { color: c.equity, lineWidth: 2, lineType: 1 });  // stepped
  line.setData(series(closed, "equity_r"));
  const drawdown = LW.createChart(drawdownNode, options());
  const area = drawdown.addSeries(LW.AreaSeries, { lineColor: c.drawdown, topColor: "rgba(229, 57, 53, 0.05)",
    bottomColor: "rgba(229, 57, 53, 0.45)", lineWidth: 1, lineType: 1, invertFilledArea: true });
  area.setData(series(closed, "drawdown_r", -1));
  for (const chart of [equity, drawdown]) chart.timeScale().fitContent();
  return {
    retheme() {
      for (const chart of [equity, drawdown]) chart.applyOptions(options());
      line.applyOptions({ color: colors().equity });
    },
    remove() { equity.remove(); drawdown.remove(); },
  };
}

const monthName = (month) => new Date(Date.UTC(2000, month - 1, 1)).toLocaleString(state.locale, { month: "short", timeZone: "UTC" });
const monthLong = (year, month) => new Date(Date.UTC(year, month - 1, 1)).toLocaleString(state.locale, { month: "long", year: "numeric", timeZone: "UTC" });

/** The colour class of a month: five steps of green (gains) or red (losses), by |R| against
 * the largest month; a month without a closed signal is neutral. */
function heat(m, scale) {
  if (!m || m.signals === 0) return "heat none";
  if (m.r === 0) return "heat zero";
  const step = Math.min(5, Math.max(1, Math.ceil((Math.abs(m.r) / scale) * 5)));
  return `heat ${m.r > 0 ? "pos" : "neg"}-${step}`;
}

function heatmap(months) {
  const years = [...new Set(months.map((m) => m.year))];
  const byKey = new Map(months.map((m) => [`${m.year}-${m.month}`, m]));
  const scale = Math.max(...months.map((m) => Math.abs(m.r)), 1e-9);
  const head = el("tr", {}, el("th", { scope: "col" }, t("miniapp.performance_year")),
    ...Array.from({ length: 12 }, (_, i) => el("th", { scope: "col", abbr: monthLong(2000, i + 1).split(" ")[0] }, monthName(i + 1))),
    el("th", { scope: "col" }, t("miniapp.performance_year_total")));
  const rows = years.map((year) => {
    const cells = Array.from({ length: 12 }, (_, i) => {
      const m = byKey.get(`${year}-${i + 1}`);
      if (!m) return el("td", { class: "heat none" });
      const label = t("miniapp.performance_month_cell", { month: monthLong(year, i + 1), r: signedR(m.r).replace(/ R$/, ""), count: m.signals });
      return el("td", { class: heat(m, scale), "data-month": `${year}-${String(i + 1).padStart(2, "0")}`,
        "data-r": String(m.r), "aria-label": label, title: label }, m.signals ? number(m.r, 1) : "·");
    });
    const total = months.filter((m) => m.year === year).reduce((sum, m) => sum + m.r, 0);
    return el("tr", {}, el("th", { scope: "row" }, String(year)), ...cells,
      el("td", { class: "heat-total", "data-year-total": String(year) }, number(total, 1)));
  });
  return el("div", { class: "heatmap-wrap" },
    el("table", { class: "heatmap", id: "perf-months" },
      el("caption", { class: "sr-only" }, t("miniapp.performance_months_caption")),
      el("thead", {}, head), el("tbody", {}, ...rows)),
    el("p", { class: "muted note", "aria-hidden": "true" }, t("miniapp.performance_months_caption")));
}

function executionRow(e) {
  const side = t(e.side === "buy" ? "signal.side_buy" : "signal.side_sell");
  const slip = e.slippage_points === null ? undefinedText()
    : `${number(e.slippage_points, 1)} · ${e.slippage_r === null ? undefinedText() : signedR(e.slippage_r)}`;
  const latency = e.latency_ms === null ? undefinedText() : seconds(e.latency_ms);
  return el("tr", { "data-execution": String(e.id) },
    el("th", { scope: "row" }, `${e.signal_id ? `#${e.signal_id} ` : ""}${e.symbol} · ${side}`,
      el("span", { class: "muted when" }, date(e.filled_at))),
    el("td", {}, e.terminal),
    el("td", {}, e.fill_price, el("span", { class: "muted when" }, e.signal_entry ?? undefinedText())),
    el("td", { "data-slippage": e.slippage_points === null ? "" : String(e.slippage_points) }, slip),
    el("td", { "data-latency": e.latency_ms === null ? "" : String(e.latency_ms) }, latency));
}

async function executions() {
  const section = el("section", { class: "card", id: "perf-mine", "aria-labelledby": "perf-mine-title" },
    el("h2", { id: "perf-mine-title" }, t("miniapp.performance_mine")));
  if (!(state.me && state.me.access.features.includes("approvals"))) {
    section.append(el("p", { class: "muted" }, t("miniapp.performance_mine_upgrade")));
    return section;
  }
  section.append(await myStats());
  const mine = await call("GET", "/performance/mine?limit=50");
  if (!mine.items.length) {
    section.append(el("p", { class: "muted" }, t("miniapp.performance_mine_empty")));
    return section;
  }
  section.append(
    el("p", { id: "perf-median-slippage" }, t("miniapp.performance_median_slippage", {
      points: fixed(mine.median_slippage_points, 1), r: fixed(mine.median_slippage_r, 3) })),
    el("p", { id: "perf-median-latency" }, t("miniapp.performance_median_latency", {
      latency: mine.median_latency_ms === null ? undefinedText() : seconds(mine.median_latency_ms) })),
    el("div", { class: "table-wrap" }, el("table", { class: "executions" },
      el("caption", { class: "sr-only" }, t("miniapp.performance_mine")),
      el("thead", {}, el("tr", {}, ...["signal", "terminal", "fill", "slippage", "latency"].map((k) =>
        el("th", { scope: "col" }, t(`miniapp.performance_col_${k}`))))),
      el("tbody", {}, ...mine.items.map(executionRow)))));
  return section;
}

async function save(path, status) {
  try {
    const { blob, filename } = await download(path);
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: filename, class: "sr-only" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = t("miniapp.performance_exported", { name: filename });
    tg.haptic("success");
  } catch (error) {
    fail(error);
  }
}

/** Live: a signal's change (one may have closed) reloads the record and redraws the page only
 * if it differs; a fill (positions) or a resync redraws the user's executions. */
function live(record) {
  listen(["signal"], async () => {
    const fresh = await call("GET", "/performance");
    if (JSON.stringify(fresh) !== JSON.stringify(record)) await draw(fresh);
  });
  listen(["positions"], async (kind) => {
    const old = document.getElementById("perf-mine");
    if (old) old.replaceWith(await executions());
    if (kind === "resync") {
      const fresh = await call("GET", "/performance");
      if (JSON.stringify(fresh) !== JSON.stringify(record)) await draw(fresh);
    }
  });
}

async function draw(record) {
  const f = record.figures;
  const status = el("p", { class: "muted", id: "perf-export-status", role: "status" });
  const nodes = [
    el("h1", {}, t("miniapp.performance_title")),
    el("p", { class: "muted" }, t("miniapp.performance_intro")),
  ];
  const empty = record.closed.length === 0;
  if (empty) nodes.push(el("p", { class: "card", id: "perf-empty" }, t("miniapp.performance_empty")));
  nodes.push(figures(f), el("p", { class: "muted note" }, t("miniapp.performance_ratios_note")));
  let equityNode = null;
  let drawdownNode = null;
  if (!empty) {
    equityNode = el("div", { class: "chart perf-chart", id: "perf-equity", role: "img",
      "aria-label": t("miniapp.performance_equity_chart", { total: number(f.total_r, 2) }) });
    drawdownNode = el("div", { class: "chart perf-drawdown", id: "perf-drawdown", role: "img",
      "aria-label": t("miniapp.performance_drawdown_chart", { max: number(f.max_drawdown_r ?? 0, 2) }) });
    nodes.push(
      el("h2", {}, t("miniapp.performance_equity")), equityNode,
      el("h2", {}, t("miniapp.performance_drawdown")), drawdownNode,
      credit(),
      el("h2", { id: "perf-months-title" }, t("miniapp.performance_months")), heatmap(record.months));
  }
  nodes.push(
    el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary export", id: "perf-csv", onclick: () => save("/performance.csv", status) }, t("miniapp.performance_export_csv")),
      el("button", { type: "button", class: "secondary export", id: "perf-png", onclick: () => save("/performance.png", status) }, t("miniapp.performance_export_png"))),
    status,
    await executions());
  show(...nodes);
  if (!empty) {
    const drawn = drawCurves(equityNode, drawdownNode, record.closed);
    if (drawn) { onLeave(() => drawn.remove()); onLeave(tg.onTheme(() => drawn.retheme())); }
  }
  live(record);
}

async function render() {
  await draw(await call("GET", "/performance"));
}

export const page = { name: "performance", tab: "miniapp.nav_performance", render };
