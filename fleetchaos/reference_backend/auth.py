"""OAuth2-style tokens: HMAC-signed access tokens that expire, refresh tokens in the DB.

Access tokens are checked without the database (signature and expiry), as a JWT
would be; the owner they name is still loaded from the database per request, which
is what puts the API on the shared pool.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time


class TokenError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret from a request with the expected one.

    ``hmac.compare_digest`` raises TypeError for ``str`` holding non-ASCII characters (a
    header such as ``X-Admin-Token: ü`` was a 500): bytes are compared instead, encoded as
    aiohttp decoded the header (UTF-8, undecodable bytes as surrogate escapes)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8", "surrogateescape"))


def hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode()).hexdigest()
    return f"{salt}${digest}"


def check_password(password: str, stored: str) -> bool:
    salt, _, _ = stored.partition("$")
    return hmac.compare_digest(hash_password(password, salt), stored)


class TokenSigner:
    def __init__(self, secret: bytes, ttl_s: float) -> None:
        self.secret = secret
        self.ttl_s = ttl_s

    def issue(self, owner_id: int) -> str:
        payload = json.dumps({"sub": owner_id, "exp": time.time() + self.ttl_s,
                              "jti": secrets.token_hex(4)}, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).rstrip(b"=")
        sig = base64.urlsafe_b64encode(hmac.digest(self.secret, body, "sha256")).rstrip(b"=")
        return f"{body.decode()}.{sig.decode()}"

    def verify(self, token: str) -> int:
        try:
            body, sig = token.encode().split(b".")
            expected = base64.urlsafe_b64encode(hmac.digest(self.secret, body, "sha256"))
            if not hmac.compare_digest(expected.rstrip(b"="), sig):
                raise ValueError
            payload = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
            owner_id, exp = int(payload["sub"]), float(payload["exp"])
        except (ValueError, KeyError, TypeError):
            raise TokenError("invalid_token", "the access token is not valid") from None
        if exp < time.time():
            raise TokenError("token_expired", "the access token has expired; refresh it")
        return owner_id
