"""Server memory per idle reader, and where it goes: the hub in this process, traced.

Starts the hub app (embedded backend, a temporary data directory) on a loopback port
in this process, joins 50 readers to warm up, then N participant readers from two
`bench/loadgen.py` worker processes (the bench's own readers), waits, and prints the
RSS growth per reader. With `--trace`, `tracemalloc` runs from the start and the
growth of the Python heap is printed per reader, by file and by line (the RSS is then
inflated by tracemalloc's own bookkeeping: read the traced figures). `--naive` serves
a plain aiohttp websocket handler instead of the hub, for comparison.
Loopback only; bounded in readers and time. Run by hand:

    .venv/bin/python bench/memtrace.py --readers 2000
    .venv/bin/python bench/memtrace.py --readers 2000 --trace --top 30
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN = "bench-admin-key-0123456789abcdef"


def rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def naive_app() -> Any:
    """A plain aiohttp websocket handler: prepare, one welcome, read until closed."""
    import orjson
    from aiohttp import web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, compress=False)
        await ws.prepare(request)
        await ws.receive()
        await ws.send_str(orjson.dumps({"type": "welcome", "you": {"id": "x", "token": "t"},
                                        "channels": {}, "snapshot": {}}).decode())
        async for _ in ws:
            pass
        return ws

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"id": "s", "tokens": {"participant": "p"}})

    app = web.Application()
    app.router.add_get("/ws/{sid}", handler)
    app.router.add_post("/api/sessions", create)
    return app


class Workers:
    """Two bench/loadgen.py worker processes; each joins half of the readers."""

    def __init__(self) -> None:
        self.procs = [subprocess.Popen([sys.executable, "-m", "bench.loadgen", "worker"],
                                       cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                      for _ in range(2)]
        for proc in self.procs:
            assert proc.stdout is not None
            proc.stdout.readline()  # {"ready": pid}

    @staticmethod
    def _call(proc: subprocess.Popen[bytes], cmd: dict[str, Any]) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(cmd).encode() + b"\n")
        proc.stdin.flush()
        return dict(json.loads(proc.stdout.readline()))

    async def join(self, target: dict[str, Any], count: int) -> int:
        shares = (count // 2, count - count // 2)
        answers = await asyncio.gather(*(asyncio.to_thread(self._call, proc, {
            "op": "join", "targets": [target], "count": share, "dialect": "hub",
            "concurrency": 500, "timeout": 120}) for proc, share in zip(self.procs, shares,
                                                                        strict=True)))
        return sum(int(a.get("joined", 0)) for a in answers)

    def close(self) -> None:
        for proc in self.procs:
            try:
                self._call(proc, {"op": "close"})
            except (OSError, ValueError):
                pass
            proc.wait(10)


async def measure(args: argparse.Namespace) -> None:
    from aiohttp import ClientSession, web

    from hub.app import create_app
    from hub.config import Config

    tmp = tempfile.mkdtemp(prefix="hub-memtrace-")
    if args.naive:
        app = naive_app()
    else:
        app = create_app(Config(port=0, data=tmp, admin_key=ADMIN, hello_per_minute=10**6,
                                max_connections_per_address=10**6))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    async with ClientSession() as http, http.post(
        f"http://127.0.0.1:{port}/api/sessions", headers={"Authorization": f"Bearer {ADMIN}"},
        json={"title": "Memory", "state": "live", "settings": {"premoderation": True}},
    ) as resp:
        created = await resp.json()
    target = {"host": "127.0.0.1", "port": port, "path": f"/ws/{created['id']}",
              "hello": {"type": "hello", "token": created["tokens"]["participant"]}}
    workers = Workers()
    try:
        await workers.join(target, 50)  # imports, caches, first-use allocations
        await asyncio.sleep(1)
        gc.collect()
        rss0 = rss()
        before = tracemalloc.take_snapshot() if args.trace else None
        traced0 = tracemalloc.get_traced_memory()[0]
        objects0 = Counter(type(o).__qualname__ for o in gc.get_objects())
        joined = await workers.join(target, args.readers)
        await asyncio.sleep(args.settle)
        gc.collect()
        print(f"readers joined: {joined} of {args.readers}")
        if not joined:
            raise SystemExit("no reader joined")
        per = joined
        print(f"RSS: {(rss() - rss0) / per / 1024:.2f} KiB per reader")
        objects = Counter(type(o).__qualname__ for o in gc.get_objects()) - objects0
        print("tracked objects per reader: " + ", ".join(
            f"{name} {n / per:.2f}" for name, n in objects.most_common(12) if n >= per / 2))
        if before is not None:
            after = tracemalloc.take_snapshot()
            traced = tracemalloc.get_traced_memory()[0] - traced0
            print(f"Python heap (tracemalloc): {traced / per / 1024:.2f} KiB per reader")
            keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
            before, after = before.filter_traces(keep), after.filter_traces(keep)
            print("by file:")
            for stat in after.compare_to(before, "filename")[:args.top]:
                if stat.size_diff >= per * 16:
                    print(f"  {stat.size_diff / per:7.0f} B  {stat.traceback[0].filename}")
            print("by line:")
            for stat in after.compare_to(before, "lineno")[:args.top]:
                if stat.size_diff >= per * 16:
                    frame = stat.traceback[0]
                    print(f"  {stat.size_diff / per:7.0f} B  {stat.count_diff / per:5.2f} blocks"
                          f"  {frame.filename}:{frame.lineno}")
    finally:
        workers.close()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=2.0, help="idle seconds before measuring")
    parser.add_argument("--trace", action="store_true", help="tracemalloc, by file and line")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--naive", action="store_true",
                        help="a plain aiohttp websocket handler instead of the hub")
    args = parser.parse_args()
    if not 1 <= args.readers <= 20_000:
        raise SystemExit("--readers: 1 to 20,000")
    if args.trace:
        tracemalloc.start()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
