"""The SSRF guard: URLs tools fetch may not reach internal addresses.

Only http and https, no credentials in the URL; every address a host resolves to must be public
(not loopback, private, link-local, multicast, reserved...), IPv4 embedded in IPv6 included,
unless the host or its network is in `sandbox.allowed_hosts`. `UrlGuard.connector` re-checks the
address each connection actually opens, against DNS rebinding and redirects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from openclaw.errors import ToolError
from openclaw.sandbox.errors import deny

if TYPE_CHECKING:
    import aiohttp


USER_AGENT = "Mozilla/5.0 (compatible; openclaw)"
MAX_REDIRECTS = 10


def _url_host(url: str) -> tuple[str, int]:
    """Scheme, credentials and shape checks; returns (host, port)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise deny("malformed URL", f"{url}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise deny("URL scheme", f"{url}: only http and https URLs may be fetched")
    if parts.username is not None or parts.password is not None:
        raise deny("URL credentials", f"{url}: URLs with a user or password are refused")
    if any(char in parts.netloc for char in "\\ \t\r\n") or not parts.hostname:
        raise deny("malformed URL", f"{url}: no valid host")
    return parts.hostname.rstrip("."), port or (443 if scheme == "https" else 80)


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


class UrlGuard:
    """Checks URLs and addresses against SSRF, letting `allowed_hosts` through: names
    (`example.com`, `*.example.com`), addresses and networks (`10.0.0.0/8`)."""

    def __init__(self, allowed_hosts: Sequence[str]) -> None:
        hosts = [h.strip().lower().rstrip(".") for h in allowed_hosts]
        self._allowed_names = [h for h in hosts if not _is_network(h)]
        self._allowed_networks = [
            ipaddress.ip_network(h, strict=False) for h in hosts if _is_network(h)
        ]

    def _host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(
            host == name or (name.startswith(("*.", ".")) and host.endswith(name.lstrip("*")))
            for name in self._allowed_names
        )

    def _address_problem(self, address: str) -> str | None:
        """Why an address is internal (loopback, private, ...), or None when it may be used."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip.version == net.version and ip in net for net in self._allowed_networks):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
            if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
                embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if embedded is not None:
                return self._address_problem(str(embedded))
        for attribute, label in (
            ("is_loopback", "loopback"),
            ("is_link_local", "link-local"),
            ("is_multicast", "multicast"),
            ("is_unspecified", "unspecified"),
            ("is_private", "private"),
            ("is_reserved", "reserved"),
        ):
            if getattr(ip, attribute):
                return label
        return None if ip.is_global else "non-public"

    def check_address(self, address: str, *, url: str = "", host: str = "") -> None:
        """Raise SandboxDenied when an IP address is internal and not in sandbox.allowed_hosts."""
        problem = self._address_problem(address)
        if problem is not None:
            where = f"{url} → " if url else ""
            named = f"{host} resolves to " if host and host != address else ""
            raise deny(
                "internal address (SSRF)",
                f"{where}{named}{address}, {'an' if problem[0] in 'aeiou' else 'a'} {problem} "
                "address; add the host or its network to sandbox.allowed_hosts to allow it",
            )

    def _check_resolved(self, url: str, host: str, infos: list[Any]) -> None:
        for info in infos:
            self.check_address(str(info[4][0]), url=url, host=host)

    def check_url(self, url: str) -> None:
        """`SandboxPolicy.check_url`: every address the host resolves to must be public."""
        host, port = _url_host(url)
        if self._host_allowed(host):
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ToolError(f"cannot resolve {host}: {exc}") from None
        self._check_resolved(url, host, infos)

    async def check_url_async(self, url: str) -> None:
        """`check_url` without blocking the event loop while resolving."""
        host, port = _url_host(url)
        if self._host_allowed(host):
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise ToolError(f"cannot resolve {host}: {exc}") from None
        self._check_resolved(url, host, infos)

    def connector(self, **kwargs: Any) -> aiohttp.TCPConnector:
        """An aiohttp connector checking the address of every socket it connects (see
        `SandboxPolicy.ssrf_guarded_connector`)."""
        import aiohttp
        from aiohttp.abc import AbstractResolver, ResolveResult
        from aiohttp.resolver import DefaultResolver

        guard = self
        allowed_addresses: set[str] = set()

        class AllowedHostsResolver(AbstractResolver):
            """Remembers the addresses of allowed hostnames so their connections pass."""

            def __init__(self) -> None:
                self.inner = DefaultResolver()

            async def resolve(
                self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
            ) -> list[ResolveResult]:
                results = await self.inner.resolve(host, port, family)
                if guard._host_allowed(host):
                    allowed_addresses.update(result["host"] for result in results)
                return results

            async def close(self) -> None:
                await self.inner.close()

        def guarded_socket(addr_info: Any) -> socket.socket:
            family, kind, proto, _, address = addr_info
            if address[0] not in allowed_addresses:
                guard.check_address(address[0])
            return socket.socket(family, kind, proto)

        return aiohttp.TCPConnector(
            resolver=AllowedHostsResolver(), socket_factory=guarded_socket, **kwargs
        )
