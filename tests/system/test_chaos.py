"""Chaos: networks drop, readers stall, instances die, Redis goes away; nothing is lost.

Every case checks zero loss directly, not only "it kept working":
- every client's offsets per channel are gap-free and duplicate-free (the harness asserts
  it in its reader task; `CheckedClient.assert_healthy` fails the test if any reader task
  of any connection raised);
- every reconnect of a client that lost its connection is an exact resume (`recovered`);
- the final state equals the fold of the log: what each client accumulated (snapshot plus
  events) equals what a fresh client of the same identity gets in its welcome snapshot,
  and the captions equal the transcript export, each `seq` exactly once;
- commands whose answer was lost are sent again with the same idempotency key (`ask.key`,
  caption `seq`) and end up present exactly once.

Each case prints one line of numbers (clients, events, drops, retries, losses).
tests/server/test_resume.py, tests/system/test_multi_instance.py and
tests/system/test_restart.py cover the idle versions of these failures; the cases here
run them under load, with writers whose commands are in flight when the failure hits.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import redis
import websockets

from tests.support.harness import ADMIN_KEY, HubProcess, ahttp, create_session
from tests.support.inprocess import HubFactory, RunningHub
from tests.support.invariants import (
    CheckedClient,
    Stream,
    diff,
    fresh_view,
    metric,
    request_until_answered,
    rss_bytes,
)
from tests.support.redis_server import RedisProcess

# Processes: writers here go faster than the per-identity rate limits allow (asks 20
# per 10 minutes, captions 300 per 10 s), and a writer that retries through an outage
# would use its budget up; test_unavailable_asks_do_not_use_up_the_rate_limit (below)
# covers that on its own.
PROCESS_ENV = {"HUB_ASK_PER_10MIN": "1000", "HUB_VOTE_PER_MINUTE": "1000",
               "HUB_CAPTION_PER_10S": "100000"}


def report(case: str, **numbers: Any) -> None:
    """One line of numbers per case, for the run's output (pytest -s, or -rA)."""
    print(f"\nchaos {case}: " + ", ".join(f"{k}={v}" for k, v in numbers.items()))


