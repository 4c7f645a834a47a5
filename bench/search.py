"""Search benchmark: 1,000,000 transcript lines, search p99 on both backends,
and caption delivery with indexing off and on, side by side.

1. **Index and search**: generates `--lines` caption lines in the six UN languages
   (bench/search_text.py: IGF-like sentences, deterministic for `--seed`) as documents of
   sessions of two events, indexes them into SQLite FTS5 (a temporary data folder) and
   into PostgreSQL (`--postgres URL`, else a private server started like the tests'), then
   runs a mix of queries (common and rare words, phrases, prefixes, Chinese and Arabic,
   with and without filters, later pages) and reports the latency of `search` plus the
   snippets the API builds: p50, p95, p99, max.
2. **Delivery while indexing** (`--delivery-seconds`, 0: skip): a real `hub serve` process
   whose event has `--sessions` live sessions, `--readers` websocket readers on each, and
   `--rate` caption lines per second across the sessions (HTTP ingest, each line carrying
   its send time); each reader's delivery latency is measured for the same load with the
   index off (the indexer not started) and on, alternating, `--rounds` times.

Loopback only; every process it starts is stopped at the end. Run by hand:

    .venv/bin/python bench/search.py                      # 1M lines, both parts
    .venv/bin/python bench/search.py --lines 100000 --delivery-seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_text import lines as caption_lines  # noqa: E402
from hub.search.base import Filters, SearchIndex  # noqa: E402
from hub.search.documents import Document  # noqa: E402
from hub.search.query import parse  # noqa: E402
from hub.search.snippet import snippet  # noqa: E402

LINES_PER_SESSION = 4000
TRACKS = ["Digital", "AI", "Rights", "Sustainability", "Trust"]
TYPES = ["workshop", "open_forum", "main_session", "lightning_talk", "town_hall"]
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("internet governance", {}),
    ("governance", {}),  # common: about one English line in ten
    ("cybersecurity", {"lang": "en"}),
    ('"community networks"', {}),
    ('"digital public infrastructure"', {"event": "igf2025"}),
    ("multistakeholder approach", {}),
    ("connect*", {}),
    ("cyber*", {"kind": "transcript"}),
    ("quantum computing", {"year": 2025}),
    ("submarine cables pacific", {}),
    ("gouvernance", {"lang": "fr"}),
    ("fracture numérique", {}),
    ("gobernanza", {}),
    ('"brecha digital"', {"lang": "es"}),
    ("управление интернетом", {}),
    ("кибербезопасность", {"lang": "ru"}),
    ("الذكاء الاصطناعي", {}),
    ("حوكمة الانترنت", {"lang": "ar"}),
    ("治理", {}),
    ("人工智能", {"lang": "zh"}),
    ("网络", {}),
    ("young people", {"track": "AI"}),
    ("regulators", {"type": "workshop"}),
    ("governments", {}),  # page 3 of a common word
    ("zzzqqq nothing", {}),
]


def documents(count: int, seed: int) -> list[list[Document]]:
    """`count` caption lines as documents, grouped by session (igf2024-n, igf2025-n)."""
    rng = random.Random(seed)
    sessions: list[list[Document]] = []
    current: list[Document] = []
    for n, (lang, text) in enumerate(caption_lines(rng, count)):
        number = n // LINES_PER_SESSION
        event = "igf2024" if number % 2 else "igf2025"
        session = f"{event}-{number + 1}"
        position = n % LINES_PER_SESSION
        current.append(Document(
            session=session, key=f"t{position}", kind="transcript", text=text, lang=lang,
            event=event, title=f"Session {number + 1}", track=TRACKS[number % len(TRACKS)],
            type=TYPES[number % len(TYPES)],
            day=f"{event[3:]}-06-{23 + number % 5}", ts=1_750_000_000_000 + n * 3000,
            url=f"/e/{event}/s/{session}?t={position * 3}"))
        if len(current) == LINES_PER_SESSION:
            sessions.append(current)
            current = []
    if current:
        sessions.append(current)
    return sessions


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {"n": len(ordered), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99),
            "max": ordered[-1], "mean": statistics.fmean(ordered)}


async def index_and_search(index: SearchIndex, sessions: list[list[Document]],
                           repeats: int) -> dict[str, Any]:
    await index.start()
    try:
        started = time.perf_counter()
        for docs in sessions:
            await index.replace(docs[0].session, docs)
        indexing = time.perf_counter() - started
        count = await index.count()
        samples: list[float] = []
        per_query: dict[str, list[float]] = {}
        totals: dict[str, int] = {}
        for _ in range(repeats):
            for text, filters in QUERIES:
                page = 3 if text == "governments" else 1
                began = time.perf_counter()
                query = parse(text)
                found = await index.search(query, Filters(**filters), page)
                for doc in found.documents:
                    snippet(doc.text, query)
                took = (time.perf_counter() - began) * 1000
                samples.append(took)
                per_query.setdefault(text, []).append(took)
                totals[text] = found.total
        return {"documents": count, "index_seconds": indexing,
                "lines_per_second": count / indexing, "search_ms": percentiles(samples),
                "queries": {q: {"total": totals[q], "p50_ms": statistics.median(v),
                                "max_ms": max(v)} for q, v in per_query.items()}}
    finally:
        await index.close()


def part_one(args: argparse.Namespace) -> dict[str, Any]:
    from hub.search.postgres import PostgresIndex
    from hub.search.sqlite import SqliteIndex

    began = time.perf_counter()
    sessions = documents(args.lines, args.seed)
    print(f"generated {args.lines} lines in {len(sessions)} sessions "
          f"({time.perf_counter() - began:.1f} s)", flush=True)
    out: dict[str, Any] = {}
    if not args.no_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="hub-search-bench-"))
        try:
            sqlite = SqliteIndex(str(folder))
            out["sqlite"] = asyncio.run(index_and_search(sqlite, sessions, args.repeats))
            out["sqlite"]["bytes"] = sum(f.stat().st_size
                                         for f in folder.glob("search.sqlite*"))
            print("sqlite:", json.dumps(out["sqlite"]["search_ms"]), flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if args.no_postgres:
        return out
    server = None
    url = args.postgres
    if not url:
        from tests.support.postgres_server import PostgresProcess

        # A deployment's PostgreSQL keeps its working set in memory: shared_buffers as a
        # dedicated server would set it (the default, 128 MB, is for a laptop).
        server = PostgresProcess({"shared_buffers": "1GB", "work_mem": "32MB",
                                  "effective_cache_size": "4GB"})
        server.start()
        url = server.url
    try:
        out["postgres"] = asyncio.run(index_and_search(PostgresIndex(url), sessions,
                                                       args.repeats))
        print("postgres:", json.dumps(out["postgres"]["search_ms"]), flush=True)
    finally:
        if server is not None:
            server.stop()
    return out


# -- part two: caption delivery with the indexer off and on ------------------------------


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    tokens: dict[str, dict[str, str]]  # session -> role -> token


async def programme_of(forums: Any, count: int) -> list[str]:
    """An event whose programme has `count` sessions, each a live hub session."""
    from hub.domain import commands
    from hub.domain import forum as forum_domain
    from hub.domain.commands import Actor
    from hub.domain.programme import ProgrammeRow
    from hub.session import now_ms

    start = int(time.time() * 1000)
    day = time.strftime("%Y-%m-%d", time.gmtime(start / 1000))
    forum = await forums.create("bench", forum_domain.create(
        {"title": "Bench", "start": day, "timezone": "UTC"}, now=start))
    rows = [ProgrammeRow(n, f"S{n}", f"Session {n}", start, start + 3_600_000,
                         track=TRACKS[n % len(TRACKS)], kind=TYPES[n % len(TYPES)],
                         languages=("en",)) for n in range(1, count + 1)]
    await forum.execute(lambda st: forum_domain.import_programme(
        st, rows, source="bench", by="bench", now=now_ms()))
    await forums.materialize(forum)
    ids = [f"bench-{n}" for n in range(1, count + 1)]
    for session_id in ids:
        session = await forums.sessions.get(session_id)
        await session.execute(lambda st: commands.change_session(
            st, Actor("organizer", "organizer", "Organizer"), new_state="live", title=None,
            languages=None, settings=None))
    return ids


def serve_main(args: argparse.Namespace) -> None:
    """The hub process of part two: an event with live sessions, then `hub serve`'s app."""
    from aiohttp import web

    from hub import keys
    from hub.app import create_app
    from hub.config import Config
    from hub.search import indexer as indexer_module

    if args.index == "off":  # the indexer never starts: watchers are not even attached
        async def idle(self: indexer_module.Indexer) -> None:
            return None

        indexer_module.Indexer.start = idle  # type: ignore[method-assign]

    async def run() -> None:
        config = Config(port=args.port, data=args.data, admin_key=secrets.token_urlsafe(32),
                        caption_per_10s=100_000, ingest_per_10s=100_000,
                        max_connections_per_address=100_000, hello_per_minute=1_000_000,
                        new_identities_per_address=1_000_000,
                        shared_new_identities=1_000_000)
        app = create_app(config)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096).start()
        forums = app[keys.FORUMS]
        signer = app[keys.SIGNER]
        ids = await programme_of(forums, args.sessions)
        tokens = {sid: {role: signer.mint(sid, role, expires=int(time.time()) + 86400)
                        for role in ("participant", "captioner")} for sid in ids}
        print("READY " + json.dumps(tokens), flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


def start_server(data: Path, index: str, sessions: int) -> Served:
    from tests.support.redis_server import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--index", index, "--data", str(data),
         "--port", str(port), "--sessions", str(sessions)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    assert proc.stdout is not None
    while True:
        text = proc.stdout.readline().decode()
        if not text:
            raise RuntimeError("the bench hub did not start")
        if text.startswith("READY "):
            return Served(proc, port, json.loads(text[6:]))


async def measure(served: Served, readers: int, rate: float, seconds: float) -> dict[str, Any]:
    import aiohttp
    import websockets

    latencies: list[float] = []
    ready = 0
    stop = asyncio.Event()
    everyone = asyncio.Event()
    total = len(served.tokens) * readers

    async def reader(session: str, token: str) -> None:
        nonlocal ready
        async with websockets.connect(f"ws://127.0.0.1:{served.port}/ws/{session}",
                                      max_size=2**22) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token, "name": "r"}))
            await ws.recv()
            ready += 1
            if ready == total:
                everyone.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                now = time.time()
                frame = json.loads(raw)
                if frame.get("kind") == "caption":
                    text = frame["data"]["text"]
                    if text.startswith("@"):
                        latencies.append((now - float(text[1:text.index(" ")])) * 1000)

    sessions = list(served.tokens)
    tasks = [asyncio.create_task(reader(s, served.tokens[s]["participant"]))
             for s in sessions for _ in range(readers)]
    await asyncio.wait_for(everyone.wait(), 120)
    rng = random.Random(7)
    sent = 0
    async with aiohttp.ClientSession() as http:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            session = sessions[sent % len(sessions)]
            lang, text = "en", next(caption_lines(rng, 1))[1]
            url = (f"http://127.0.0.1:{served.port}/api/sessions/{session}/captions"
                   f"?lang={lang}&token={served.tokens[session]['captioner']}")
            async with http.post(url, data=f"@{time.time():.6f} {text}") as response:
                await response.read()
            sent += 1
            pause = began + sent / rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"lines": sent, "deliveries": len(latencies), "latency_ms": percentiles(latencies)}


