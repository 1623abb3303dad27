"""The caller's address behind reverse proxies the operator trusts (`TRUSTED_PROXIES`).

A request from a trusted proxy carries the client in ``X-Forwarded-For`` ("client, proxy1,
proxy2": each proxy appends the address it received the request from). Only hops a trusted
proxy wrote can be believed, so the header is read from the right: each address that is itself
a trusted proxy is skipped, and the first one that is not is the client. Everything to its left
was written by that client and proves nothing. A request from anyone else is its TCP peer, and
its header is ignored (anyone can send one). A malformed hop gives None: no address, which an
allow-list refuses. A trusted proxy's request without the header is the proxy's own; when every
hop is trusted the leftmost is the client (a machine inside the trusted network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]
) -> bool:
    return any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]
) -> str | None:
    """The client's address: `peer` (the TCP peer) unless it is a trusted proxy, then the
    rightmost ``X-Forwarded-For`` hop that is not one (module docstring)."""
    peer_address = None if peer is None else _address(peer)
    if peer_address is None:
        return None
    if not _trusted(peer_address, proxies):
        return str(peer_address)
    hops = [h for h in (forwarded_for or "").split(",") if h.strip()]
    if not hops:
        return str(peer_address)  # the proxy's own request (a health check on its host)
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)  # the first untrusted hop from the right, else the leftmost


def parse_networks(text: str) -> tuple[Network, ...]:
    """ "127.0.0.1, 10.0.0.0/8, ::1" as networks (a bare address is one host); ValueError
    naming the first part that is not an address or network."""
    out = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            msg = f"not an IP address or network: {part[:64]!r}"
            raise ValueError(msg) from None
    return tuple(out)
