"""Fan-out benchmark: N readers of one session, a captioner at a fixed rate.

Starts `hub serve` (embedded by default, or `--redis URL`) as its own process,
joins N readers over the real protocol, sends captions with their send time
embedded, and prints delivery latency, throughput, server CPU per delivery
(from /proc) and server memory per idle connection. Loopback only; bounded in
count and time. Run by hand:

    .venv/bin/python bench/fanout.py --readers 2000 --rate 20 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.loadgen import open_reader
from tests.harness import ADMIN_KEY, HubProcess, ahttp

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    hub = HubProcess(tmp / "data", redis_url=args.redis,
                     redis_prefix=f"bench{os.getpid()}" if args.redis else None).start()
    assert hub.proc is not None
    pid = hub.proc.pid
    try:
        status, created, _ = await ahttp("POST", f"{hub.url}/api/sessions",
                                         {"title": "Bench", "state": "live"}, token=ADMIN_KEY)
        assert status == 201, created
        url = f"{hub.ws_url}/ws/{created['id']}"
        path = f"/ws/{created['id']}"
        rss_before = rss_bytes(pid)
        hello = {"type": "hello", "token": created["tokens"]["screen"]}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            t0 = time.perf_counter()
            readers = []
            for start in range(0, args.readers, 250):  # a join storm, 250 at a time
                batch = min(250, args.readers - start)
                readers += await asyncio.gather(*(
                    open_reader("127.0.0.1", hub.port, path, hello) for _ in range(batch)))
            await asyncio.wait_for(asyncio.gather(*(r.welcomed for r in readers)), 120)
            join_seconds = time.perf_counter() - t0
            await asyncio.sleep(1.0)
            rss_idle = rss_bytes(pid)
            async with http.ws_connect(url) as cap:
                await cap.send_str(json.dumps({"type": "hello",
                                               "token": created["tokens"]["captioner"]}))
                await cap.receive()
                count = int(args.rate * args.seconds)
                cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
                for n in range(count):
                    due = wall0 + n / args.rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                    await cap.send_str(json.dumps(
                        {"type": "caption", "text": f"t={time.time():.6f}", "seq": n + 1}))
                expected = count * args.readers
                deadline = time.perf_counter() + 30
                while sum(len(r.latencies) for r in readers) < expected:
                    if time.perf_counter() > deadline:
                        break
                    await asyncio.sleep(0.05)
                wall = time.perf_counter() - wall0
                cpu = cpu_seconds(pid) - cpu0
            for reader in readers:
                if reader.transport is not None:
                    reader.transport.close()
        latencies = sorted(x for r in readers for x in r.latencies)
        delivered = len(latencies)
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 100 else [0.0] * 99
        return {
            "backend": "redis" if args.redis else "embedded",
            "readers": args.readers,
            "captions": count,
            "join_s": round(join_seconds, 2),
            "delivered": delivered,
            "undelivered": expected - delivered,
            "p50_ms": round(q[49] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1),
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
            "deliveries_per_s": round(delivered / wall),
            "server_cpu_us_per_delivery": round(cpu / max(1, delivered) * 1e6, 2),
            "server_kib_per_idle_conn": round((rss_idle - rss_before) / args.readers / 1024, 1),
        }
    finally:
        hub.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="captions per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--redis", help="run the hub on this Redis URL instead of embedded")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for key, value in result.items():
        print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
