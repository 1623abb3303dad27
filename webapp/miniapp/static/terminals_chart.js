/* A terminal's account equity over time (TradingView lightweight-charts, vendored, as
 * chart.js): equity as an area, balance as a line, both from the stored account snapshots. */
const css = (name, fallback) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function colors() {
  return { bg: css("--bg", "#ffffff"), text: css("--text", "#1f2328"), grid: css("--grid", "#e6e9ee"),
    equity: css("--link", "#2481cc"), balance: css("--hint", "#8a8f98") };
}

const alpha = (color, hex) => (/^#[0-9a-f]{6}$/i.test(color) ? `${color}${hex}` : color);

/** Draw `points` ({time, equity, balance}: unix seconds, decimal strings) into `node`; null
 * when there is nothing to draw. Returns { update(points), retheme(), remove() }. */
export function drawEquity(node, points) {
  const LW = window.LightweightCharts;
  if (!LW || !points.length) return null;
  const c = colors();
  const chart = LW.createChart(node, {
    autoSize: true,
    layout: { background: { color: c.bg }, textColor: c.text, attributionLogo: false },  // CSP: see chart.js
    grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { scaleMargins: { top: 0.15, bottom: 0.1 } },
  });
  const equity = chart.addSeries(LW.AreaSeries, { lineColor: c.equity, topColor: alpha(c.equity, "55"),
    bottomColor: alpha(c.equity, "08"), lineWidth: 2, priceFormat: { type: "price", precision: 2, minMove: 0.01 } });
  const balance = chart.addSeries(LW.LineSeries, { color: c.balance, lineWidth: 1, lineStyle: 2,
    priceLineVisible: false, lastValueVisible: false, priceFormat: { type: "price", precision: 2, minMove: 0.01 } });
  const update = (next) => {
    const byTime = new Map();  // one point per second (the last): times must strictly increase
    for (const p of next) byTime.set(p.time, p);
    const unique = [...byTime.values()];
    equity.setData(unique.map((p) => ({ time: p.time, value: Number(p.equity) })));
    balance.setData(unique.map((p) => ({ time: p.time, value: Number(p.balance) })));
    chart.timeScale().fitContent();
  };
  update(points);
  return {
    update,
    retheme() {
      const n = colors();
      chart.applyOptions({ layout: { background: { color: n.bg }, textColor: n.text },
        grid: { vertLines: { color: n.grid }, horzLines: { color: n.grid } } });
      equity.applyOptions({ lineColor: n.equity, topColor: alpha(n.equity, "55"), bottomColor: alpha(n.equity, "08") });
      balance.applyOptions({ color: n.balance });
    },
    remove() { chart.remove(); },
  };
}
