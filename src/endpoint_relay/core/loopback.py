"""Which URLs may travel in cleartext: only those to this machine (local tests and the devstack)."""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult


def is_loopback_host(hostname: str | None) -> bool:
    """``localhost``, 127.0.0.0/8 or ``::1``."""
    if not hostname:
        return False
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def is_secure_url(parts: SplitResult) -> bool:
    """https anywhere, http only to a loopback host: a secret sent to any other host must be encrypted."""
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname))
