"""Without a media server, or with one that does not answer, the hub runs as before: voice
says it is off or down (and how to turn it on), everything else works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.harness import Client, HubProcess, ahttp, create_session, free_port
from tests.support.inprocess import RunningHub


async def test_no_janus_on_path_runs_without_voice(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = HubProcess(tmp_path / "data", env={"HUB_MEDIA_URL": "", "PATH": str(empty)}).start()
    try:
        status, body, _ = await ahttp("GET", f"{proc.url}/readyz")
        assert status == 200
        lines = str(body).splitlines()
        assert lines[0] == "ready" and lines[1].startswith("voice off:")
        assert "apt-get install janus" in lines[1]
        created = await create_session(proc.url, state="live")
        status, info, _ = await ahttp("GET", f"{proc.url}/api/sessions/{created['id']}",
                                      token=created["tokens"]["participant"])
        assert info["voice"]["voice"] == "off"
        alice = Client(proc.ws_url, created["id"], created["tokens"]["participant"], name="A")
        welcome = await alice.connect()
        assert welcome["session"]["voice"]["voice"] == "off"
        refused = await alice.request({"type": "media", "want": "listen"})
        assert refused["code"] == "unavailable" and refused["reason"] == "voice_off"
        assert (await alice.ok({"type": "ask", "kind": "question", "text": "Q", "key": "q"}))
        await alice.close()
        assert not (tmp_path / "data" / "janus").exists()
    finally:
        proc.terminate()


async def test_janus_down_says_so_and_the_text_meeting_works(hub_factory: Any) -> None:
    port = free_port()
    hub: RunningHub = await hub_factory(
        media=f"http://127.0.0.1:{port}/janus", media_admin_url=f"http://127.0.0.1:{port}/admin",
        media_admin_secret="x7Qm2LpZ9vRt4WcY8nBk3JhD6fGs1aEu")
    status, body, _ = await ahttp("GET", f"{hub.base}/readyz")
    assert status == 200
    lines = str(body).splitlines()
    assert lines[0] == "ready" and lines[1].startswith("voice down:")
    created = await hub.session()
    alice = hub.client(created, "participant", name="Alice")
    welcome = await alice.connect()
    assert welcome["session"]["voice"]["voice"] == "down"
    media = await alice.wait_for(lambda c: next((f for f in c.frames if f["type"] == "media"),
                                                None))
    assert media["voice"] == "down" and media["run"] is None and media["reason"]
    refused = await alice.request({"type": "media", "want": "listen"})
    assert refused["code"] == "unavailable" and refused["reason"] == "voice_down"
    assert (await alice.ok({"type": "ask", "kind": "question", "text": "Q", "key": "q"}))
    await alice.close()


def test_media_config_writes_a_shared_janus_config(tmp_path: Path) -> None:
    """`hub media-config` writes an owner-only configuration with a generated admin secret
    it never prints, and prints the hub settings that reach it."""
    import shutil
    import subprocess
    import sys

    if shutil.which("janus") is None:
        return
    folder = tmp_path / "janus"
    done = subprocess.run([sys.executable, "-m", "hub.cli", "media-config", str(folder)],
                          capture_output=True, text=True, check=True)
    secret = (folder / "admin-secret").read_text().strip()
    assert len(secret) >= 32 and secret not in done.stdout + done.stderr
    assert "HUB_MEDIA_URL=http://127.0.0.1:8088/janus" in done.stdout
    assert (folder / "admin-secret").stat().st_mode & 0o777 == 0o600
    config = (folder / "janus.jcfg").read_text()
    assert "token_auth = true" in config and f'admin_secret = "{secret}"' in config
    assert "libjanus_audiobridge.so" not in config.split("plugins:")[1].split("}")[0]
    again = subprocess.run([sys.executable, "-m", "hub.cli", "media-config", str(folder)],
                           capture_output=True, text=True, check=True)
    assert again.returncode == 0
    assert (folder / "admin-secret").read_text().strip() == secret  # kept, not remade


async def test_a_private_janus_dies_with_its_hub(tmp_path: Path) -> None:
    """`hub serve` with janus on PATH runs a private Janus; a kill -9 of the hub takes it
    along (no orphan holding ports), and the next start runs a new one."""
    import os
    import shutil

    if shutil.which("janus") is None:
        return
    proc = HubProcess(tmp_path / "data", env={"HUB_MEDIA_URL": ""}).start()
    try:
        _, body, _ = await ahttp("GET", f"{proc.url}/readyz")
        assert str(body).splitlines()[1] == "voice on", body
        folder = str(tmp_path / "data" / "janus")
        janus = [int(p) for p in os.listdir("/proc") if p.isdigit() and _is_janus(p, folder)]
        assert len(janus) == 1
        proc.kill()
        from tests.support.janus_probe import until

        async def gone() -> bool:
            return not _alive(janus[0])

        await until(gone)
    finally:
        proc.terminate()


def _is_janus(pid: str, folder: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return bool(args) and args[0].endswith(b"janus") and folder.encode() in args


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False
