"""Logging set-up: plain text for a terminal, or one JSON object per line for collectors.

Records may carry `session`, `identity`, `role` and `code` (pass them in `extra=`); the
JSON format writes them as fields. Tokens and the admin key are never logged: nothing in
the hub passes them to a logger, and aiohttp's access log (which would show query
strings) is off.
"""

from __future__ import annotations

import logging
import sys
import time
import urllib.parse

import orjson

FIELDS = ("session", "identity", "role", "transport", "code", "reason")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message and the hub's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure(level: str, fmt: str) -> None:
    """Log to standard error at `level`, as `text` or `json`."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def redact(url: str) -> str:
    """A URL without its password, for logs (a Redis or PostgreSQL URL may carry one)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
