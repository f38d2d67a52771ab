"""Which HTTP proxy (if any) a request to PostHog goes through.

The same rules as urllib and requests: ``HTTPS_PROXY`` for an https host,
``HTTP_PROXY`` for an http one, ``ALL_PROXY`` as a fallback (lower-case names
win), and ``NO_PROXY`` exempts hosts by name, domain suffix, ``*``, or (as in
requests and curl) an IP network in CIDR form such as ``10.0.0.0/8``, which
the standard library does not understand. Otherwise the environment is read
through :func:`urllib.request.getproxies` and
:func:`urllib.request.proxy_bypass`, so the parsing is the standard library's.
An https host is reached through an HTTP ``CONNECT`` tunnel; TLS is end to end.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import urllib.request
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

log = logging.getLogger("multica_db.analytics")

#: ``None``: from the environment; ``False``: never; a URL: always that proxy.
ProxySetting = str | Literal[False] | None


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy: where to connect, and the credentials to present."""

    host: str
    port: int
    authorization: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.authorization is None else {"Proxy-Authorization": self.authorization}


def parse_proxy(url: str) -> Proxy:
    """``[http://][user:password@]host[:port]`` -> :class:`Proxy`; ``ValueError`` otherwise.

    Only plain-HTTP proxies are supported (an https target is still TLS end to
    end through ``CONNECT``); a ``socks5://`` or ``https://`` proxy is refused
    rather than silently bypassed.
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"proxy URL has a bad port: {url!r}") from None
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"proxy must be an http:// URL with a host, got {url!r}")
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    return Proxy(parts.hostname, port or 80, authorization)


def proxy_for(scheme: str, host: str, port: int, setting: ProxySetting) -> Proxy | None:
    """The proxy for ``scheme://host:port``, or ``None`` to connect directly.

    An explicit URL is always used (a bad one raises ``ValueError``). From the
    environment, ``NO_PROXY`` is honoured and an unusable proxy URL is logged
    and ignored, so a stray ``ALL_PROXY=socks5://...`` meant for another tool
    cannot stop the service from starting.
    """
    if setting is False:
        return None
    if setting is not None:
        return parse_proxy(setting)
    proxies = urllib.request.getproxies()
    url = proxies.get(scheme) or proxies.get("all")
    if not url:
        return None
    if (
        in_no_proxy_network(host, proxies.get("no", ""))
        or urllib.request.proxy_bypass(f"{host}:{port}")
        or urllib.request.proxy_bypass(host)
    ):
        return None
    try:
        return parse_proxy(url)
    except ValueError as exc:
        log.warning("analytics: ignoring the %s proxy from the environment: %s", scheme, exc)
        return None


def in_no_proxy_network(host: str, no_proxy: str) -> bool:
    """Whether ``host`` is an IP address inside a CIDR entry of ``no_proxy``.

    Host names are never resolved for this (neither requests nor curl do):
    ``10.0.0.0/8`` exempts ``10.1.2.3``, not a name that resolves to it.
    """
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    for entry in no_proxy.split(","):
        entry = entry.strip()
        if "/" not in entry:
            continue
        try:
            network = ipaddress.ip_network(entry.replace("[", "").replace("]", ""), strict=False)
        except ValueError:
            continue
        # A zero-length prefix is not a network entry (requests ignores it too):
        # "0.0.0.0/0" must not quietly switch the proxy off for every address.
        if network.prefixlen and address.version == network.version and address in network:
            return True
    return False
