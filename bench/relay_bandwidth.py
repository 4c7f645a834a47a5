"""Upstream bandwidth of a hub's room: one relay versus every device reading directly.

A meeting server (`hub serve`) and a captioner publishing caption lines; the room's
link to the meeting is a counting TCP proxy on loopback. Case "direct": N readers in
the room each hold their own websocket to the meeting, through the proxy. Case
"relay": one `hub relay` holds the only connection through the proxy and the N readers
read the relay over the room's network. Reported: bytes that crossed the room's link
per caption line, downstream and upstream, after everyone had joined (joins counted
apart). Every reader is checked to have received every line. Run by hand:

    .venv/bin/python bench/relay_bandwidth.py --readers 1 10 50 200 --lines 200
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.proxy import Proxy

LIMITS = {"HUB_MAX_CONNECTIONS_PER_ADDRESS": "100000", "HUB_HELLO_PER_MINUTE": "1000000",
          "HUB_NEW_IDENTITIES_PER_ADDRESS": "1000000", "HUB_SHARED_NEW_IDENTITIES": "1000000",
          "HUB_CAPTION_PER_10S": "100000"}
# A caption line as a captioner types it: about a dozen words.
LINE = "and so the multistakeholder model must include the voices of the global south {n}"


async def wait_relay(relay: HubProcess) -> dict[str, Any]:
    for _ in range(200):
        code, status, _ = await ahttp("GET", f"{relay.url}/api/relay", token=ADMIN_KEY)
        if code == 200 and status["connected"]:
            return dict(status)
        await asyncio.sleep(0.1)
    raise RuntimeError("the relay never linked")


async def run_case(workdir: Path, readers: int, lines: int, through_relay: bool,
                   ) -> dict[str, float]:
    main = HubProcess(workdir / "main", env=LIMITS).start()
    proxy = await Proxy(main.port).start()
    relay: HubProcess | None = None
    clients: list[Client] = []
    try:
        created = await create_session(main.url, "Bandwidth", state="live")
        sid = created["id"]
        captioner = Client(main.ws_url, sid, created["tokens"]["captioner"], name="Captioner")
        await captioner.connect()
        if through_relay:
            code, minted, _ = await ahttp("POST", f"{main.url}/api/sessions/{sid}/tokens",
                                          {"role": "hub", "name": "Room"}, token=ADMIN_KEY)
            assert code == 201, minted
            relay = HubProcess(workdir / "relay", command="relay",
                               env={**LIMITS, "HUB_RELAY_TOKEN": minted["token"]},
                               args=["--upstream", f"http://127.0.0.1:{proxy.port}", "--insecure"])
            relay.start()
            status = await wait_relay(relay)
            token = status["links"]["attendee"].split("#token=")[1]
            clients = [Client(relay.ws_url, sid, token, name=f"Reader {n}")
                       for n in range(readers)]
        else:
            clients = [Client(f"ws://127.0.0.1:{proxy.port}", sid,
                              created["tokens"]["participant"], name=f"Reader {n}")
                       for n in range(readers)]
        for batch in range(0, readers, 50):
            await asyncio.gather(*(c.connect() for c in clients[batch:batch + 50]))
        join_down, join_up = proxy.received, proxy.sent
        await asyncio.sleep(3.0)  # let the relay report its attendee count
        start_down, start_up = proxy.received, proxy.sent
        for n in range(lines):
            await captioner.ok({"type": "caption", "text": LINE.format(n=n), "seq": n + 1})
        for client in clients:
            await client.wait_for(lambda c: len(c.kinds("caption")) >= lines, timeout=120)
            got = [e["data"]["text"] for e in client.kinds("caption")]
            assert got == [LINE.format(n=n) for n in range(lines)], "a reader missed lines"
        down, up = proxy.received - start_down, proxy.sent - start_up
        return {"join_down": join_down, "join_up": join_up, "down_per_line": down / lines,
                "up_per_line": up / lines}
    finally:
        for client in clients:
            await client.close()
        await proxy.close()
        if relay is not None:
            relay.terminate()
        main.terminate()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 10, 50, 200])
    parser.add_argument("--lines", type=int, default=200)
    args = parser.parse_args()
    rows = []
    for readers in args.readers:
        for through_relay in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                result = await run_case(Path(tmp), readers, args.lines, through_relay)
            rows.append((readers, "relay" if through_relay else "direct", result))
            print(f"readers={readers} {rows[-1][1]}: {result}", flush=True)
    print(f"\nBytes across the room's link per caption line ({args.lines} lines of "
          f"{len(LINE.format(n=100))} characters), after joining:\n")
    print("| readers in the room | direct: down/line | direct: join | relay: down/line "
          "| relay: join | direct / relay |")
    print("|---:|---:|---:|---:|---:|---:|")
    by = {(r, how): res for r, how, res in rows}
    for readers in args.readers:
        direct, relay = by[(readers, "direct")], by[(readers, "relay")]
        print(f"| {readers} | {direct['down_per_line']:,.0f} B | {direct['join_down']:,.0f} B "
              f"| {relay['down_per_line']:,.0f} B | {relay['join_down']:,.0f} B "
              f"| {direct['down_per_line'] / relay['down_per_line']:.1f}x |")


if __name__ == "__main__":
    asyncio.run(main())
