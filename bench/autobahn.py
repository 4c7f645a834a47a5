"""Autobahn|Testsuite's fuzzing client against the hub's websocket endpoint (not a test).

Starts `hub serve` on loopback (embedded backend, a temporary data directory, no voice),
creates a session, and runs `wstest -m fuzzingclient` against `ws://127.0.0.1:PORT/ws/ID`.
Then prints, per case group, how many cases ended how: Autobahn's verdict on the data
(`behavior`) and on the close handshake (`behaviorClose`).

The hub is no echo server: a client speaks JSON in text frames, `hello` first, so the
cases that wait for their message to come back (1.*, 5.*, 6.* with valid text, 9.*)
report FAILED on `behavior` by design. What this checks is the protocol itself: pings
answered, reserved bits, opcodes, fragmentation rules and invalid UTF-8 refused (fail
fast), close codes and reasons, the close handshake (`behaviorClose`).

Autobahn|Testsuite runs on Python 2.7 only. Install it apart, for instance:

    ~/.pyenv/versions/2.7.18/bin/python -m pip install --target /tmp/ab27/lib autobahntestsuite

and run, from the project's root:

    .venv/bin/python bench/autobahn.py --python2 ~/.pyenv/versions/2.7.18/bin/python \\
        --site /tmp/ab27/lib --cases '1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*'

Loopback only; the reports (HTML and JSON) go to --out.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADMIN_KEY = "autobahn-admin-key-0123456789abcdef"
# Autobahn opens one connection per case, one after the other, all from 127.0.0.1.
HUB_ENV = {
    "HUB_ADMIN_KEY": ADMIN_KEY,
    "HUB_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
    "HUB_HELLO_PER_MINUTE": "1000000",
    "HUB_MEDIA_URL": "off",
}
# Run with site.addsitedir, so that packages installed with `pip --target` (namespace
# packages such as zope.interface included) are found.
WSTEST = """
import site, sys
site.addsitedir(sys.argv.pop(1))
from autobahntestsuite.wstest import run
sys.argv[0] = "wstest"
sys.exit(run())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(proc: subprocess.Popen[bytes], log: Path, needle: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hub serve exited:\n{log.read_text()}")
        if needle in log.read_bytes():
            return
        time.sleep(0.1)
    raise SystemExit(f"hub serve not ready after {timeout}s:\n{log.read_text()}")


def create_session(port: int) -> str:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/sessions", method="POST",
        data=json.dumps({"title": "Autobahn", "state": "live"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_KEY}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        created: dict[str, Any] = json.loads(resp.read())
    return str(created["id"])


def summary(index: dict[str, Any]) -> None:
    for agent, cases in index.items():
        groups: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        closes: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter)
        for case, result in cases.items():
            group = case.split(".")[0]
            groups[group][result["behavior"]] += 1
            closes[group][result["behaviorClose"]] += 1
        print(f"{agent}: {len(cases)} cases")
        print(f"{'group':>6}  {'behavior':<44} behaviorClose")
        for group in sorted(groups, key=int):
            data = ", ".join(f"{k} {v}" for k, v in sorted(groups[group].items()))
            close = ", ".join(f"{k} {v}" for k, v in sorted(closes[group].items()))
            print(f"{group:>6}  {data:<44} {close}")
        bad = sorted((c for c, r in cases.items() if r["behaviorClose"] not in
                      ("OK", "INFORMATIONAL", "UNIMPLEMENTED")),
                     key=lambda c: [int(p) for p in c.split(".")])
        if bad:
            print("close handshake not OK in:", ", ".join(bad))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python2", required=True,
                        help="a Python 2.7 interpreter that has autobahntestsuite")
    parser.add_argument("--site", default="",
                        help="where autobahntestsuite was installed with pip --target")
    parser.add_argument("--cases", default="1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*",
                        help="comma-separated case patterns (9.* is long; 12.* and 13.* "
                             "need compression, which the hub does not offer)")
    parser.add_argument("--out", default="", help="report folder (default: a temporary one)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="autobahn-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hub-autobahn-") as tmp:
        port = free_port()
        log = Path(tmp) / "hub.log"
        with log.open("wb") as sink:
            hub = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--data", str(Path(tmp) / "data")],
                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                env={**os.environ, **HUB_ENV, "PYTHONUNBUFFERED": "1"})
        try:
            wait_ready(hub, log, b"hub ready on", 60)
            sid = create_session(port)
            spec = {
                "outdir": str(out),
                "servers": [{"agent": "hub", "url": f"ws://127.0.0.1:{port}/ws/{sid}"}],
                "cases": [c.strip() for c in args.cases.split(",") if c.strip()],
                "exclude-cases": [],
                "exclude-agent-cases": {},
            }
            spec_path = Path(tmp) / "fuzzingclient.json"
            spec_path.write_text(json.dumps(spec))
            subprocess.run([args.python2, "-c", WSTEST, args.site or ".", "-m",
                            "fuzzingclient", "-s", str(spec_path)],
                           cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        finally:
            hub.terminate()
            hub.wait(30)
    summary(json.loads((out / "index.json").read_text()))
    print(f"reports: {out}/index.html")


if __name__ == "__main__":
    main()
