"""Who may drive the emulator: the checks behind every request it answers.

The emulator acts as any user (the owner included) and its transcripts show device secrets, so
a web page the sandbox user happens to visit must not reach it. A browser lets any page send a
"simple" cross-site POST (``text/plain``, no preflight) to loopback, and DNS rebinding lets a
page read loopback answers under its own name. Hence, in this order:

1. a loopback ``Host`` (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``[::1]``): a rebound
   name such as ``evil.example:8080`` is refused (421 Misdirected Request);
2. no foreign ``Origin``: a browser sends one on every cross-origin request, and it must be
   this very server (scheme, host and port) or the request is refused (403);
3. the control token (``X-Control-Token``), made per start with ``secrets.token_urlsafe``
   and carried only by the sandbox page, which a foreign origin cannot read (403);
4. ``application/json`` on every POST and on any request with a body (415), which no
   cross-site "simple" request can send.

The Bot API routes need (1) and (2) only (the bot's token guards them); static assets (1) and
(2). Clients outside a browser (aiogram, :class:`~tgemu.client.EmulatorClient`) send
no ``Origin`` and pass (2).
"""

from __future__ import annotations

import ipaddress
import re
import secrets

from aiohttp import web

from tgemu.errors import Problem

TOKEN_HEADER = "X-Control-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


def new_control_token() -> str:
    """A fresh, unguessable control token (one per start)."""
    return secrets.token_urlsafe(32)


def is_loopback_host(host: str | None) -> bool:
    """True for a ``Host`` header naming this machine's loopback interface (any port)."""
    match = _HOST.fullmatch(host or "")
    if match is None:
        return False
    name = match.group(1).lower().strip("[]").rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: never leaves the host
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_host_and_origin(request: web.Request) -> None:
    """Checks 1 and 2 of the module docstring; raises a :class:`Problem`."""
    host = request.headers.get("Host")
    if not is_loopback_host(host):
        detail = f"the sandbox answers a loopback Host only (localhost, 127.0.0.1), not {host!r}"
        raise Problem(421, "Misdirected request", detail)
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower() != f"{request.scheme}://{host}".lower():
        detail = f"requests from another site ({origin!r}) are refused"
        raise Problem(403, "Foreign origin", detail)


def check_control(request: web.Request, token: str) -> None:
    """Checks 3 and 4 of the module docstring; raises a :class:`Problem`."""
    given = request.headers.get(TOKEN_HEADER, "")
    if not secrets.compare_digest(given.encode(), token.encode()):
        what = "missing" if not given else "wrong"
        detail = f"the {TOKEN_HEADER} header is {what}: the sandbox page carries the token"
        raise Problem(403, "Control token required", detail)
    changes = request.method == "POST" or (
        request.method in UNSAFE_METHODS and request.can_read_body
    )  # a bodiless POST is still a "simple" cross-site request; other verbs need a preflight
    if changes and request.content_type != "application/json":
        detail = f"send a JSON body (Content-Type: application/json), not {request.content_type}"
        raise Problem(415, "Unsupported media type", detail)