class Meeting:
    """A session's clients, writers and keepers for one chaos case."""

    def __init__(self, sid: str, tokens: dict[str, str]) -> None:
        self.sid = sid
        self.tokens = tokens
        self.clients: list[CheckedClient] = []
        self.stop = asyncio.Event()
        self.keepers: list[asyncio.Task[None]] = []
        self.stats: dict[str, int] = {}
        self.acked_captions: dict[str, list[int]] = {}
        self.asked: dict[str, str] = {}  # ask key -> item id
        self.ask_texts: dict[str, str] = {}

    def client(self, ws_base: str, role: str, name: str, **hello: Any) -> CheckedClient:
        token = ADMIN_KEY if role == "organizer" else self.tokens[role]
        client = CheckedClient(ws_base, self.sid, token, name=name, **hello)
        self.clients.append(client)
        return client

    async def connect(self, clients: Iterable[CheckedClient] | None = None) -> None:
        for client in clients if clients is not None else self.clients:
            await client.connect()

    def keep(self, client: CheckedClient, urls: Callable[[], list[str]]) -> None:
        """Reconnect `client` with resume whenever it is closed, until `stop`."""

        async def keeper() -> None:
            while True:
                await client.closed.wait()
                if self.stop.is_set():
                    return
                claimed = {k: dict(v) for k, v in client.positions.items()}
                welcome = await client.reconnect(urls)
                assert all(p["recovered"] for p in welcome["channels"].values()), (
                    "not an exact resume", client.hello_extra, client.url, claimed,
                    welcome["channels"])

        self.keepers.append(asyncio.create_task(keeper()))

    async def captions(self, client: CheckedClient, lines: int, *, langs: tuple[str, ...] = ("en",),
                       pace: int = 10, on_line: Callable[[int], None] | None = None,
                       until: asyncio.Event | None = None) -> None:
        """Caption lines `<lang> <n>`, each `seq` per language, retried by `seq` until acked;
        `lines` of them, or with `until`, as many as it takes until it is set."""
        seqs = dict.fromkeys(langs, 0)
        n = 0
        while (n < lines) if until is None else not until.is_set():
            n += 1
            lang = langs[n % len(langs)]
            seqs[lang] += 1
            seq = seqs[lang]
            reply = await request_until_answered(
                client, {"type": "caption", "text": f"{lang} {seq}", "lang": lang, "seq": seq},
                stats=self.stats)
            assert reply["type"] == "ack", reply
            if reply.get("duplicate"):
                self.stats["duplicate_acks"] = self.stats.get("duplicate_acks", 0) + 1
            self.acked_captions.setdefault(lang, []).append(seq)
            if on_line is not None:
                on_line(n)
            if n % pace == 0:
                await asyncio.sleep(0.005)

    async def asks(self, client: CheckedClient, count: int, *, pace: float = 0.0,
                   found: asyncio.Queue[str] | None = None,
                   until: asyncio.Event | None = None) -> None:
        """`count` items (with `until`: until it is set), each retried by its key until
        acknowledged."""
        name = client.hello_extra["name"]
        n = -1
        while (n + 1 < count) if until is None else not until.is_set():
            n += 1
            key = f"{name}-{n}"
            text = f"{name} asks #{n}"
            reply = await request_until_answered(
                client, {"type": "ask", "kind": "question", "text": text, "key": key},
                stats=self.stats)
            assert reply["type"] == "ack", reply
            if reply.get("duplicate"):
                self.stats["duplicate_acks"] = self.stats.get("duplicate_acks", 0) + 1
            assert self.asked.setdefault(key, reply["item"]) == reply["item"], (key, reply)
            self.ask_texts[key] = text
            if found is not None:
                found.put_nowait(reply["item"])
            if pace:
                await asyncio.sleep(pace)

    async def votes(self, client: CheckedClient, items: list[str], count: int) -> None:
        """Votes on items as they come; a vote in the state asked for is acknowledged."""
        done = 0
        while done < count:
            if not items:
                await asyncio.sleep(0.01)
                continue
            reply = await request_until_answered(
                client, {"type": "vote", "item": items[done % len(items)]}, stats=self.stats)
            assert reply["type"] == "ack", reply
            done += 1

    async def finish(self) -> None:
        """Stop the keepers and wait until every client is connected."""
        for client in self.clients:
            await asyncio.wait_for(client.up.wait(), 30)
        self.stop.set()
        for task in self.keepers:
            task.cancel()
        await asyncio.gather(*self.keepers, return_exceptions=True)
        for task in self.keepers:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def settle_and_compare(self, ws_base: str) -> dict[str, Any]:
        """Wait until every client has every event, then check each one's fold against a
        fresh snapshot of the same identity. Returns the fresh views by identity."""
        tops: dict[tuple[str, str], int] = {}
        fresh: dict[str, dict[str, Any]] = {}
        for client in self.clients:
            if client.identity in fresh:
                continue
            probe = CheckedClient(ws_base, self.sid, client.token)
            welcome = await probe.connect()
            for name, pos in welcome["channels"].items():
                key = name if name != "private" else f"private:{client.identity}"
                tops[(key, client.identity)] = pos["offset"]
            await probe.close()
            fresh[client.identity] = welcome
        for client in self.clients:
            def caught_up(c: CheckedClient, me: CheckedClient = client) -> bool:
                return all(c.positions[name]["offset"] >= tops[(
                    name if name != "private" else f"private:{me.identity}", me.identity)]
                    for name in c.positions)
            await client.wait_for(caught_up, 30)
        # A fresh snapshot taken after every client caught up: nothing moved in between.
        for client in self.clients:
            client.assert_healthy()
            fold = client.fold()
            assert fold.complete, f"{client.hello_extra}: a snapshot replaced history"
            probe = CheckedClient(ws_base, self.sid, client.token)
            welcome = await probe.connect()
            await probe.close()
            problems = diff(fold.snapshot_view(), fresh_view(welcome))
            assert not problems, (client.hello_extra, problems[:10])
        return fresh

    async def check_transcript(
        self, base: str, lang: str = "en", text: Callable[[str, int], str] | None = None,
    ) -> list[dict[str, Any]]:
        """The transcript export holds every acknowledged line once, in order."""
        line = text or (lambda lang, seq: f"{lang} {seq}")
        status, body, _ = await ahttp(
            "GET", f"{base}/api/sessions/{self.sid}/transcript?format=json&lang={lang}",
            token=ADMIN_KEY)
        assert status == 200, body
        cues = body["cues"]
        seqs = [cue["seq"] for cue in cues]
        assert seqs == sorted(set(seqs)), f"duplicates or disorder in the transcript: {seqs}"
        assert seqs == sorted(self.acked_captions.get(lang, [])), "an acknowledged line is lost"
        assert [cue["text"] for cue in cues] == [line(lang, s) for s in seqs]
        return list(cues)

    def check_items(self, moderator: CheckedClient) -> None:
        """Every ask key is one item, with its text, present once."""
        items = moderator.fold().items()
        texts = [item["text"] for item in items]
        assert len(texts) == len(set(texts)), f"an item is there twice: {texts}"
        by_id = {item["id"]: item for item in items}
        for key, item_id in self.asked.items():
            assert by_id[item_id]["text"] == self.ask_texts[key], (key, by_id[item_id])

    def events(self) -> int:
        return sum(len(c.events) for c in self.clients)

    async def close(self) -> None:
        self.stop.set()
        for task in self.keepers:
            task.cancel()
        await asyncio.gather(*self.keepers, return_exceptions=True)
        for client in self.clients:
            await client.close()


