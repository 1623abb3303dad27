"""Keeping the EA's state file in step with what the broker shows.

* After a crash, an ``executing`` open (or close) is looked up at the broker by its comment
  and acked as found (:meth:`Reconciler.recover_one`); nothing is placed twice.
* A request whose result the broker could not tell (a timeout, a lost link) stays
  ``executing`` and *unsure*: it is never sent again, it is looked for every round, and it is
  acked ``failed`` only after ``settle_s`` with nothing at the broker (:meth:`settle`).
* Placed orders and open positions of our opens are followed to ``filled``, ``cancelled``
  and ``closed`` (:mod:`ea.client.follow`); a close of our whole share ends our open at once
  (:meth:`closed_share`: on a netting account the position itself stays open).

The client calls these holding its lock, and only while the broker says trading is possible
(a terminal that is not connected may show an empty book).
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from ea.client.execution import with_spread
from ea.client.follow import BrokerView, follow, recover
from ea.client.state import Entry, StateFile
from ea.client.wire import Ack, Command
from trading.brokers.base import Broker, BrokerError, ResultUnknown

log = logging.getLogger("ea.client.terminal")
RECOVERED_TYPES = ("open", "close")  # modify and cancel simply run again
UNSURE_WHY = "the broker did not confirm the request and shows no order, position or deal"


class Reconciler:
    """Recovery, unsure results and following, over one state file and one broker."""

    def __init__(self, state: StateFile, broker: Broker, *, settle_s: float) -> None:
        self.state = state
        self.broker = broker
        self.settle_s = settle_s

    def busy(self) -> bool:
        """Whether anything is being followed or is unsure (a round has work to do)."""
        return bool(self.state.followed() or self.state.unsure())

    async def recover_all(self) -> bool:
        """Settle interrupted commands from what the broker shows (the rest wait for the
        server's redelivery). True when every lookup worked."""
        done = True
        for command_id in self.state.executing():
            entry = self.state.get(command_id)
            try:
                if entry is not None:
                    await self.recover_one(command_id, entry)
            except BrokerError as exc:
                log.warning("ea: cannot recover %s yet: %s", command_id, exc)
                done = False
        return done

    async def recover_one(self, command_id: str, entry: Entry) -> bool:
        """Ack what an interrupted open or close left at the broker; False when it left
        nothing (modify and cancel are not looked up: they simply run again)."""
        if entry.type not in RECOVERED_TYPES:
            return False
        acks = await recover(await BrokerView.take(self.broker), command_id, entry)
        if not acks:
            return False
        log.warning("ea: recovered %s from the broker: %s", command_id, acks[-1].status)
        for ack in acks:
            since = None if ack.time is None else int(ack.time.timestamp())
            self.state.record(ack, since_s=since if entry.since_s is None else None)
        return True

    def unsure(self, cmd: Command, exc: ResultUnknown) -> None:
        """Opens and closes are followed up at the broker; a modify or cancel can simply run
        again (on redelivery), so it is left pending."""
        if cmd.type not in RECOVERED_TYPES:
            self.state.forget(cmd.id)
            log.warning("ea: %s %s result unknown, left pending: %s", cmd.type, cmd.id, exc)
            return
        self.state.mark_unsure(cmd.id)
        log.warning(
            "ea: %s %s result unknown; looking for it at the broker: %s", cmd.type, cmd.id, exc
        )

    def settle(self, command_id: str, entry: Entry) -> bool:
        """An unsure command the broker still shows nothing of: ``failed`` once it had
        ``settle_s`` to appear; True when that ack was recorded."""
        if entry.unsure_s is None or time.time() - entry.unsure_s < self.settle_s:
            return False
        self.state.record(Ack(command_id, "failed", entry.ticket, error=UNSURE_WHY))
        log.warning("ea: %s failed: %s", command_id, UNSURE_WHY)
        return True

    def closed_share(self, cmd: Command, ack: Ack) -> None:
        """A close that took our whole share of the position ends our open at once: on a
        netting account the position stays open with other fills, so following it would
        never see it go."""
        found = self.state.open_for_signal(cmd.signal_id)
        if found is None or ack.volume is None or ack.error is not None:
            return
        open_id, entry = found
        share = None if entry.volume is None else Decimal(entry.volume)
        mine = entry.status == "filled" and entry.ticket == ack.ticket
        if mine and share is not None and ack.volume >= share:
            self.state.record(Ack(open_id, "closed", ack.ticket, ack.price, share, ack.time))

    async def follow_all(self) -> None:
        """One round: new acks for followed opens, and for unsure commands what appeared."""
        view = await BrokerView.take(self.broker)
        for command_id, entry in self.state.followed():
            for ack in await follow(view, command_id, entry):
                self.state.record(await with_spread(self.broker, ack, entry.symbol))
        for command_id, entry in self.state.unsure():
            acks = await recover(view, command_id, entry)
            for ack in acks or ():
                self.state.record(await with_spread(self.broker, ack, entry.symbol))
            if not acks:
                self.settle(command_id, entry)
