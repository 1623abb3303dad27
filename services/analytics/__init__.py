"""Analytics of the track record and the executions behind it.

- `rollups`: each closed signal counted once per scope (the Mini App's `all`, the public page's
  delayed `public`) into sums by day, month, hour of day and weekday, refreshed incrementally
  (in the close's transaction, or by an idempotent catch-up keyed by signal id);
- `public`: the track record (figures, curve, heatmaps) read from those rollups: the one
  computation behind the Mini App's Performance page and the public `/performance` page;
- `charts`: its PNG charts (equity and drawdown, monthly / hour / weekday heatmaps), cached per
  period and revision;
- `fills`: real executions next to each closed signal (terminals, slippage, latency);
- `mystats`: a subscriber's own results against the track record; `drift`, `drift_weekly`:
  the owner's backtest-vs-live-vs-fills report and its weekly post.

Formulas live in `trading.metrics`; this package only gathers their inputs.
"""