@pytest.fixture
async def meetings() -> AsyncIterator[list[Meeting]]:
    """Every Meeting a test makes is closed afterwards, whatever happened."""
    made: list[Meeting] = []
    yield made
    for meeting in made:
        await meeting.close()


async def start_all(*hubs: HubProcess) -> None:
    await asyncio.gather(*(asyncio.to_thread(hub.start) for hub in hubs))


async def until_ready(hub: HubProcess, want: int = 200, timeout: float = 30.0) -> None:
    async def poll() -> None:
        while True:
            if (await ahttp("GET", f"{hub.url}/readyz"))[0] == want:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


# -- (a) a network drops mid-stream ---------------------------------------------------


@pytest.mark.timeout(120)
async def test_network_drops_mid_stream_every_reader_resumes_exactly(
    hub_factory: HubFactory, meetings: list[Meeting],
) -> None:
    """Every client (captioner, moderator, participants, a hub, a screen) has its TCP
    connection aborted three times while the captioner publishes in two languages,
    participants ask and vote, and the moderator approves and writes notes."""
    hub: RunningHub = await hub_factory()
    created = await hub.session(title="Chaos (a)", languages=["en", "fr"])
    meeting = Meeting(created["id"], created["tokens"])
    meetings.append(meeting)
    cap = meeting.client(hub.ws_base, "captioner", "Captioner")
    mod = meeting.client(hub.ws_base, "moderator", "Moderator")
    people = [meeting.client(hub.ws_base, "participant", f"P{n}") for n in range(4)]
    nairobi = meeting.client(hub.ws_base, "hub", "Nairobi")
    meeting.client(hub.ws_base, "screen", "Screen")
    await meeting.connect()
    for client in meeting.clients:
        meeting.keep(client, lambda: [hub.ws_base])
    rng = random.Random(7_2026)
    pending: asyncio.Queue[str] = asyncio.Queue()
    approved: list[str] = []
    notes_acked: list[str] = []
    writers_done = asyncio.Event()

    async def chaos(client: CheckedClient) -> None:
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0.02, 0.5))
            await asyncio.wait_for(client.up.wait(), 30)
            await client.drop()

    async def moderate() -> None:
        n = 0
        while not (writers_done.is_set() and pending.empty()):
            try:
                item = await asyncio.wait_for(pending.get(), 0.1)
            except TimeoutError:
                continue
            reply = await request_until_answered(
                mod, {"type": "moderate", "item": item, "action": "approve"}, stats=meeting.stats)
            # A retried approve whose first try landed finds the item approved already.
            assert reply["type"] == "ack" or (
                reply["code"] == "conflict" and "it is approved" in reply["message"]), reply
            approved.append(item)
            n += 1
            target = people[n % len(people)]
            text = f"note {n}"
            try:  # a note is not idempotent: not retried, and counted only when acked
                got = await mod.request({"type": "note", "to": target.identity, "text": text})
                if got["type"] == "ack":
                    notes_acked.append(text)
            except (ConnectionError, websockets.ConnectionClosed, TimeoutError):
                pass

    async def hub_room() -> None:
        for attendees in range(10, 31, 5):
            reply = await request_until_answered(
                nairobi, {"type": "hub_status", "attendees": attendees}, stats=meeting.stats)
            assert reply["type"] == "ack", reply
            await asyncio.sleep(0.05)

    async def writers() -> None:
        await asyncio.gather(
            meeting.captions(cap, 160, langs=("en", "fr"), pace=8),
            *(meeting.asks(p, 5, pace=0.03, found=pending) for p in people),
            *(meeting.votes(p, approved, 8) for p in people),
            hub_room(),
        )
        writers_done.set()

    await asyncio.gather(writers(), moderate(), *(chaos(c) for c in meeting.clients))
    await meeting.finish()
    await meeting.settle_and_compare(hub.ws_base)
    for client in meeting.clients:
        assert client.all_recovered(), client.hello_extra
    await meeting.check_transcript(hub.base, "en")
    await meeting.check_transcript(hub.base, "fr")
    meeting.check_items(mod)
    for person in people:  # every acknowledged note reached its reader, exactly once
        got = [e["data"]["text"] for e in person.kinds("note")]
        assert len(got) == len(set(got))
    received = {t for p in people for t in (e["data"]["text"] for e in p.kinds("note"))}
    assert set(notes_acked) <= received
    report("a", clients=len(meeting.clients), events=meeting.events(),
           drops=sum(c.drops for c in meeting.clients),
           resumes=sum(c.connects - 1 for c in meeting.clients),
           captions=sum(len(v) for v in meeting.acked_captions.values()),
           items=len(meeting.asked), **meeting.stats, losses=0)


