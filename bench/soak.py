"""Soak: a meeting of thousands of participants on two instances and Redis, for minutes.

Random disconnects (TCP aborted, then resume on either instance), asks, votes and
moderation, while a captioner publishes. Reports losses (must be zero), reconnect time,
server memory over time (must stay flat once the audience is in) and errors by code.
Loopback only; bounded in clients and time. Run by hand, never in CI:

    .venv/bin/python bench/soak.py --participants 2000 --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.harness import Client, HubProcess, create_session

LIMITS = {  # a soak is one address opening thousands of connections: lift the per-address caps
    "HUB_MAX_CONNECTIONS_PER_ADDRESS": "100000",
    "HUB_HELLO_PER_MINUTE": "1000000",
    "HUB_NEW_IDENTITIES_PER_ADDRESS": "1000000",
    "HUB_SHARED_NEW_IDENTITIES": "1000000",
    "HUB_SHARED_VOTES": "1000000",
    "HUB_CAPTION_PER_10S": "100000",
    "HUB_ASK_PER_10MIN": "1000",
}


def rss_mib(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def drop_keys(url: str, prefix: str) -> None:
    """Delete the run's keys from the (shared) Redis: every soak has its own prefix."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    except redis.RedisError as exc:
        print(f"soak: keys under {prefix}: left in Redis ({exc})", file=sys.stderr)
    finally:
        client.close()


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.errors: Counter[str] = Counter()
        self.reconnects: list[float] = []
        self.violations: list[str] = []
        self.sent: list[str] = []
        self.memory: list[tuple[float, float, float]] = []
        self.approved: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.busy: set[int] = set()  # people between a drop and their return
        self.away: set[int] = set()  # people whose return failed: tried again at the end

    def spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self) -> dict[str, Any]:
        args = self.args
        tmp = Path(tempfile.mkdtemp(prefix="hub-soak-"))
        prefix = f"soak{uuid.uuid4().hex[:6]}"
        hubs = [HubProcess(tmp / f"data{n}", redis_url=args.redis, redis_prefix=prefix,
                           env=LIMITS).start() for n in range(2)]
        try:
            return await self._meeting(hubs)
        finally:
            for hub in hubs:
                hub.terminate()
            drop_keys(args.redis, prefix)

    def _client(self, hub: HubProcess, created: dict[str, Any], role: str, **kw: Any) -> Client:
        return Client(hub.ws_url, created["id"], created["tokens"][role], **kw)

    async def _meeting(self, hubs: list[HubProcess]) -> dict[str, Any]:
        args = self.args
        created = await create_session(hubs[0].url, "Soak", state="live",
                                       settings={"premoderation": True})
        mod = self._client(hubs[0], created, "moderator", name="Chair")
        cap = self._client(hubs[1], created, "captioner", name="Captioner")
        await mod.connect()
        await cap.connect()
        people = [self._client(hubs[n % 2], created, "participant", name=f"P{n}")
                  for n in range(args.participants)]
        t0 = time.monotonic()
        for start in range(0, len(people), 200):
            await asyncio.gather(*(p.connect() for p in people[start:start + 200]))
        joined_in = time.monotonic() - t0
        deadline = time.monotonic() + args.minutes * 60
        tasks = [
            asyncio.create_task(self._captions(cap, deadline)),
            asyncio.create_task(self._moderation(mod, deadline)),
            asyncio.create_task(self._crowd(people, hubs, deadline)),
            asyncio.create_task(self._sample(hubs, deadline)),
        ]
        await asyncio.gather(*tasks)
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.sleep(3)  # let the last captions arrive
        for person in people:
            if person.closed.is_set() or person.ws is None or id(person) in self.away:
                await self._reconnect(person, hubs)
        await asyncio.gather(*(p.wait_for(lambda c: len(c.kinds("caption")) >= len(self.sent),
                                          timeout=60) for p in people), return_exceptions=True)
        lost = duplicated = 0
        for person in people:
            got = [e["data"]["text"] for e in person.kinds("caption")]
            if got != self.sent:
                missing = set(self.sent) - set(got)
                lost += len(missing)
                duplicated += len(got) - len(set(got))
                if len(self.violations) < 5:
                    self.violations.append(f"{person.welcome['you']['id']}: missing "
                                           f"{len(missing)}, extra {len(got) - len(set(got))}")
        for client in (mod, cap, *people):
            await client.close()
        return self._summary(joined_in, lost, duplicated, len(people))

    async def _captions(self, cap: Client, deadline: float) -> None:
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            text = f"caption {seq}"
            try:
                await cap.ok({"type": "caption", "text": text, "seq": seq})
                self.sent.append(text)
            except (AssertionError, ConnectionError, TimeoutError) as exc:
                self.errors[f"captioner: {type(exc).__name__}"] += 1
            await asyncio.sleep(1 / self.args.caption_rate)

    async def _moderation(self, mod: Client, deadline: float) -> None:
        handled: set[str] = set()
        tick = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            tick += 1
            pending = [e["data"]["id"] for e in mod.kinds("item", "moderation")
                       if e["data"]["status"] == "pending" and e["data"]["id"] not in handled]
            for item in pending[:20]:
                handled.add(item)
                action = "approve" if self.rng.random() < 0.8 else "reject"
                reply = await self._moderate(mod, item, action)
                if reply is not None and action == "approve":
                    self.approved.append(item)
            if tick % 10 == 0 and self.approved:
                await self._moderate(mod, self.approved.pop(0), "live")

    async def _moderate(self, mod: Client, item: str, action: str) -> dict[str, Any] | None:
        """The moderator's command: its ack, or None (an error or no answer, counted: a
        loaded machine must not end the soak)."""
        try:
            reply = await mod.request({"type": "moderate", "item": item, "action": action})
        except (ConnectionError, TimeoutError) as exc:
            self.errors[f"moderator: {type(exc).__name__}"] += 1
            return None
        if reply["type"] == "error":
            self.errors[reply["code"]] += 1
            return None
        return reply

    async def _crowd(self, people: list[Client], hubs: list[HubProcess], deadline: float) -> None:
        args = self.args
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            for person in self.rng.sample(people, max(1, int(len(people) * args.drop_rate))):
                self.spawn(self._drop_and_return(person, hubs))
            for person in self.rng.sample(people, max(1, int(len(people) * args.ask_rate))):
                if id(person) not in self.busy and not person.closed.is_set():
                    self.spawn(self._ask(person))
            if self.approved:
                for person in self.rng.sample(people, max(1, int(len(people) * args.vote_rate))):
                    if id(person) not in self.busy and not person.closed.is_set():
                        self.spawn(self._vote(person, self.rng.choice(self.approved)))

    async def _ask(self, person: Client) -> None:
        try:
            reply = await person.request({"type": "ask", "kind": "question",
                                          "text": "A question from the soak",
                                          "key": uuid.uuid4().hex})
            if reply["type"] == "error":
                self.errors[reply["code"]] += 1
        except (ConnectionError, TimeoutError):
            pass  # dropped meanwhile: not an error of the hub

    async def _vote(self, person: Client, item: str) -> None:
        try:
            reply = await person.request({"type": "vote", "item": item})
            if reply["type"] == "error" and reply["code"] not in ("conflict", "not_found"):
                self.errors[reply["code"]] += 1
        except (ConnectionError, TimeoutError):
            pass

    async def _drop_and_return(self, person: Client, hubs: list[HubProcess]) -> None:
        if id(person) in self.busy or person.ws is None or person.closed.is_set():
            return
        self.busy.add(id(person))
        try:
            await person.drop()
            await asyncio.sleep(self.rng.uniform(0, 2))
            await self._reconnect(person, hubs)
        finally:
            self.busy.discard(id(person))

    async def _reconnect(self, person: Client, hubs: list[HubProcess]) -> None:
        hub = self.rng.choice(hubs)
        person.url = f"{hub.ws_url}/ws/{person.url.rsplit('/', 1)[1]}"
        started = time.monotonic()
        try:
            welcome = await person.connect(resume=True)
        except Exception as exc:  # counted: a failed reconnect is a finding
            self.errors[f"reconnect: {type(exc).__name__}"] += 1
            self.away.add(id(person))
            return
        self.away.discard(id(person))
        self.reconnects.append(time.monotonic() - started)
        if not all(ch["recovered"] for ch in welcome["channels"].values()):
            self.errors["resume not recovered"] += 1

    async def _sample(self, hubs: list[HubProcess], deadline: float) -> None:
        t0 = time.monotonic()
        while time.monotonic() < deadline:
            assert hubs[0].proc is not None and hubs[1].proc is not None
            self.memory.append((round(time.monotonic() - t0), rss_mib(hubs[0].proc.pid),
                                rss_mib(hubs[1].proc.pid)))
            await asyncio.sleep(self.args.sample_every)

    def _summary(self, joined_in: float, lost: int, duplicated: int, people: int) -> dict[str, Any]:
        recon = sorted(self.reconnects)
        q = (statistics.quantiles(recon, n=100, method="inclusive") if len(recon) > 1
             else [recon[0] if recon else 0.0] * 99)
        return {
            "participants": people,
            "joined_in_s": round(joined_in, 1),
            "captions_acked": len(self.sent),
            "captions_lost": lost,
            "captions_duplicated": duplicated,
            "violations": self.violations,
            "reconnects": len(recon),
            "reconnect_p50_ms": round(q[49] * 1000, 1),
            "reconnect_p99_ms": round(q[98] * 1000, 1),
            "errors_by_code": dict(self.errors),
            "memory_mib_over_time": self.memory,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--redis", default=os.environ.get("HUB_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/0"))
    parser.add_argument("--caption-rate", type=float, default=4.0, help="captions per second")
    parser.add_argument("--drop-rate", type=float, default=0.005, help="share dropping per second")
    parser.add_argument("--ask-rate", type=float, default=0.0005, help="share asking per second")
    parser.add_argument("--vote-rate", type=float, default=0.002, help="share voting per second")
    parser.add_argument("--sample-every", type=float, default=30.0, help="memory sample, seconds")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    result = asyncio.run(Soak(args).run())
    for key, value in result.items():
        print(f"{key:24} {value}")


if __name__ == "__main__":
    main()
