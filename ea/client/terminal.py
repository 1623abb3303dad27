"""The reference Expert Advisor in Python: the /ea/v1 protocol on any ``trading.brokers`` Broker.

Two loops share one lock (the broker and the state file see one command at a time):

* the poll loop long-polls ``GET /ea/v1/commands?wait=N``, executes each command and sends
  its acks before polling again;
* the report loop, every ``account_interval_s`` or when :meth:`EAClient.poke` is called (a
  new quote), follows placed orders and open positions (fills, expiries, exits), re-sends
  unconfirmed acks and posts the account with its positions; the symbols once at start.

Exactly-once: see :mod:`ea.client.state`. Nothing is recovered, executed or followed while
the broker says trading is impossible (terminal not connected, AutoTrading off: its history
may not be loaded either); commands stay pending at the server meanwhile and a warning is
logged. A result the broker could not tell (a timeout) is followed up by comment and ticket,
never sent again; ``failed`` only once nothing showed up for ``unsure_settle_s``. Network
errors are retried with jittered exponential backoff; an unexpected exception ends
:meth:`EAClient.run` (a crash: the state file makes the restart safe). Only one client may
run per state file (:mod:`ea.client.lock`). Usage::

    broker = PaperBroker(PaperEngine(specs))
    client = EAClient(EAConfig(device_id, secret, Path("ea-state.json")), broker)
    await client.run()  # until client.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ea.client.execution import MAGIC, UNSETTLED, Executor, Guards, refusal, with_spread
from ea.client.http import NETWORK_ERRORS, ServerError, SignedClient, backoff
from ea.client.journal import ClientObserver
from ea.client.lock import InstanceLock
from ea.client.reconcile import Reconciler
from ea.client.state import EXECUTING, StateFile
from ea.client.wire import Ack, Command, WireError, account_json, parse_command, symbols_json
from trading.brokers.base import (
    Broker,
    BrokerError,
    ResultUnknown,
    SpecIncomplete,
    Tick,
    UnknownSymbol,
)
from trading.symbols import SymbolSpec

__all__ = ["ClientObserver", "EAClient", "EAConfig", "Guards"]
log = logging.getLogger(__name__)
Fault = Callable[[str, Command], None]  # tests: raise at "placed" or "recorded" to crash
BLOCKED_RECHECK_S = 5.0  # while trading is blocked: how often to look again
MAX_QUOTES = 200  # quotes per account report (the server's limit)


@dataclass(frozen=True, slots=True)
class EAConfig:
    device_id: str
    secret: str = field(repr=False)
    state_path: Path
    server: str = "http://127.0.0.1:8080"
    magic: int = MAGIC
    guards: Guards = field(default_factory=Guards)
    poll_wait_s: int = 25  # the protocol allows 0-30
    account_interval_s: float = 10.0
    symbols: tuple[str, ...] = ()  # reported at start (POST /ea/v1/symbols)
    retry_base_s: float = 0.5
    retry_cap_s: float = 30.0
    unsure_settle_s: float = 120.0  # after a timeout: how long the order may take to show up


class EAClient:
    """One terminal: ``run()`` until ``stop()``; ``poke()`` after feeding the broker prices."""

    def __init__(
        self,
        config: EAConfig,
        broker: Broker,
        *,
        fault: Fault | None = None,
        observer: ClientObserver | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        self.broker = broker
        self.http = SignedClient(config.server, config.device_id, config.secret)
        self.state = StateFile(config.state_path)
        self.executor = Executor(broker, magic=config.magic, guards=config.guards)
        self.reconciler = Reconciler(self.state, broker, settle_s=config.unsure_settle_s)
        self._fault = fault
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._symbols_pending = list(config.symbols)
        self.symbols_refused: list[dict[str, Any]] = []  # the server's last word on our specs
        self._blocked: str | None = None  # why trading is impossible, as last logged
        self._recovered = False
        self._lock_file = InstanceLock(config.state_path)
        self._confirmed_at: dict[str, float] = {}  # command id -> when the server took an ack
        self.polls = 0  # long polls started (tests wait on it)
        self.acks_sent: list[dict[str, Any]] = []  # confirmed by the server, in order

    @property
    def blocked(self) -> str | None:
        """Why the client is not trading right now (as last seen), None when it is."""
        return self._blocked

    def poke(self) -> None:
        """Re-check orders and report the account now (call after a new bar or tick)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Recover, then poll and report until :meth:`stop` (a batch in progress finishes).
        :class:`~ea.client.lock.AlreadyRunning` when another client has this state file."""
        self._lock_file.acquire()
        try:
            tasks = [
                asyncio.create_task(self._poll_loop(), name="ea-poll"),
                asyncio.create_task(self._report_loop(), name="ea-report"),
            ]
            stop = asyncio.create_task(self._stopping.wait())
            await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            async with self._lock:  # never cut a command off between broker and state file
                for task in [*tasks, stop]:
                    task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await self.http.close()
            self._lock_file.release()
        for result in results:
            if isinstance(result, Exception):
                raise result

    # -- polling and commands ------------------------------------------------------------

    async def _poll_loop(self) -> None:
        wait = max(0, min(30, self.config.poll_wait_s))
        delays = self._backoff()
        while not self._stopping.is_set():
            if not await self._can_trade():  # leave commands pending at the server
                await _wait(self._stopping, min(next(delays), BLOCKED_RECHECK_S))
                continue
            if not self._recovered:
                async with self._lock:
                    self._recovered = await self.reconciler.recover_all()
            self.polls += 1
            asked_at = time.monotonic()
            try:
                data = await self.http.request(
                    "GET", f"/ea/v1/commands?wait={wait}", timeout_s=wait + 15
                )
            except (*NETWORK_ERRORS, ServerError) as exc:
                await self._network_trouble("poll", exc, next(delays))
                continue
            commands = data.get("commands", []) if isinstance(data, dict) else []
            if not commands:
                delays = self._backoff()
                continue
            async with self._lock:
                fresh = [await self._handle(raw, asked_at) for raw in commands]
                delivered = await self._flush_acks()
            self.poke()
            if any(fresh) and delivered:
                delays = self._backoff()
            else:  # only redeliveries, or acks that did not go out: do not hammer the server
                await self._network_trouble("ack", RuntimeError("redelivered"), next(delays))

    async def _handle(self, raw: Any, asked_at: float) -> bool:
        """Execute, recover or re-acknowledge one command; True when it was new work."""
        try:
            cmd = parse_command(raw)
        except WireError as exc:
            command_id = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(command_id, str) and self.state.get(command_id) is None:
                self.state.record(Ack(command_id, "rejected", error=str(exc)))
                return True
            return False
        entry = self.state.get(cmd.id)
        if entry is None:
            self._observe("command", cmd)
            ticket = None if cmd.type == "open" else self._ticket(cmd)
            self.state.begin(
                cmd.id, cmd.type, comment=cmd.order_comment, symbol=cmd.symbol,
                signal_id=cmd.signal_id, ticket=ticket,
            )  # fmt: skip
            await self._execute(cmd)
        elif entry.state == EXECUTING:
            try:
                recovered = await self.reconciler.recover_one(cmd.id, entry)
            except BrokerError as exc:  # cannot tell what is at the broker: never re-place
                log.warning("ea: cannot recover %s yet: %s", cmd.id, exc)
                return False
            if recovered:
                return True
            if entry.unsure_s is not None:  # its result is unknown: never send it again
                return self.reconciler.settle(cmd.id, entry)
            await self._execute(cmd)
        elif self._confirmed_at.get(cmd.id, 0.0) < asked_at:
            self.state.resend_all(cmd.id)  # redelivered: the server has not seen our acks
            return False
        return True

    async def _execute(self, cmd: Command) -> None:
        """Run a command already marked ``executing``; record its ack before it is sent."""
        since_s: int | None = None
        try:
            ack, since_s = await self._run(cmd)
        except WireError as exc:
            ack = Ack(cmd.id, "rejected", error=str(exc))
        except ResultUnknown as exc:
            self._inject("placed", cmd)
            self.reconciler.unsure(cmd, exc)
            return
        except UNSETTLED as exc:  # nothing reached the broker: the server redelivers it
            self.state.forget(cmd.id)
            log.warning("ea: %s %s left pending: %s", cmd.type, cmd.id, exc)
            return
        except BrokerError as exc:  # from a guard's broker lookups
            ack = refusal(cmd.id, exc)
        self._inject("placed", cmd)
        ack = await with_spread(self.broker, ack, cmd.symbol)
        self.state.record(ack, since_s=since_s)
        self._inject("recorded", cmd)
        log.info("ea: %s %s -> %s", cmd.type, cmd.id, ack.status, extra={"error": ack.error})
        if cmd.type == "close" and ack.status == "closed":
            self.reconciler.closed_share(cmd, ack)

    async def _run(self, cmd: Command) -> tuple[Ack, int | None]:
        if cmd.type == "open":
            reason = await self.executor.guard(cmd)
            if reason is not None:
                return Ack(cmd.id, "rejected", error=reason), None
            return await self.executor.open(cmd)
        found = self.state.open_for_signal(cmd.signal_id)
        ticket = self._ticket(cmd)
        if cmd.type == "close":
            share = None
            if found is not None and found[1].ticket == ticket and found[1].volume is not None:
                share = Decimal(found[1].volume)
            return await self.executor.close(cmd, ticket, share), None
        method = getattr(self.executor, cmd.type)
        return await method(cmd, ticket), None

    def _ticket(self, cmd: Command) -> int | None:
        """What a modify/cancel/close acts on: its ticket, else our open of its signal."""
        return cmd.ticket or self.state.ticket_for_signal(cmd.signal_id)

    def _inject(self, point: str, cmd: Command) -> None:
        if self._fault is not None:
            self._fault(point, cmd)

    # -- reporting -----------------------------------------------------------------------

    async def _report_loop(self) -> None:
        while not self._stopping.is_set():
            await _wait(self._wake, self.config.account_interval_s)
            self._wake.clear()
            try:
                async with self._lock:
                    await self._follow_all()
                    await self._flush_acks()
                await self._send_symbols()
                await self._send_account()
            except (*NETWORK_ERRORS, ServerError, BrokerError) as exc:
                await self._network_trouble("report", exc, 0)

    async def _follow_all(self) -> None:
        if self.reconciler.busy() and await self._can_trade():
            await self.reconciler.follow_all()

    async def _can_trade(self) -> bool:
        """False (with one warning per reason) while the broker says trading is impossible."""
        blocked = await self.broker.trading_blocked()
        if blocked != self._blocked:
            if blocked is None:
                log.warning("ea: trading is possible again; executing commands")
            else:
                log.warning("ea: not trading, commands stay pending: %s", blocked)
            self._blocked = blocked
        return blocked is None

    async def _flush_acks(self) -> bool:
        """Send unconfirmed acks in order; True when none is left. A 4xx answer other than
        401 (409: an impossible transition, 403: not our command) drops that ack, as the
        server knows better; 401, 5xx and network errors keep the rest for the next round."""
        for command_id, entry in self.state.with_unsent():
            for offset, ack in enumerate(entry.unsent, start=entry.sent + 1):
                body = ack.to_json()
                try:
                    await self.http.request("POST", "/ea/v1/acks", body)
                    self.acks_sent.append(body)
                    self._confirmed_at[command_id] = time.monotonic()
                    self._observe("ack", body, accepted=True)
                except ServerError as exc:
                    if exc.status == 401 or exc.status >= 500:
                        log.warning("ea: ack %s not delivered: %s", command_id, exc)
                        return False
                    log.warning("ea: ack %s %s refused: %s", command_id, ack.status, exc)
                    self._observe("ack", body, accepted=False)
                except NETWORK_ERRORS as exc:
                    log.warning("ea: ack %s not delivered: %r", command_id, exc)
                    return False
                self.state.mark_sent(command_id, offset)
        return True

    async def _send_symbols(self) -> None:
        """Report the specs that are complete; one the terminal has not loaded yet (a tick
        value of 0 right after selecting it) is tried again next round."""
        specs: list[SymbolSpec] = []
        waiting: list[str] = []
        for name in self._symbols_pending:
            try:
                specs.append(await self.broker.symbol_spec(name))
            except UnknownSymbol:
                log.warning("ea: the broker does not know %s; not reported", name)
            except SpecIncomplete as exc:
                log.warning("ea: %s; reporting it later", exc)
                waiting.append(name)
            except ValueError as exc:  # a SpecError: the broker's numbers are not sane
                log.warning(
                    "ea: the broker's spec of %s is not usable (%s); not reported", name, exc
                )
        if specs:
            try:
                answer = await self.http.request("POST", "/ea/v1/symbols", symbols_json(specs))
            except ServerError as exc:
                if exc.status in (401, 403) or exc.status >= 500:
                    raise  # not judged yet: sent again next round
                answer = {"refused": [{"detail": exc.detail}]}  # none usable: resending won't help
            refused = answer.get("refused", []) if isinstance(answer, dict) else []
            for item in refused:
                log.warning("ea: the server refused a symbol spec: %s", item.get("detail"))
            self.symbols_refused = list(refused)
        self._symbols_pending = waiting

    async def _send_account(self) -> None:
        info = await self.broker.account()
        positions = await self.broker.positions()
        body = account_json(info, positions, await self._quotes())
        await self.http.request("POST", "/ea/v1/account", body)

    async def _quotes(self) -> dict[str, Tick]:
        """The bid/ask of the symbols this EA trades (those with a quote now), for the
        server's price alerts."""
        quotes: dict[str, Tick] = {}
        for name in self.config.symbols[:MAX_QUOTES]:
            try:
                quotes[name] = await self.broker.tick(name)
            except BrokerError:  # closed market, unknown symbol: nothing to report
                continue
        return quotes

    # -- helpers -------------------------------------------------------------------------

    def _observe(self, what: str, *args: Any, **kwargs: Any) -> None:
        if self.observer is None:
            return
        try:
            getattr(self.observer, what)(*args, **kwargs)
        except Exception:  # a watcher's bug never stops the terminal
            log.exception("ea: observer failed on %s", what)

    def _backoff(self) -> Any:
        return backoff(self.config.retry_base_s, self.config.retry_cap_s)

    async def _network_trouble(self, where: str, exc: BaseException, delay_s: float) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("ea: %s failed (%s); retrying in %.1fs", where, reason, delay_s)
        await _wait(self._stopping, delay_s)


async def _wait(event: asyncio.Event, timeout_s: float) -> None:
    """Until ``event`` is set or ``timeout_s`` passed. ``asyncio.timeout`` rather than
    ``wait_for``: on Python 3.11 ``wait_for`` can swallow a cancellation that races the
    event, and a loop around it would never stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