# -- (b) a slow reader ------------------------------------------------------------------


@pytest.mark.timeout(120)
async def test_slow_readers_are_cut_off_bounded_and_resume_while_others_read(
    tmp_path: Path, meetings: list[Meeting],
) -> None:
    """Three readers on thin links stop reading while three others read and a captioner
    publishes 8 KB lines: the stalled ones are told `bye` 4000 and closed once their outbox
    is full (hub_slow_disconnects_total counts each once), the server's memory stays
    bounded, the others get everything, and the stalled ones get everything on resume."""
    outbox = 128
    hub = HubProcess(tmp_path / "data", env={**PROCESS_ENV, "HUB_OUTBOX_FRAMES": str(outbox)})
    await start_all(hub)
    try:
        assert hub.proc is not None
        created = await create_session(hub.url, "Chaos (b)", state="live")
        meeting = Meeting(created["id"], created["tokens"])
        meetings.append(meeting)
        cap = meeting.client(hub.ws_url, "captioner", "Captioner")
        fast = [meeting.client(hub.ws_url, "screen", f"Fast {n}") for n in range(3)]
        slow = [meeting.client(hub.ws_url, "screen", f"Slow {n}") for n in range(3)]
        for client in slow:
            client.small_buffers = True
        await meeting.connect()
        metrics_before = (await ahttp("GET", f"{hub.url}/metrics"))[1]
        rss_before = rss_bytes(hub.proc.pid)
        for client in slow:  # they stop reading: their sockets, then their outboxes, fill up
            assert client.reader is not None
            client.reader.cancel()
            await asyncio.gather(client.reader, return_exceptions=True)
        lines = 600
        filler = "x" * 8000
        peak = rss_before

        def sample(n: int) -> None:
            nonlocal peak
            if n % 50 == 0:
                assert hub.proc is not None
                peak = max(peak, rss_bytes(hub.proc.pid))

        for n in range(1, lines + 1):
            reply = await cap.ok({"type": "caption", "text": f"en {n} {filler}", "seq": n})
            assert not reply.get("duplicate")
            meeting.acked_captions.setdefault("en", []).append(n)
            sample(n)
        for client in fast:
            got = await client.wait_for(
                lambda c: len(c.kinds("caption")) == lines and c.kinds("caption"), 60)
            assert [e["data"]["seq"] for e in got] == list(range(1, lines + 1))
            assert not client.closed.is_set() and client.connects == 1  # never cut off

        async def slow_count() -> float:
            text = (await ahttp("GET", f"{hub.url}/metrics"))[1]
            return metric(text, "hub_slow_disconnects_total") - metric(
                metrics_before, "hub_slow_disconnects_total")

        async def all_cut() -> None:
            while True:
                if await slow_count() >= len(slow):
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(all_cut(), 30)
        assert await slow_count() == len(slow)  # each stalled reader cut off once; no other
        rss_after = rss_bytes(hub.proc.pid)
        peak = max(peak, rss_after)
        total_to_slow = len(slow) * lines * 8000
        # Everything sent to the stalled readers, had it been buffered for them, would
        # be `total_to_slow` bytes; the server held far less (outbox and socket bounds).
        assert peak - rss_before < 160 * 2**20, (rss_before, peak)

        drained = 0
        for client in slow:  # read what reached the thin link: events, then bye, then close
            stream = Stream()
            stream.positions = {k: dict(v) for k, v in client.positions.items()}
            texts = []
            frames = []
            while True:
                try:
                    raw = await asyncio.wait_for(client.ws.recv(), 20)
                except websockets.ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd else None
                    break
                frame = json.loads(raw)
                frames.append(frame)
                if frame["type"] == "event":
                    stream.event(frame)
                    texts.append(frame["data"]["text"])
            assert code == 4000, code
            byes = [f for f in frames if f["type"] == "bye"]
            assert byes == [{"type": "bye", "code": 4000, "reconnect": True,
                             "reason": "slow reader: too far behind; resume to catch up"}], byes
            assert frames[-1]["type"] == "bye"  # nothing after the goodbye
            assert len(texts) < lines  # it was cut off before the end
            drained += len(texts)
            client.positions = stream.positions
            welcome = await client.connect(resume=True)
            assert welcome["channels"]["public"]["recovered"] is True
            rest = await client.wait_for(
                lambda c: c.positions["public"]["offset"] == lines and c.kinds("caption"), 60)
            assert [f"en {n} {filler}" for n in range(1, lines + 1)] == \
                texts + [e["data"]["text"] for e in rest]
        for client in meeting.clients:
            client.assert_healthy()
        await meeting.check_transcript(hub.url, text=lambda lang, n: f"{lang} {n} {filler}")
        report("b", clients=len(meeting.clients), captions=lines, outbox_frames=outbox,
               slow_disconnects=int(await slow_count()), bytes_to_slow_readers=total_to_slow,
               rss_before_mb=round(rss_before / 2**20, 1), rss_peak_mb=round(peak / 2**20, 1),
               drained_before_bye=drained, events=meeting.events() + drained, losses=0)
    finally:
        hub.kill()


