"""Fan-out benchmark, one scenario: N readers of one session, a captioner at a fixed rate.

A shortcut to one row of bench/run.py (which runs the whole matrix against the
peers): it starts `hub serve` (embedded, or on `--redis URL`), joins N readers over
the real protocol from client processes pinned to another core, sends captions with
their send time embedded, and prints delivery latency, undelivered, deliveries/s,
server CPU per delivery (from /proc) and server memory per idle connection.
Loopback only; bounded in count and time. Run by hand:

    .venv/bin/python bench/fanout.py --readers 2000 --rate 20 --seconds 10
    .venv/bin/python bench/fanout.py --readers 2000 --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="captions per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--redis", help="run the hub on this Redis URL instead of embedded")
    parser.add_argument("--instances", type=int, default=1, choices=[1, 2],
                        help="with --redis: one or two hub instances")
    args = parser.parse_args()
    server = "hub" if not args.redis else ("hub-redis-2" if args.instances == 2 else "hub-redis")
    argv = ["--readers", str(args.readers), "--servers", server, "--rate", str(args.rate),
            "--seconds", str(args.seconds), "--closed-seconds", "0", "--resume-share", "0",
            "--out", str(Path(__file__).resolve().parent / "results" / "fanout.md")]
    if args.redis:
        argv += ["--redis", args.redis]
    sys.argv = [sys.argv[0], *argv]
    run.main()


if __name__ == "__main__":
    main()
