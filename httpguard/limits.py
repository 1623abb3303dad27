"""How long an HTTP server waits for a request, and how many connections it holds."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("httpguard")
FD_RESERVE = 256  # descriptors kept for everything else: database, outgoing HTTP, files, logs


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Read bounds for one server.

    - `header_timeout_s`: a request line and its headers must arrive within this time of the
      request's first byte (for a new connection: of connecting); else 408 and close, or a
      silent close when not one byte came (HTTP allows closing an idle connection).
    - `body_timeout_s`: the whole body within this time of the headers; else 408 and close.
    - `keepalive_timeout_s`: an idle keep-alive connection is closed after this.
    - `max_connections`: at most this many open connections; a new one beyond it first
      displaces the longest-idle connection, and is refused with a 503 if none is idle.
    """

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 75.0
    max_connections: int = 10_000

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "body_timeout_s", "keepalive_timeout_s"):
            if not getattr(self, name) > 0:
                msg = f"{name} must be above 0 seconds, got {getattr(self, name)!r}"
                raise ValueError(msg)
        if self.max_connections < 1:
            msg = f"max_connections must be at least 1, got {self.max_connections!r}"
            raise ValueError(msg)

    def runner_kwargs(self) -> dict[str, Any]:
        """For `web.AppRunner(...)`: aiohttp's own idle and lingering bounds to match.

        `lingering_time` is how long aiohttp keeps reading (and discarding) a body the handler
        did not read, so that closing does not reset the connection under the response.
        """
        return {
            "keepalive_timeout": self.keepalive_timeout_s,
            "lingering_time": min(10.0, self.body_timeout_s),
        }


def fit_to_descriptors(limits: ReadLimits) -> ReadLimits:
    """`limits` with `max_connections` the process can actually hold.

    Raises the soft RLIMIT_NOFILE towards the hard limit when the cap needs it (as Go's
    runtime does at start-up), then lowers the cap to what is left after `FD_RESERVE`, with
    one warning: running out of descriptors makes accept() fail in a loop, which is worse
    than refusing connections politely.
    """
    try:
        import resource
    except ImportError:  # not POSIX: nothing to fit
        return limits
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return limits
    fitted = max(1, soft - FD_RESERVE)
    log.warning(
        "fewer file descriptors than the connection cap needs: cap lowered",
        extra={"configured": limits.max_connections, "cap": fitted, "nofile": soft},
    )
    return ReadLimits(
        header_timeout_s=limits.header_timeout_s,
        body_timeout_s=limits.body_timeout_s,
        keepalive_timeout_s=limits.keepalive_timeout_s,
        max_connections=fitted,
    )
