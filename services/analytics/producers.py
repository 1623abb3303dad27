"""Per-producer figures: how each outside producer's signals did (issue 15).

Counted from the signals themselves (a producer has tens to thousands of signals, one grouped
query): signals published, closed with a result, won (result > 0), lost (< 0), and the sum of
their R multiples (exact Decimal). Win rate = won / closed, None with nothing closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tortoise.functions import Count, Sum

from models.signals import Signal, SignalStatus


@dataclass(frozen=True, slots=True)
class ProducerFigures:
    producer_id: int  # primary key (models.ingest.Producer.id)
    signals: int
    closed: int
    wins: int
    losses: int
    total_r: Decimal

    @property
    def win_rate(self) -> Decimal | None:
        if not self.closed:
            return None
        return (Decimal(self.wins) / self.closed).quantize(Decimal("0.0001"))


async def _grouped(**filters: object) -> dict[int, tuple[int, Decimal]]:
    rows = (
        await Signal.filter(producer_id__isnull=False, **filters)
        .annotate(n=Count("id"), r=Sum("result_r"))
        .group_by("producer_id")
        .values("producer_id", "n", "r")
    )
    return {int(r["producer_id"]): (int(r["n"]), Decimal(str(r["r"] or 0))) for r in rows}


async def figures() -> dict[int, ProducerFigures]:
    """Every producer with at least one signal, by primary key."""
    published = await _grouped()
    closed = await _grouped(status=SignalStatus.CLOSED, result_r__isnull=False)
    wins = await _grouped(status=SignalStatus.CLOSED, result_r__gt=0)
    losses = await _grouped(status=SignalStatus.CLOSED, result_r__lt=0)
    out = {}
    for pk, (n, _) in published.items():
        done, total = closed.get(pk, (0, Decimal(0)))
        out[pk] = ProducerFigures(
            producer_id=pk,
            signals=n,
            closed=done,
            wins=wins.get(pk, (0, Decimal(0)))[0],
            losses=losses.get(pk, (0, Decimal(0)))[0],
            total_r=total.quantize(Decimal("0.0001")),
        )
    return out
