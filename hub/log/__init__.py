"""The event log: one ordered, gap-free history per session, with a backend per URL scheme."""

from __future__ import annotations

from .base import Batch, ChannelEvent, EventLog, Head, LogConflict, LogUnavailable
from .embedded import EmbeddedLog
from .redis import RedisLog

__all__ = ["Batch", "ChannelEvent", "EventLog", "Head", "LogConflict", "LogUnavailable", "open_log"]


def open_log(
    redis_url: str | None, data_dir: str, prefix: str = "hub", history: int = 10_000
) -> EventLog:
    """The backend for a configuration: Redis when a URL is given, else the embedded one."""
    if redis_url:
        return RedisLog(redis_url, data_dir=data_dir, prefix=prefix, history=history)
    return EmbeddedLog(data_dir)