# -- (c) kill -9 of an instance under load ------------------------------------------------


@pytest.fixture
def two_instances(tmp_path: Path, redis_url: str, redis_prefix: str) -> Iterable[list[HubProcess]]:
    """Two `hub serve --redis` processes on the test Redis, under this test's prefix."""
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=redis_url, redis_prefix=redis_prefix,
                       env=dict(PROCESS_ENV)) for n in range(2)]
    yield hubs
    for hub in hubs:
        hub.kill()


@pytest.mark.redis
@pytest.mark.timeout(120)
async def test_kill_9_under_load_clients_move_and_in_flight_commands_retry_by_key(
    two_instances: list[HubProcess], meetings: list[Meeting],
) -> None:
    """Instance A is killed (-9) while its captioner publishes and its participants ask and
    vote: every client of A resumes exactly on B; a command whose answer was lost is sent
    again with the same `seq` or `key` and is present exactly once; B's clients go on."""
    a, b = two_instances
    await start_all(a, b)
    created = await create_session(a.url, "Chaos (c)", state="live",
                                   settings={"premoderation": False})
    meeting = Meeting(created["id"], created["tokens"])
    meetings.append(meeting)
    cap = meeting.client(a.ws_url, "captioner", "Captioner")
    writers = [meeting.client(a.ws_url, "participant", f"A{n}") for n in range(2)]
    mod = meeting.client(a.ws_url, "moderator", "Moderator")
    screen_a = meeting.client(a.ws_url, "screen", "Screen A")
    on_b = [meeting.client(b.ws_url, "participant", "Reader B"),
            meeting.client(b.ws_url, "screen", "Screen B")]
    await meeting.connect()
    for client in meeting.clients:
        meeting.keep(client, lambda: [b.ws_url])
    items: list[str] = []
    killed = asyncio.Event()
    kill: list[asyncio.Task[None]] = []

    async def kill_a() -> None:
        await asyncio.to_thread(a.kill)
        killed.set()

    def kill_at(n: int) -> None:  # in the background: the writers keep sending meanwhile
        if n == 60:
            kill.append(asyncio.create_task(kill_a()))

    async def collect(found: asyncio.Queue[str]) -> None:
        while True:
            items.append(await found.get())

    found: asyncio.Queue[str] = asyncio.Queue()
    collector = asyncio.create_task(collect(found))
    await asyncio.gather(
        meeting.captions(cap, 180, pace=5, on_line=kill_at),
        *(meeting.asks(w, 12, pace=0.02, found=found) for w in writers),
        *(meeting.votes(w, items, 12) for w in writers),
    )
    collector.cancel()
    await asyncio.gather(*kill)
    assert killed.is_set()
    await meeting.finish()
    for client in (cap, *writers, mod, screen_a):
        assert client.connects == 2 and client.all_recovered(), client.hello_extra
    for client in on_b:
        assert client.connects == 1, "a client of the surviving instance was disturbed"
    await meeting.settle_and_compare(b.ws_url)
    await meeting.check_transcript(b.url)
    meeting.check_items(mod)
    report("c", clients=len(meeting.clients), events=meeting.events(),
           moved=5, captions=len(meeting.acked_captions["en"]), items=len(meeting.asked),
           **meeting.stats, losses=0, duplicates=0)


