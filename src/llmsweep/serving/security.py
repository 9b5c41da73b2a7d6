"""Who may use the server: loopback by default, a bearer token off loopback, compared in constant time.

The token comes from the environment only and is never logged or written to config."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from llmsweep.errors import UserError

log = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # any other host name may resolve to a public interface
        return False


def check_bind(host: str, token: str | None, token_env: str) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token:
        if len(token) < MIN_TOKEN_CHARS:
            log.warning(
                "$%s is shorter than %d characters; use a long random value (e.g. `openssl rand -hex 32`)",
                token_env,
                MIN_TOKEN_CHARS,
            )
        return
    if not is_loopback(host):
        raise UserError(
            f"host={host} is not a loopback address and ${token_env} is not set, so anyone who can reach this machine "
            f"could use the model. Fix: export {token_env}=$(openssl rand -hex 32) (clients send it as "
            f"'Authorization: Bearer <token>', the openai client as api_key), or keep host=127.0.0.1."
        )


def bearer_matches(expected: str, authorization: str | None) -> bool:
    """`Authorization: Bearer <token>` against the expected token, in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))
