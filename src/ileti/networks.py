"""IP addresses and networks: the one parser for allow-lists and trusted proxies, and
the one membership check (an IPv4-mapped IPv6 address counts as its IPv4 address)."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: list[str] | tuple[str, ...] | str) -> tuple[Network, ...]:
    """CIDRs (or single addresses; a string may separate them with commas or spaces) ->
    networks; ValueError naming the first bad one."""
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or CIDR: {value!r}") from exc
    return tuple(networks)


def contains(networks: tuple[Network, ...], address: str | None) -> bool:
    """Whether ``address`` (text, as a peer or a header gives it) is in any network."""
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
