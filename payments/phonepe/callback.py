"""Webhook authentication as PhonePe does it (docs/phonepe.md §7).

The `Authorization` header is the lowercase hex SHA-256 of "username:password", with
no prefix. It proves only that the sender knows the shared credentials; it does not
cover the body, so the body is never trusted on its own (docs/phonepe.md §11.1).
"""

import hashlib
import hmac


def callback_authorization(username: str, password: str) -> str:
    return hashlib.sha256(f"{username}:{password}".encode()).hexdigest()


def callback_is_authentic(header_value: str | None, *, username: str, password: str) -> bool:
    if not header_value or not username or not password:
        return False
    expected = callback_authorization(username, password)
    return hmac.compare_digest(header_value.strip().encode(), expected.encode())
