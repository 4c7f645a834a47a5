"""Tokens signed with a known secret, as staff tooling would sign them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

SECRET = "a-test-secret-of-at-least-32-characters-0123456789"


def signed(body: dict[str, Any], secret: str = SECRET) -> str:
    """A token made by hand with the deployment's secret, as an old hub (or a test) would."""
    raw = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    mac = hmac.new(secret.encode(), raw.encode(), hashlib.sha256).digest()
    return f"{raw}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