# -- (d) Redis restarted, and Redis away for a while ------------------------------------


@pytest.mark.redis
@pytest.mark.timeout(150)
async def test_redis_away_and_restarted_instances_unready_keep_connections_lose_nothing(
    tmp_path: Path, meetings: list[Meeting],
) -> None:
    """Redis (append-only) is stopped for a while, then restarted, then restarted again
    at once, while a captioner publishes and participants ask on two instances: both
    instances answer /readyz 503 while it is away, keep every connection, refuse commands
    with `unavailable` only, recover without a restart, and lose nothing acknowledged."""
    server = RedisProcess(tmp_path / "redis", appendonly=True)
    server.start()
    hubs = [HubProcess(tmp_path / f"data{n}", redis_url=server.url, env=dict(PROCESS_ENV))
            for n in range(2)]
    try:
        await start_all(*hubs)
        a, b = hubs
        pids = [hub.proc.pid for hub in hubs if hub.proc]
        created = await create_session(a.url, "Chaos (d)", state="live",
                                       settings={"premoderation": False})
        meeting = Meeting(created["id"], created["tokens"])
        meetings.append(meeting)
        cap = meeting.client(a.ws_url, "captioner", "Captioner")
        writers = [meeting.client(b.ws_url, "participant", "B1"),
                   meeting.client(a.ws_url, "participant", "A1")]
        mod = meeting.client(a.ws_url, "moderator", "Moderator")
        readers = [meeting.client(b.ws_url, "screen", "Screen B"),
                   meeting.client(a.ws_url, "screen", "Screen A")]
        await meeting.connect()
        outages: list[dict[str, Any]] = []
        seen_unready: set[int] = set()
        done = asyncio.Event()

        def acked() -> int:
            return len(meeting.acked_captions.get("en", []))

        async def lines_acked(count: int) -> None:
            while True:
                if acked() >= count:
                    return
                await asyncio.sleep(0.02)

        async def refusals(before: int, count: int) -> None:
            while True:
                if meeting.stats.get("unavailable", 0) - before >= count:
                    return
                await asyncio.sleep(0.05)

        async def outage(restart_only: bool) -> None:
            before = meeting.stats.get("unavailable", 0)
            await asyncio.to_thread(server.stop)
            for hub in hubs:
                await until_ready(hub, 503)
                seen_unready.add(hub.port)
            if not restart_only:  # away for a while: the writers are refused a while
                await asyncio.wait_for(refusals(before, 20), 30)
            for client in meeting.clients:  # the connections are kept meanwhile
                assert client.up.is_set() and client.connects == 1, client.hello_extra
            await asyncio.to_thread(server.start)
            for hub in hubs:
                await until_ready(hub, 200)
            outages.append({"refused": meeting.stats.get("unavailable", 0) - before})

        async def sequence() -> None:  # while the writers keep sending
            try:
                await asyncio.wait_for(lines_acked(40), 30)
                await outage(restart_only=False)
                await asyncio.wait_for(lines_acked(acked() + 20), 30)
                await outage(restart_only=True)
                await asyncio.wait_for(lines_acked(acked() + 20), 30)
            finally:
                done.set()

        await asyncio.gather(
            sequence(),
            meeting.captions(cap, 0, pace=2, until=done),
            *(meeting.asks(w, 0, pace=0.1, until=done) for w in writers),
        )
        assert len(outages) == 2 and seen_unready == {a.port, b.port}
        assert [hub.proc.pid for hub in hubs if hub.proc and hub.proc.poll() is None] == pids
        for reader in readers:  # readers on both instances followed through both outages
            assert reader.positions["public"]["offset"] >= acked()
        for client in meeting.clients:  # nobody had to reconnect
            assert client.connects == 1 and not client.closed.is_set(), client.hello_extra
        assert set(meeting.stats) <= {"unavailable", "duplicate_acks"}, meeting.stats
        await meeting.settle_and_compare(a.ws_url)
        await meeting.check_transcript(b.url)
        meeting.check_items(mod)
        report("d", clients=len(meeting.clients), events=meeting.events(),
               captions=len(meeting.acked_captions["en"]), items=len(meeting.asked),
               refused_while_away=[o["refused"] for o in outages], **meeting.stats, losses=0)
    finally:
        for hub in hubs:
            hub.kill()
        server.kill()


