"""`hub serve --workers 1` against `--workers 2`: the same fan-out load on both.

bench/fanout.py's scenario (bench/run.py's functions): N readers of one session join
through the one port, a captioner sends captions at a fixed rate, then as fast as they are
acknowledged (closed loop); prints deliveries/s, server CPU per delivery and latency
p50/p99 for each. Without `--redis`, `--workers 1` is the embedded default and
`--workers 2` runs its private Redis, whose CPU counts as the server's (it is the master's
child); with `--redis URL` both run on it (its CPU reported apart). No core pinning by
default: two workers need both cores of a 2-core machine, and the clients share them.
Loopback only; bounded in count and time. Run by hand:

    .venv/bin/python bench/workers.py --readers 2000 --rate 20 --seconds 6
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import run


def start_target(name: str, args: argparse.Namespace, tmp: Path, run_id: str) -> run.Target:
    """`hub serve --workers N` (N from the name, `hub-workers-N`), with a live session."""
    count = int(name.rsplit("-", 1)[1])
    port = run.free_port()
    log = tmp / f"{name}.log"
    t = run.Target(name, "hub", tmp=tmp)
    cmd = [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--data", str(tmp / "data"), "--workers", str(count)]
    if args.redis:
        t.redis_prefix = f"bench-{run_id}-{name}"
        cmd += ["--redis", args.redis, "--redis-prefix", t.redis_prefix]
    env = {**run.HUB_ENV, "PYTHONUNBUFFERED": "1", "HUB_MEDIA_URL": "off"}
    proc = run.spawn(cmd, cpus=args.server_cpu_set, log=log, env=env)
    t.procs.append(proc)
    t.ports.append(port)
    run.wait_ready(proc, log, b"hub ready on", 60)
    created = run.http_json("POST", f"http://127.0.0.1:{port}/api/sessions",
                            {"title": "Bench", "state": "live"}, run.ADMIN_KEY)
    t.path = f"/ws/{created['id']}"
    tokens = created["tokens"]
    t.reader_hello = {"type": "hello", "token": tokens[args.role]}
    t.publisher_hello = {"type": "hello", "token": tokens["captioner"]}
    t.moderator_hello = {"type": "hello", "token": tokens["moderator"]}
    t.asker_hello = {"type": "hello", "token": tokens["participant"]}
    return t


def line(result: dict[str, Any], phase: str) -> str:
    got = result.get(phase)
    if not got:
        return f"{result['server']:>14} {phase:>6}: -"
    return (f"{result['server']:>14} {phase:>6}: {got['deliveries_per_s']:>9,} deliveries/s  "
            f"{run.fmt(got['server_us_per_delivery'], 2):>6} us CPU/delivery (server)  "
            f"p50 {run.fmt(got['p50_ms'], 1):>7} ms  p99 {run.fmt(got['p99_ms'], 1):>7} ms  "
            f"undelivered {got['undelivered']}  server CPU {got['server_cpu_pct']} %  "
            f"clients CPU {got['client_cpu_pct']} %")


async def amain(args: argparse.Namespace) -> list[dict[str, Any]]:
    run.start_target = start_target  # scenario() starts its server through this name
    run_id = uuid.uuid4().hex[:8]
    results = []
    for count in args.counts:
        busy = run.wait_quiet(args.quiet_pct, args.quiet_wait)
        started = time.monotonic()
        result = await run.scenario(f"hub-workers-{count}", args.readers, args, run_id)
        result["machine_busy_pct_before"] = round(busy, 1)
        result["seconds"] = round(time.monotonic() - started, 1)
        results.append(result)
        if "error" in result:
            print(f"hub-workers-{count}: {result['error']} (logs: {result.get('logs')})",
                  file=sys.stderr)
    print(f"\n{args.readers} readers, {args.rate} captions/s for {args.seconds} s, then a "
          f"closed loop for {args.closed_seconds} s; no core pinning")
    for result in results:
        print(line(result, "fixed"))
        print(line(result, "closed"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20.0, help="captions/s, fixed rate")
    parser.add_argument("--seconds", type=float, default=6.0, help="fixed-rate phase")
    parser.add_argument("--closed-seconds", type=float, default=4.0, help="closed-loop phase")
    parser.add_argument("--workers-counts", default="1,2", help="the --workers values compared")
    parser.add_argument("--redis", default="", help="run both on this Redis URL")
    parser.add_argument("--role", default="screen", choices=["participant", "screen"])
    parser.add_argument("--json", help="write the raw results here")
    args = parser.parse_args()
    args.counts = [int(c) for c in args.workers_counts.split(",")]
    # bench/run.py's scenario settings, as bench/fanout.py sets them.
    args.workers = 0  # client processes: run.py's default
    args.server_cpu_set = args.client_cpu_set = None
    args.warmup, args.drain, args.settle, args.join_timeout = 2.0, 20.0, 2.0, 120.0
    args.closed_deliveries, args.resume_share = 2_000_000, 0.0
    args.askers = args.moderators = 0
    args.ask_rate, args.keep_logs = 1.0, False
    args.quiet_pct, args.quiet_wait = 15.0, 60.0
    try:
        results = asyncio.run(amain(args))
    finally:
        run.stop_all()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    raise SystemExit(1 if any("error" in r for r in results) else 0)


if __name__ == "__main__":
    main()
