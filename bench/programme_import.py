"""Programme import benchmark: a 300-session IGF programme into a real `hub serve`.

Target: a 300-session programme imported in under 5 s. For each format (CSV,
iCalendar) on a fresh event it measures, end to end over HTTP (`POST
/api/events/{id}/programme`): the first import (parsing, the one `programme` fact, and
the 300 session logs started), the same file again (nothing appended), and the file with
every tenth session moved to another room (30 sessions changed: their titles and
languages are checked against the programme, no new session); and the parse alone
in-process. Embedded default unless `--redis URL` (then the hub runs on that Redis).

    .venv/bin/python bench/programme_import.py                 # 300 sessions, 3 rounds
    .venv/bin/python bench/programme_import.py --sessions 1000 --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.programme_data import programme_csv, programme_ics
from hub.domain import programme
from tests.support.harness import ADMIN_KEY, HubProcess, http

ZONE = "Europe/Oslo"


def post(hub: HubProcess, event: str, data: bytes, kind: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    status, body, _ = http("POST", f"{hub.url}/api/events/{event}/programme", data.decode(),
                           ADMIN_KEY, content_type=kind)
    took = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"import failed: {status} {body}")
    return took, body


def moved(data: bytes, kind: str) -> bytes:
    """Every tenth session in another room (a programme update)."""
    if kind == "text/csv":
        lines = data.decode().splitlines(keepends=True)
        out = [lines[0]]
        for n, line in enumerate(lines[1:]):
            out.append(line.replace("Room ", "Hall ", 1) if n % 10 == 0 else line)
        return "".join(out).encode()
    text = data.decode()
    parts = text.split("LOCATION:")
    return "LOCATION:".join(p if n % 10 else p.replace("Room ", "Hall ", 1)
                            for n, p in enumerate(parts)).encode()


def forget(url: str, prefix: str) -> None:
    """Delete what a round left in the Redis it ran on."""
    import redis

    with redis.Redis.from_url(url) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", help="run the hub on this Redis (default: embedded)")
    args = parser.parse_args()
    files = {"text/csv": programme_csv(args.sessions), "text/calendar": programme_ics(
        args.sessions)}
    print(f"{args.sessions} sessions; CSV {len(files['text/csv']) // 1024} KiB, iCalendar "
          f"{len(files['text/calendar']) // 1024} KiB; backend "
          f"{'redis' if args.redis else 'embedded'}")
    for kind, data in files.items():
        parse = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            rows = programme.parse(data, filename=None, content_type=kind, timezone=ZONE)
            parse.append(time.perf_counter() - started)
        assert len(rows) == args.sessions
        first, same, update = [], [], []
        for n in range(args.rounds):
            with tempfile.TemporaryDirectory() as folder:
                prefix = f"bench-import-{time.time_ns()}"
                hub = HubProcess(Path(folder) / "data", redis_url=args.redis,
                                 redis_prefix=prefix).start()
                try:
                    event = f"bench{n}"
                    status, body, _ = http("POST", f"{hub.url}/api/events", {
                        "id": event, "title": "Bench IGF", "start": "2026-06-22",
                        "end": "2026-06-26", "timezone": ZONE}, ADMIN_KEY)
                    assert status == 201, body
                    took, body = post(hub, event, data, kind)
                    assert body["created"] == args.sessions, body
                    first.append(took)
                    took, body = post(hub, event, data, kind)
                    assert body["unchanged"] == args.sessions, body
                    same.append(took)
                    took, body = post(hub, event, moved(data, kind), kind)
                    assert body["updated"] == -(-args.sessions // 10), body
                    update.append(took)
                finally:
                    hub.terminate()
                    if args.redis:
                        forget(args.redis, prefix)
        name = "CSV" if kind == "text/csv" else "iCalendar"
        print(f"{name:9}  parse {statistics.median(parse) * 1000:7.0f} ms   first import "
              f"{statistics.median(first):5.2f} s (max {max(first):.2f})   same again "
              f"{statistics.median(same) * 1000:5.0f} ms   10% changed "
              f"{statistics.median(update) * 1000:5.0f} ms   (median of {args.rounds})")


if __name__ == "__main__":
    main()
