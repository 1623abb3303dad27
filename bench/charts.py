"""Signal-chart render time: real setups from the bundled EURUSD H1 data, 960x600 PNGs.

Detects the setups in `data/samples/EURUSD_H1.csv`, renders 3 warm-up charts, then one chart
per setup for N setups (each with the candles up to its leg-2 end, as when it was published),
and prints ONE JSON object: time per chart (mean, p50, p95, max, in ms, wall clock around
`render_signal_chart` including PNG encoding) and the mean PNG size. Target: mean < 60 ms on
the 2-core CI machine; mplfinance took ~130 ms there (not installed, hence null).

    python bench/charts.py [--charts 30] [--out-dir DIR]   # DIR: also write the PNGs there
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trading.candles import load_csv  # noqa: E402
from trading.charting import ChartLevels, render_signal_chart  # noqa: E402
from trading.detector import Setup, detect_setups  # noqa: E402
from trading.indicators import rsi  # noqa: E402

TARGET_MS = 60
WARM_UP = 3


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=30)
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args()
    candles = load_csv(ROOT / "data" / "samples" / "EURUSD_H1.csv", "EURUSD").candles
    rsi_all = rsi(candles.close)  # what the live loop and the backtest already have
    setups = detect_setups(candles)
    if len(setups) < args.charts + WARM_UP:
        raise SystemExit(f"only {len(setups)} setups; ask for fewer --charts")

    def render(setup: Setup, number: int) -> bytes:
        end = setup.leg2_end_index + 1
        levels = ChartLevels.from_setup(setup, status="Pending", signal_id=number)
        return render_signal_chart(candles.slice(0, end), levels, rsi_values=rsi_all[:end])

    for i, setup in enumerate(setups[:WARM_UP]):
        render(setup, i + 1)
    times_ms: list[float] = []
    sizes_kb: list[float] = []
    for i, setup in enumerate(setups[WARM_UP : WARM_UP + args.charts]):
        started = time.perf_counter()
        png = render(setup, WARM_UP + i + 1)
        times_ms.append((time.perf_counter() - started) * 1000)
        sizes_kb.append(len(png) / 1024)
        if args.out_dir is not None:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            (args.out_dir / f"chart-{i:02d}.png").write_bytes(png)
    result = {
        "charts": len(times_ms),
        "mean_ms": round(statistics.fmean(times_ms), 2),
        "p50_ms": round(statistics.median(times_ms), 2),
        "p95_ms": round(percentile(times_ms, 95), 2),
        "max_ms": round(max(times_ms), 2),
        "png_kb_mean": round(statistics.fmean(sizes_kb), 1),
        "target_ms": TARGET_MS,
        "mplfinance_ms": None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