def seeded_index(lines: int, seed: int) -> Path:
    """A search.sqlite already holding `lines` lines (other sessions than the bench's), so
    that indexing during the delivery runs writes into an index of archive size."""
    from hub.search.sqlite import SqliteIndex

    folder = Path(tempfile.mkdtemp(prefix="hub-search-seed-"))

    async def build() -> None:
        index = SqliteIndex(str(folder))
        await index.start()
        for docs in documents(lines, seed):
            await index.replace(docs[0].session, docs)
        await index.close()

    began = time.perf_counter()
    asyncio.run(build())
    print(f"seeded an index of {lines} lines ({time.perf_counter() - began:.0f} s)",
          flush=True)
    return folder


def part_two(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"off": [], "on": [], "seeded_lines": args.seed_lines}
    seeded = seeded_index(args.seed_lines, args.seed) if args.seed_lines else None
    for round_ in range(args.rounds):
        for mode in ("off", "on"):
            folder = Path(tempfile.mkdtemp(prefix="hub-search-delivery-"))
            if seeded is not None:  # both modes start from the same files
                for name in ("search.sqlite", "search.sqlite-wal", "search.sqlite-shm"):
                    if (seeded / name).exists():
                        shutil.copy(seeded / name, folder / name)
            served = start_server(folder, mode, args.sessions)
            try:
                result = asyncio.run(measure(served, args.readers, args.rate,
                                             args.delivery_seconds))
                if mode == "on":
                    result["indexed"] = count_indexed(folder)
            finally:
                served.proc.terminate()
                served.proc.wait(15)
                shutil.rmtree(folder, ignore_errors=True)
            print(f"round {round_ + 1} index {mode}:", json.dumps(result["latency_ms"]),
                  flush=True)
            out[mode].append(result)
    if seeded is not None:
        shutil.rmtree(seeded, ignore_errors=True)
    return out


def count_indexed(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "search.sqlite") as conn:
        return int(conn.execute("SELECT count(*) FROM docs WHERE session LIKE 'bench-%'")
                   .fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=8, help="times the query mix runs")
    parser.add_argument("--postgres", help="a PostgreSQL URL (default: a private server)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-index", action="store_true", help="skip part one")
    parser.add_argument("--delivery-seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed-lines", type=int, default=1_000_000,
                        help="lines already in the index during the delivery runs")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--readers", type=int, default=50, help="per session")
    parser.add_argument("--rate", type=float, default=50.0, help="caption lines per second")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "search.json"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", choices=["on", "off"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_main(args)
        return
    results: dict[str, Any] = {"lines": args.lines, "cpus": os.cpu_count()}
    if not args.no_index:
        results["search"] = part_one(args)
    if args.delivery_seconds > 0:
        results["delivery"] = part_two(args)
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
