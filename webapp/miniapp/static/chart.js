/* The signal's candle chart (TradingView lightweight-charts, vendored): candles from the stored
 * market bars, entry / stop / take-profit as price lines, the two Fib points as markers. */
const css = (name, fallback) =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

function colors() {
  return {
    bg: css("--bg", "#ffffff"), text: css("--text", "#1f2328"), grid: css("--grid", "#e6e9ee"),
    up: "#26a69a", down: "#ef5350", entry: css("--link", "#2481cc"), stop: "#e53935",
    tp: "#43a047", point: css("--hint", "#8a8f98"),
  };
}

export function drawChart(node, detail, labels) {
  const LW = window.LightweightCharts;
  if (!LW || !detail.candles.length) return null;
  const c = colors();
  const digits = detail.signal.digits;
  const chart = LW.createChart(node, {
    autoSize: true,
    // the logo injects an inline <style> (refused by our CSP): the page credits TradingView
    // in text instead, as the library's NOTICE asks
    layout: { background: { color: c.bg }, textColor: c.text, attributionLogo: false },
    grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: { priceFormatter: (p) => p.toFixed(digits) },
  });
  const s = detail.signal;
  const levels = [s.entry, s.stop, s.take_profit, ...detail.points.map((p) => p.price)]
    .filter((p) => p !== null).map(Number);
  const series = chart.addSeries(LW.CandlestickSeries, {
    autoscaleInfoProvider: (original) => {  // keep every level in view, not just the candles
      const info = original();
      if (info && info.priceRange && levels.length) {
        info.priceRange.minValue = Math.min(info.priceRange.minValue, ...levels);
        info.priceRange.maxValue = Math.max(info.priceRange.maxValue, ...levels);
      }
      return info;
    },
    upColor: c.up, downColor: c.down, borderVisible: false, wickUpColor: c.up, wickDownColor: c.down,
    priceFormat: { type: "price", precision: digits, minMove: 10 ** -digits },
  });
  series.setData(detail.candles.map((b) => ({ time: b.time, open: b.open, high: b.high, low: b.low, close: b.close })));
  const lines = [[s.entry, c.entry, labels.entry], [s.stop, c.stop, labels.stop], [s.take_profit, c.tp, labels.take_profit]];
  const drawn = [];
  for (const [price, color, title] of lines) {
    if (price === null) continue;
    series.createPriceLine({ price: Number(price), color, lineWidth: 2, lineStyle: 2, axisLabelVisible: true, title });
    drawn.push(price);
  }
  node.dataset.lines = drawn.join(" ");  // what is on the canvas, for tests and tools
  const times = detail.candles.map((b) => b.time);
  const snap = (t) => times.reduce((best, x) => (x <= t ? x : best), times[0]);
  const top = Math.max(...detail.points.map((p) => Number(p.price)));
  const markers = detail.points.map((p, i) => ({  // a swing high above its bar, a low below
    time: snap(p.time), position: Number(p.price) >= top ? "aboveBar" : "belowBar", color: c.point,
    shape: "circle", text: i === 0 ? labels.point1 : labels.point2,
  }));
  if (markers.length) LW.createSeriesMarkers(series, markers.sort((a, b) => a.time - b.time));
  node.dataset.points = detail.points.map((p) => p.price).join(" ");
  // every bar in view, with room on the right for the newest point's label (the signal's own
  // bar is its last: fitted flush to the price scale, its label was cut)
  const room = Math.max(3, Math.round(times.length * 0.08));
  chart.timeScale().setVisibleLogicalRange({ from: -0.5, to: times.length - 0.5 + room });
  return {
    retheme() {
      const n = colors();
      chart.applyOptions({ layout: { background: { color: n.bg }, textColor: n.text },
        grid: { vertLines: { color: n.grid }, horzLines: { color: n.grid } } });
    },
    remove() { chart.remove(); },
  };
}
