"""A person whose data must be erased, and where traces of them are searched for."""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from hub import keys
from hub.domain import commands
from hub.domain.commands import Actor, Decision
from hub.domain.erasure import LogEntry
from hub.domain.fact_kinds import apply
from hub.domain.session import new_session
from tests.support.inprocess import RunningHub

NAME = "Zorbafrique Quillington"
BOB = Actor("p2", "participant", "Bob")
MOD = Actor("m1", "moderator", "Moderator")


class Recorder:
    """A session built by deciding and applying, as the server does, keeping every fact."""

    def __init__(self) -> None:
        self.state = new_session("s1")
        self.entries: list[LogEntry] = []
        self.now = 1000
        self.fact(commands.create(title="Workshop", languages=["en"], state="live",
                                  settings={"premoderation": True}, now=self.now))

    def fact(self, fact: dict[str, Any]) -> None:
        self.now += 10
        apply(self.state, fact)
        self.entries.append(LogEntry(self.now, fact))

    def run(self, decision: Decision) -> dict[str, Any]:
        if decision.fact is not None:
            self.fact(decision.fact)
        return decision.result

    def join(self, actor: Actor, profile: dict[str, Any] | None = None) -> None:
        self.run(commands.join(self.state, actor.id, actor.role, actor.name, profile, False,
                               self.now))

    def ask(self, actor: Actor, text: str, key: str) -> str:
        result = self.run(commands.ask(self.state, actor, kind="question", text=text, key=key,
                                       lang=None, anonymous=False, on_behalf=None, now=self.now))
        return str(result["item"])

    def moderate(self, item: str, action: str) -> None:
        self.run(commands.moderate(self.state, MOD, item, action))


def traces(data: Any) -> list[str]:
    """Which of the person's data `data` (any JSON-ready value, or bytes) still holds."""
    # `default`: log entries (named tuples) as JSON arrays, as plain tuples are.
    raw = data if isinstance(data, bytes) else orjson.dumps(data, default=list)
    return [s for s in (NAME, "Quillington", "plugh-xyzzy", "frobnicate-7", "note-42")
            if s.encode() in raw]


async def stored_bytes(hub: RunningHub, session_id: str) -> bytes:
    """Everything the store holds of the session: the SQLite files, or every Redis key of
    the session (streams read whole), plus archive files."""
    event_log = hub.app[keys.LOG]
    await event_log.settled()
    config = hub.app[keys.CONFIG]
    found = b""
    for path in sorted(hub.data.rglob("*")):
        if path.is_file():
            found += path.read_bytes()
    if config.redis_url:
        client = aioredis.Redis.from_url(config.redis_url)
        try:
            async for key in client.scan_iter(match=f"{config.redis_prefix}:*", count=500):
                kind = (await client.type(key)).decode()
                if kind == "stream":
                    for _, fields in await client.xrange(key):
                        found += b"".join(k + v for k, v in fields.items())
                elif kind == "hash":
                    found += b"".join(k + v for k, v in (await client.hgetall(key)).items())
                elif kind == "string":
                    found += await client.get(key) or b""
        finally:
            await client.aclose()
    return found
