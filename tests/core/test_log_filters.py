"""Log filters: a flood of identical problems is one line per interval with a count; a
client's malformed request is one warning without a traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from core.log_filters import ClientErrorFilter, RepeatFilter
from core.logs import setup_logging


def record(
    msg: str = "ack failed",
    level: int = logging.ERROR,
    name: str = "ea.api",
    exc: BaseException | None = None,
    args: tuple[object, ...] = (),
) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_same_problem_is_let_through_once_per_interval_with_a_count() -> None:
    clock = Clock()
    f = RepeatFilter(60.0, clock=clock)
    assert f.filter(record())
    assert [f.filter(record()) for _ in range(9)] == [False] * 9
    clock.now = 59.9
    assert not f.filter(record())
    clock.now = 60.0
    passed = record()
    assert f.filter(passed) and passed.repeated == 10  # type: ignore[attr-defined]
    clock.now = 121.0
    quiet = record()
    assert f.filter(quiet) and not hasattr(quiet, "repeated")  # none held back since


def test_what_makes_problems_identical() -> None:
    f = RepeatFilter(60.0, clock=Clock())
    assert f.filter(record(args=("10.0.0.1",), msg="Error handling request from %s"))
    # the same template with other arguments is the same problem
    assert not f.filter(record(args=("10.0.0.2",), msg="Error handling request from %s"))
    # another message, logger, level or exception type is another problem
    assert f.filter(record(msg="report processing failed"))
    assert f.filter(record(name="jobs.outbox.sender"))
    assert f.filter(record(level=logging.WARNING))
    assert f.filter(record(exc=ValueError("x")))
    assert not f.filter(record(exc=ValueError("other text, same type")))
    assert f.filter(record(exc=KeyError("x")))


def test_info_and_debug_are_never_held_back_and_zero_turns_it_off() -> None:
    f = RepeatFilter(60.0, clock=Clock())
    assert all(f.filter(record(level=logging.INFO)) for _ in range(5))
    off = RepeatFilter(0, clock=Clock())
    assert all(off.filter(record()) for _ in range(5))


def test_many_distinct_problems_do_not_grow_without_bound() -> None:
    f = RepeatFilter(60.0, clock=Clock(), max_keys=100)
    for i in range(1000):
        assert f.filter(record(msg=f"problem {i}"))
    assert len(f._seen) <= 100


@pytest.mark.parametrize("exc", [BadHttpMessage("Invalid header"), LineTooLong("x" * 9000, 8190)])
def test_a_malformed_request_is_one_warning_without_traceback(exc: Exception) -> None:
    rec = record("Error handling request from %s", name="aiohttp.server", exc=exc, args=("ip",))
    assert ClientErrorFilter().filter(rec)
    assert (rec.levelno, rec.levelname, rec.exc_info) == (logging.WARNING, "WARNING", None)
    assert rec.getMessage() == "malformed HTTP request refused: 400"
    assert type(exc).__name__ in rec.error  # type: ignore[attr-defined]


def test_other_errors_keep_their_level_and_traceback() -> None:
    for rec in (
        record("Error handling request from %s", name="aiohttp.server", exc=RuntimeError("x")),
        record(name="ea.api", exc=BadHttpMessage("not from aiohttp.server")),
    ):
        assert ClientErrorFilter().filter(rec)
        assert rec.levelno == logging.ERROR and rec.exc_info is not None


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


@pytest.mark.usefixtures("root_handlers")
def test_setup_logging_puts_both_filters_on_its_handler(capfd: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", json_output=False, repeat_interval_s=60)
    (handler,) = logging.getLogger().handlers
    kinds = [type(f) for f in handler.filters]
    assert kinds == [ClientErrorFilter, RepeatFilter]
    log = logging.getLogger("probe")
    for _ in range(3):
        log.error("the same failure")
    sys.stderr.flush()
    assert capfd.readouterr().err.count("the same failure") == 1
