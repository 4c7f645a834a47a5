"""A real `hub serve` process: killed with -9 or stopped with SIGTERM, it loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.harness import Client, HubProcess, ahttp, create_session


async def test_kill_9_loses_nothing_acknowledged_and_clients_resume(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data").start()
    try:
        created = await create_session(hub.url, "Resilient", state="live")
        sid = created["id"]
        cap = Client(hub.ws_url, sid, created["tokens"]["captioner"], name="Cap")
        alice = Client(hub.ws_url, sid, created["tokens"]["participant"], name="Alice")
        mod = Client(hub.ws_url, sid, created["tokens"]["moderator"], name="Mod")
        for client in (cap, alice, mod):
            await client.connect()
        acked = []
        for n in range(1, 51):
            await cap.ok({"type": "caption", "text": f"before {n}", "seq": n})
            acked.append(f"before {n}")
        item = (await alice.ok({"type": "ask", "kind": "question", "text": "Q?", "key": "q"}))
        await mod.ok({"type": "moderate", "item": item["item"], "action": "approve"})
        await alice.wait_for(lambda c: len(c.kinds("caption")) >= 25)

        hub.kill()  # no goodbye, no flush
        for client in (cap, alice, mod):
            await asyncio.wait_for(client.closed.wait(), 10)
        hub.start()

        for client in (cap, alice, mod):
            welcome = await client.connect(resume=True)
            assert all(ch["recovered"] for ch in welcome["channels"].values()), welcome
        # The captioner retries a line it may not have seen acknowledged: no duplicate.
        again = await cap.ok({"type": "caption", "text": "before 50", "seq": 50})
        assert again["duplicate"] is True
        await cap.ok({"type": "caption", "text": "after", "seq": 51})
        got = await alice.wait_for(lambda c: len(c.kinds("caption")) == 51 and c.kinds("caption"))
        assert [e["data"]["text"] for e in got] == [*acked, "after"]
        assert await alice.ok({"type": "vote", "item": item["item"]})
        status, body, _ = await ahttp(
            "GET", f"{hub.url}/api/sessions/{sid}/transcript?format=json",
            token=created["tokens"]["participant"])
        assert status == 200 and len(body["cues"]) == 51
        for client in (cap, alice, mod):
            await client.close()
    finally:
        hub.kill()


async def test_sigterm_says_goodbye_with_1012_and_clients_resume(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data").start()
    try:
        created = await create_session(hub.url, "Graceful", state="live")
        sid = created["id"]
        cap = Client(hub.ws_url, sid, created["tokens"]["captioner"])
        screen = Client(hub.ws_url, sid, created["tokens"]["screen"])
        for client in (cap, screen):
            await client.connect()
        await cap.ok({"type": "caption", "text": "one", "seq": 1})
        await screen.wait_for(lambda c: c.kinds("caption"))
        assert hub.terminate() == 0
        await asyncio.wait_for(screen.closed.wait(), 10)
        assert screen.close_code == 1012
        bye = [f for f in screen.frames if f["type"] == "bye"]
        assert bye and bye[0]["reconnect"] is True
        assert "hub stopped" in hub.output()
        hub.start()
        await cap.connect(resume=True)
        await screen.connect(resume=True)
        await cap.ok({"type": "caption", "text": "two", "seq": 2})
        got = await screen.wait_for(lambda c: len(c.kinds("caption")) == 2 and c.kinds("caption"))
        assert [e["data"]["text"] for e in got] == ["one", "two"]
        for client in (cap, screen):
            await client.close()
    finally:
        hub.kill()


async def test_generated_admin_key_is_kept_with_the_state(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "data", env={"HUB_ADMIN_KEY": ""}).start()
    try:
        line = next(ln for ln in hub.output().splitlines() if "generated the admin key" in ln)
        key = line.rsplit(" ", 1)[1]
        status, _, _ = await ahttp("POST", f"{hub.url}/api/sessions", {"title": "T"}, token=key)
        assert status == 201
        hub.terminate()
        hub.start()
        assert hub.output().count("generated the admin key") == 1  # printed once only
        status, _, _ = await ahttp("POST", f"{hub.url}/api/sessions", {"title": "T"}, token=key)
        assert status == 201
    finally:
        hub.kill()


async def test_cli_creates_a_session_and_downloads_its_report(tmp_path: Path) -> None:
    import subprocess
    import sys

    hub = HubProcess(tmp_path / "data").start()
    try:
        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True,
                                  text=True, timeout=30, check=False)

        from tests.support.harness import ADMIN_KEY

        made = await asyncio.to_thread(cli, "create", "CLI workshop", "--url", hub.url,
                                       "--admin-key", ADMIN_KEY, "--languages", "en,fr", "--live")
        assert made.returncode == 0, made.stderr
        sid = made.stdout.split()[1].rstrip(":")
        assert "participant" in made.stdout and f"/s/{sid}/participant#token=" in made.stdout
        out = tmp_path / "report.md"
        got = await asyncio.to_thread(cli, "report", sid, "--url", hub.url, "--admin-key",
                                      ADMIN_KEY, "--out", str(out))
        assert got.returncode == 0, got.stderr
        assert out.read_text().startswith("# ") and "CLI workshop" in out.read_text()
        bad = await asyncio.to_thread(cli, "report", sid, "--url", hub.url, "--admin-key", "no")
        assert bad.returncode == 1 and "401" in bad.stderr
    finally:
        hub.kill()
