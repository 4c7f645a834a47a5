"""A hub's room on a bad link: one relay, a meeting, and a link that drops for minutes.

A meeting server and a `hub relay` joined through a loopback proxy that adds latency
each way and cuts the link at random (and now and then refuses it for a few seconds,
as when the room's router reboots). A captioner at the meeting publishes at a steady
rate; readers in the room read the relay; the hub forwards attendees' questions at
random moments, down or up. Reported: lines published and received by every reader
(missing and repeated must be 0), link drops, time from a drop to the relay's next
link, each line's delay from the captioner to the room, and forwarded questions
arrived at the meeting (each must arrive once). Run by hand:

    .venv/bin/python bench/relay_outage.py --seconds 60 --readers 20
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.proxy import Proxy

LIMITS = {"HUB_MAX_CONNECTIONS_PER_ADDRESS": "100000", "HUB_HELLO_PER_MINUTE": "1000000",
          "HUB_NEW_IDENTITIES_PER_ADDRESS": "1000000", "HUB_SHARED_NEW_IDENTITIES": "1000000",
          "HUB_CAPTION_PER_10S": "100000", "HUB_ASK_PER_10MIN": "1000"}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def status(relay: HubProcess) -> dict[str, Any]:
    code, body, _ = await ahttp("GET", f"{relay.url}/api/relay", token=ADMIN_KEY)
    assert code == 200, body
    return dict(body)


async def relay_until(relay: HubProcess, predicate: Any) -> dict[str, Any]:
    """Poll the relay's status (every 50 ms) until `predicate` holds."""
    for _ in range(10_000):
        now = await status(relay)
        if predicate(now):
            return now
        await asyncio.sleep(0.05)
    raise TimeoutError("the relay never got there")


async def run(args: argparse.Namespace, workdir: Path) -> None:
    rng = random.Random(args.seed)
    main = HubProcess(workdir / "main", env=LIMITS).start()
    proxy = await Proxy(main.port, delay=args.latency / 1000).start()
    created = await create_session(main.url, "Outage", state="live")
    sid = created["id"]
    code, minted, _ = await ahttp("POST", f"{main.url}/api/sessions/{sid}/tokens",
                                  {"role": "hub", "name": "Bad-link hub"}, token=ADMIN_KEY)
    assert code == 201, minted
    relay = HubProcess(workdir / "relay", command="relay",
                       env={**LIMITS, "HUB_RELAY_TOKEN": minted["token"]},
                       args=["--upstream", f"http://127.0.0.1:{proxy.port}", "--insecure"]).start()
    try:
        linked = await relay_until(relay, lambda s: s["connected"])
        token = {who: url.split("#token=")[1] for who, url in linked["links"].items()}
        captioner = Client(main.ws_url, sid, created["tokens"]["captioner"], name="Captioner")
        moderator = Client(main.ws_url, sid, created["tokens"]["moderator"], name="Chair")
        hub = Client(relay.ws_url, sid, token["hub"])
        asker = Client(relay.ws_url, sid, token["attendee"], name="Asker")
        readers = [Client(relay.ws_url, sid, token["attendee"], name=f"Reader {n}")
                   for n in range(args.readers)]
        for client in (captioner, moderator, hub, asker, *readers):
            await client.connect()

        sent_at: dict[str, float] = {}
        drops: list[float] = []  # when the link was cut
        relinks: list[float] = []  # seconds from a cut to the next link
        asked: list[str] = []
        stop = time.monotonic() + args.seconds

        async def publish() -> None:
            n = 0
            while time.monotonic() < stop:
                text = f"Line {n} at the meeting"
                sent_at[text] = time.monotonic()
                await captioner.ok({"type": "caption", "text": text, "seq": n + 1})
                n += 1
                await asyncio.sleep(1 / args.rate)

        async def break_link() -> None:
            while time.monotonic() < stop - 5:
                await asyncio.sleep(rng.uniform(*args.cut_every))
                before = (await status(relay))["connects"]
                cut = time.monotonic()
                if rng.random() < 0.3:  # the room's router reboots: no link for a while
                    proxy.down()
                    await asyncio.sleep(rng.uniform(2, 6))
                    proxy.up()
                else:
                    proxy.cut()
                drops.append(cut)
                await relay_until(relay, lambda s, before=before: s["connects"] > before)
                relinks.append(time.monotonic() - cut)

        async def ask_now_and_then() -> None:
            n = 0
            while time.monotonic() < stop - 3:
                await asyncio.sleep(rng.uniform(1, 5))
                text = f"Question {n} from the room"
                item = (await asker.ok({"type": "ask", "kind": "question", "key": f"q{n}",
                                        "text": text}))["item"]
                await hub.ok({"type": "forward", "item": item, "backing": rng.randint(1, 30)})
                asked.append(text)
                n += 1

        await asyncio.gather(publish(), break_link(), ask_now_and_then())
        lines = list(sent_at)
        for reader in readers:
            await reader.wait_for(lambda c: len(c.kinds("caption")) >= len(lines), timeout=120)
        await moderator.wait_for(lambda c: len({e["data"]["text"] for e in
                                                c.kinds("item", "moderation")}) >= len(asked),
                                 timeout=120)
        missing = repeated = 0
        delays: list[float] = []
        for reader in readers:
            got = [e["data"]["text"] for e in reader.kinds("caption")]
            missing += len(set(lines) - set(got))
            repeated += len(got) - len(set(got))
        upstream = [e["data"] for e in moderator.kinds("item", "moderation")]
        by_text: dict[str, set[str]] = {}
        for data in upstream:
            by_text.setdefault(data["text"], set()).add(data["id"])
        once = sum(1 for text in asked if len(by_text.get(text, ())) == 1)
        final = await status(relay)
        print(f"{args.seconds} s, {args.rate} lines/s, {args.readers} readers on the relay, "
              f"latency {args.latency} ms each way, a cut every {args.cut_every[0]:g}-"
              f"{args.cut_every[1]:g} s (30 % of them a 2-6 s outage)")
        print(f"lines published: {len(lines)}; missing across readers: {missing}; "
              f"repeated: {repeated}")
        print(f"link drops: {len(drops)}; relay links in all: {final['connects']}; "
              f"drop to next link: p50 {quantile(relinks, 0.5):.2f} s, "
              f"max {max(relinks, default=float('nan')):.2f} s")
        for reader in readers:
            delays.extend(reader_delays(reader, sent_at))
        print(f"line delay captioner -> room: p50 {quantile(delays, 0.5) * 1000:.0f} ms, "
              f"p99 {quantile(delays, 0.99) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
              f"(a line said during an outage waits for the link)")
        print(f"questions forwarded: {len(asked)}; arrived at the meeting exactly once: {once}")
        print(f"bytes across the link: down {proxy.received:,}, up {proxy.sent:,}")
        for client in (captioner, moderator, hub, asker, *readers):
            await client.close()
        if missing or repeated or once != len(asked):
            raise SystemExit("LOSS: see above")
    finally:
        await proxy.close()
        relay.terminate()
        main.terminate()


def reader_delays(reader: Client, sent_at: dict[str, float]) -> list[float]:
    """Seconds from each line's sending to its arrival at `reader`."""
    return [at - sent_at[event["data"]["text"]]
            for event, at in zip(reader.events, reader.arrivals, strict=True)
            if event["kind"] == "caption" and event["data"]["text"] in sent_at]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="caption lines per second")
    parser.add_argument("--latency", type=float, default=150.0, help="ms added each way")
    parser.add_argument("--cut-every", type=float, nargs=2, default=(4.0, 10.0))
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
