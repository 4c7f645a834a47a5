"""The public event site under load: the event page of a 300-session programme.

Builds an event with a generated programme of `--sessions` sessions over `--days` days
(the event through the API; its programme through `hub.domain.forum.import_programme`
on the Forum, as the import endpoint does once the CSV parser lands; every session made
a hub session), then serves that data from a real `hub serve` process with `--live`
sessions set live (held there), and measures from this process, over loopback with
keep-alive, `--requests` requests per scenario with `--concurrency` clients:

- `home`: GET /e/{event}, the same page again and again (the cache's steady state);
- `mixed`: the home page in the six languages with every room and track filter in turn;
- `session`: the session pages in turn; `highlights`: the highlights page.

It also times the page's render on a cache miss in this process (the programme's view
and the template, no HTTP). Loopback only; bounded in count. Run by hand:

    .venv/bin/python bench/event_site.py --sessions 300 --requests 2000 --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from hub import keys
from hub.app import create_app
from hub.config import Config
from hub.session import now_ms
from hub.site import pages, views
from hub.site.text import LANGUAGES, Words
from tests.support.harness import ADMIN_KEY, HubProcess, ahttp, free_port
from tests.support.site_helpers import make_event, programme_rows, today_in

EVENT = "igf-bench"
ZONE = "Europe/Oslo"


def quantiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99),
            "max": ordered[-1], "mean": statistics.fmean(ordered)}


async def build(data: Path, sessions: int, days: int) -> tuple[float, float, list[str]]:
    """The event and its programme in `data`; returns the import's and the sessions'
    seconds and the programme's session ids."""
    app = create_app(Config(data=str(data), admin_key=ADMIN_KEY))
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        first = today_in(ZONE)
        rows = programme_rows(sessions, first, days, ZONE, now_slot=True)
        started = time.perf_counter()
        forum = await make_event(app, f"http://127.0.0.1:{port}", rows, event_id=EVENT,
                                 first_day=first, days=days, zone=ZONE, materialize=False)
        imported = time.perf_counter() - started
        started = time.perf_counter()
        await app[keys.FORUMS].materialize(forum)
        made = time.perf_counter() - started
        return imported, made, [row.session for row in forum.state.programme()]
    finally:
        await runner.cleanup()


def render_misses(data: Path, count: int) -> dict[str, dict[str, float]]:
    """The home page rendered as on a cache miss (no HTTP), `count` times each: `whole`
    when the event changed (the programme part too), `live` every few seconds after (the
    page around the programme part the cache keeps). CPU time, so that other work on the
    machine does not count."""

    async def run() -> dict[str, dict[str, float]]:
        app = create_app(Config(data=str(data), admin_key=ADMIN_KEY))
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            forum = await app[keys.FORUMS].get(EVENT)
            site = pages.Site()
            out: dict[str, list[float]] = {"whole": [], "live": []}
            for n in range(2 * count):
                kind = "whole" if n % 2 == 0 else "live"
                if kind == "whole":
                    site.cache.drop(EVENT)
                words = Words(LANGUAGES[n // 2 % len(LANGUAGES)])
                links = views.Links(EVENT, words.lang)
                started = time.process_time()
                programme = site.programme(forum, words, links, "", "")
                context = views.event_page(forum.state, words, links, held={}, now=now_ms())
                pages.render("event.html", words, links=links, switcher=[],
                             programme=programme, **context)
                out[kind].append((time.process_time() - started) * 1000)
            return {kind: quantiles(samples) for kind, samples in out.items()}
        finally:
            await runner.cleanup()

    return asyncio.run(run())


async def measure(base: str, paths: list[str], requests: int, concurrency: int,
                  encoding: str) -> tuple[dict[str, float], int]:
    """Latency (ms) of `requests` GETs of `paths` in turn, by `concurrency` clients; the
    size is the largest body on the wire."""
    samples: list[float] = []
    sizes = 0
    next_index = 0
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency), auto_decompress=False,
            headers={"Accept-Encoding": encoding}) as http:

        async def client() -> None:
            nonlocal next_index, sizes
            while next_index < requests:
                path = paths[next_index % len(paths)]
                next_index += 1
                started = time.perf_counter()
                async with http.get(base + path) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{path}: {response.status}")
                samples.append((time.perf_counter() - started) * 1000)
                sizes = max(sizes, len(body))

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return quantiles(samples), sizes


async def serve_and_measure(data: Path, ids: list[str], args: argparse.Namespace
                            ) -> dict[str, tuple[dict[str, float], int]]:
    hub = HubProcess(data, env={"HUB_MEDIA_URL": "off"}).start()
    try:
        for sid in ids[1:args.live + 1]:
            status, body, _ = await ahttp("PATCH", f"{hub.url}/api/sessions/{sid}",
                                          {"state": "live"}, token=ADMIN_KEY)
            if status != 200:
                raise RuntimeError(f"{sid}: {status} {body}")
        _, event, _ = await ahttp("GET", f"{hub.url}/api/events/{EVENT}")
        rooms = sorted({s["room"] for s in event["programme"]})
        tracks = sorted({s["track"] for s in event["programme"]})
        filters = [{}] + [{"room": r} for r in rooms] + [{"track": t} for t in tracks]
        mixed = [f"/e/{EVENT}?{urlencode({'lang': lang, **f})}" for lang in LANGUAGES
                 for f in filters]
        scenarios = {
            "home": [f"/e/{EVENT}?lang=en"],
            "mixed": mixed,
            "session": [f"/e/{EVENT}/s/{sid}?lang=en" for sid in ids[:50]],
            "highlights": [f"/e/{EVENT}/highlights?lang=en"],
        }
        out = {}
        for name, paths in scenarios.items():
            encoding = "identity" if args.identity else "gzip"
            await measure(hub.url, paths, min(len(paths) * 2, 200), args.concurrency,
                          encoding)  # warm: every page rendered once
            out[name] = await measure(hub.url, paths, args.requests, args.concurrency,
                                      encoding)
        return out
    finally:
        hub.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--live", type=int, default=10, help="sessions set live (held)")
    parser.add_argument("--requests", type=int, default=2000, help="per scenario")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--renders", type=int, default=50, help="cache-miss renders timed")
    parser.add_argument("--identity", action="store_true",
                        help="ask for pages uncompressed (default: gzip, as browsers do)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-event-site-") as tmp:
        data = Path(tmp) / "data"
        imported, made, ids = asyncio.run(build(data, args.sessions, args.days))
        print(f"event of {len(ids)} sessions over {args.days} days: programme imported in "
              f"{imported:.2f} s, hub sessions made in {made:.2f} s")
        misses = render_misses(data, args.renders)
        for kind, miss in misses.items():
            print(f"home page render on a cache miss ({kind}, {miss['n']} renders, CPU): "
                  f"p50 {miss['p50']:.1f} ms, p99 {miss['p99']:.1f} ms")
        results = asyncio.run(serve_and_measure(data, ids, args))
    print(f"\n{args.requests} requests per scenario, {args.concurrency} clients, keep-alive, "
          f"loopback, {'uncompressed' if args.identity else 'gzip'}; `hub serve` "
          "(embedded)\n")
    print("| scenario | p50 ms | p90 ms | p99 ms | max ms | bytes on the wire |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (q, size) in results.items():
        print(f"| {name} | {q['p50']:.2f} | {q['p90']:.2f} | {q['p99']:.2f} | "
              f"{q['max']:.1f} | {size} |")


if __name__ == "__main__":
    main()