# -- (e) graceful shutdown during a meeting -----------------------------------------------


@pytest.mark.redis
@pytest.mark.timeout(120)
async def test_sigterm_during_a_meeting_clients_reconnect_and_nothing_acknowledged_is_lost(
    two_instances: list[HubProcess], meetings: list[Meeting],
) -> None:
    """Instance A gets SIGTERM while its captioner publishes and its participants ask:
    every client of A gets `bye` 1012 and close 1012, A exits 0, and the clients resume
    exactly, some on B, some on A once it is back; nothing acknowledged is lost."""
    a, b = two_instances
    await start_all(a, b)
    created = await create_session(a.url, "Chaos (e)", state="live",
                                   settings={"premoderation": False})
    meeting = Meeting(created["id"], created["tokens"])
    meetings.append(meeting)
    cap = meeting.client(a.ws_url, "captioner", "Captioner")
    writer = meeting.client(a.ws_url, "participant", "A1")
    mod = meeting.client(a.ws_url, "moderator", "Moderator")
    screen_a = meeting.client(a.ws_url, "screen", "Screen A")
    on_b = meeting.client(b.ws_url, "screen", "Screen B")
    await meeting.connect()
    to_b, back_to_a = [cap, screen_a], [writer, mod]
    for client in (*to_b, on_b):
        meeting.keep(client, lambda: [b.ws_url])
    for client in back_to_a:
        meeting.keep(client, lambda: [a.ws_url])
    exit_code: list[int] = []
    stopping: list[asyncio.Task[None]] = []

    async def stop_and_restart() -> None:
        exit_code.append(await asyncio.to_thread(a.terminate))
        await asyncio.to_thread(a.start)

    def stop_at(n: int) -> None:  # in the background: the writers keep sending meanwhile
        if n == 50:
            stopping.append(asyncio.create_task(stop_and_restart()))

    await asyncio.gather(
        meeting.captions(cap, 150, pace=5, on_line=stop_at),
        meeting.asks(writer, 12, pace=0.03),
    )
    await asyncio.gather(*stopping)
    assert exit_code == [0] and "hub stopped" in a.output()
    await meeting.finish()
    for client in (*to_b, *back_to_a):
        assert client.close_code is None or client.connects == 2
        byes = [f for f in client.frames if f["type"] == "bye"]
        assert byes == [{"type": "bye", "code": 1012, "reason": "server restarting",
                         "reconnect": True}], (client.hello_extra, byes)
        assert client.connects == 2 and client.all_recovered(), client.hello_extra
    assert on_b.connects == 1
    await meeting.settle_and_compare(a.ws_url)
    await meeting.check_transcript(b.url)
    meeting.check_items(mod)
    report("e", clients=len(meeting.clients), events=meeting.events(),
           captions=len(meeting.acked_captions["en"]), items=len(meeting.asked),
           moved_to_b=len(to_b), back_on_restarted_a=len(back_to_a), **meeting.stats, losses=0)


