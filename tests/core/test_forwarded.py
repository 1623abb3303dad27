"""The caller's address behind trusted reverse proxies: the header of anyone else is ignored,
a trusted proxy's hops are read from the right, and what a client wrote itself never counts."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.http.forwarded import client_address, parse_networks

PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),  # no proxy
        ("203.0.113.9", "52.89.214.238", "203.0.113.9"),  # anyone's header is ignored
        ("127.0.0.1", "52.89.214.238", "52.89.214.238"),  # nginx on the host
        ("127.0.0.1", "52.89.214.238, 10.1.2.3", "52.89.214.238"),  # two proxies of ours
        ("127.0.0.1", "52.89.214.238 ,10.1.2.3 , 10.9.9.9", "52.89.214.238"),
        # a client that sends its own header with an allowed address gains nothing
        ("127.0.0.1", "52.89.214.238, 198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "2001:db8::1", "2001:db8::1"),
        ("fd00::5", "2001:db8::1, fd00::6", "2001:db8::1"),
        ("127.0.0.1", None, "127.0.0.1"),  # the proxy's own request
        ("127.0.0.1", "  ", "127.0.0.1"),
        ("127.0.0.1", "10.0.0.7", "10.0.0.7"),  # every hop ours: the leftmost is the client
        ("127.0.0.1", "unknown", None),  # a hop that is no address: no address
        ("127.0.0.1", "52.89.214.238, garbage", None),
        (None, None, None),
        ("not an address", None, None),
    ],
)
def test_the_client_address(peer: str | None, header: str | None, client: str | None) -> None:
    assert client_address(peer, header, PROXIES) == client


def test_no_trusted_proxy_means_the_peer() -> None:
    assert client_address("127.0.0.1", "52.89.214.238", ()) == "127.0.0.1"


def test_networks_are_parsed_or_named_in_the_error() -> None:
    assert parse_networks(" 127.0.0.1 ,10.0.0.0/8;::1, ") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match="'10.0.0.0/33'"):
        parse_networks("10.0.0.0/33")


OUTSIDE = st.ip_addresses(v=4).filter(lambda a: not any(a in n for n in PROXIES)).map(str)
OURS = st.sampled_from(["10.0.0.1", "10.200.3.4", "127.0.0.1"])


@given(written=st.lists(OUTSIDE, max_size=4), client=OUTSIDE, ours=st.lists(OURS, max_size=3))
def test_what_the_client_wrote_never_counts(
    written: list[str], client: str, ours: list[str]
) -> None:
    """Whatever a client puts in its own header (`written`), the address our first proxy saw
    it come from (`client`) is the answer, however many of our proxies follow."""
    header = ", ".join([*written, client, *ours])
    assert client_address("127.0.0.1", header, PROXIES) == client
