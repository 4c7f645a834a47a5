"""Errors that cross the protocol edge: each carries a wire code and a reason."""

from __future__ import annotations

from typing import Any

# Wire error codes (docs/protocol.md, "Error codes").
BAD_REQUEST = "bad_request"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
RATE_LIMITED = "rate_limited"
TOO_LARGE = "too_large"
UNAVAILABLE = "unavailable"

HTTP_STATUS = {
    BAD_REQUEST: 400,
    UNAUTHORIZED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    CONFLICT: 409,
    TOO_LARGE: 413,
    RATE_LIMITED: 429,
    UNAVAILABLE: 503,
}


class HubError(Exception):
    """A refused request: `code` is the wire code, `message` says why and how to fix it."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def to_wire(self, ref: str | None = None) -> dict[str, Any]:
        """The `error` frame for this refusal."""
        frame: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        frame.update(self.extra)
        if ref is not None:
            frame["ref"] = ref
        return frame

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)


def bad_request(message: str) -> HubError:
    return HubError(BAD_REQUEST, message)


def forbidden(message: str) -> HubError:
    return HubError(FORBIDDEN, message)


def conflict(message: str) -> HubError:
    return HubError(CONFLICT, message)


def not_found(message: str) -> HubError:
    return HubError(NOT_FOUND, message)