# -- findings -------------------------------------------------------------------------------


@pytest.mark.redis
async def test_unavailable_asks_do_not_use_up_the_rate_limit(
    tmp_path: Path, hub_factory: HubFactory,
) -> None:
    server = RedisProcess(tmp_path / "redis")
    server.start()
    try:
        hub: RunningHub = await hub_factory(redis_url=server.url, ask_per_10min=3)
        created = await hub.session()
        alice = CheckedClient(hub.ws_base, created["id"], created["tokens"]["participant"],
                              name="Alice")
        await alice.connect()
        try:
            server.stop()
            ask = {"type": "ask", "kind": "question", "text": "Is anyone there?", "key": "k1"}
            codes = [(await alice.request(ask))["code"] for _ in range(4)]
            server.start()
            assert codes == ["unavailable"] * 4, codes  # nothing was stored: nothing to limit

            async def accepted() -> dict[str, Any]:
                while True:
                    if alice.closed.is_set():  # Redis came back empty: the session was put
                        await alice.connect(resume=True)  # back under a new epoch
                    try:
                        reply = await alice.request(ask)
                    except ConnectionError:
                        continue
                    if reply["type"] == "ack" or reply["code"] != "unavailable":
                        return reply
                    await asyncio.sleep(0.1)

            reply = await asyncio.wait_for(accepted(), 20)
            assert reply["type"] == "ack", reply
        finally:
            await alice.close()
    finally:
        server.kill()


async def test_the_redis_password_never_reaches_the_log(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path / "redis")
    server.start()
    try:
        password = f"pw-{uuid.uuid4().hex}"
        with redis.Redis.from_url(server.url) as admin:
            admin.config_set("requirepass", password)
        hub = HubProcess(tmp_path / "data",
                         redis_url=f"redis://:{password}@127.0.0.1:{server.port}/0")
        try:
            await asyncio.to_thread(hub.start)
        finally:
            hub.kill()
        assert "hub ready on" in hub.output()
        assert password not in hub.output()
    finally:
        server.kill()


@pytest.mark.redis
@pytest.mark.timeout(120)
async def test_a_resume_racing_with_appends_is_still_recovered(
    hub_factory: HubFactory, redis_url: str, redis_prefix: str,
) -> None:
    hub: RunningHub = await hub_factory(redis_url=redis_url, redis_prefix=redis_prefix,
                                        caption_per_10s=100_000, ingest_per_10s=100_000,
                                        ingest_lines_per_post=2500)
    created = await hub.session(title="Resume race")
    sid, tokens = created["id"], created["tokens"]
    history = "\n".join(f"line {n}" for n in range(2500))  # one batch of 2500 events
    status, _, _ = await ahttp("POST", f"{hub.base}/api/sessions/{sid}/captions"
                               f"?token={tokens['captioner']}", history, content_type="text/plain")
    assert status == 200
    cap = CheckedClient(hub.ws_base, sid, tokens["captioner"])
    await cap.connect()
    epoch = cap.welcome["channels"]["public"]["epoch"]
    stop = asyncio.Event()

    async def publish() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await cap.ok({"type": "caption", "text": f"live {n}"})

    publisher = asyncio.create_task(publish())
    outcomes = []
    try:
        for _ in range(100):  # until one resume falls back (it takes a few, usually)
            late = CheckedClient(hub.ws_base, sid, tokens["screen"])
            late.positions = {"public": {"epoch": epoch, "offset": 0}}
            welcome = await late.connect(resume=True)
            await late.close()
            outcomes.append(welcome["channels"]["public"])
            if not welcome["channels"]["public"]["recovered"]:
                break
    finally:
        stop.set()
        await publisher
        await cap.close()
    assert all(o["recovered"] for o in outcomes), (
        f"{sum(not o['recovered'] for o in outcomes)} of {len(outcomes)} resumes fell back "
        f"to a snapshot: {outcomes[-1]}")
