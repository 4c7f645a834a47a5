"""Several Janus in one deployment: each session's room is on exactly one of them, the same
on every instance (rendezvous hashing of the session id over the configured names); one
Janus down takes down the voice of its sessions only, and they come back with it.

The Janus servers here are two real private Janus processes on loopback, started by the
test as an operator would start shared ones (`hub media-config`'s configuration)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hub import keys
from hub.config import Config, media_servers
from hub.media import grants
from tests.support.harness import Client, ahttp
from tests.support.inprocess import RunningHub
from tests.support.janus_probe import JanusAdmin, JanusPage, JanusRefused, until

AUDIOBRIDGE, STREAMING = "janus.plugin.audiobridge", "janus.plugin.streaming"
SECRET = "k4Vb9QmT2xWz7LpN3rYc8JhF5dGs6aEuKq1o"
needs_janus = pytest.mark.skipif(shutil.which("janus") is None,
                                 reason="janus is not installed (scripts/test-deps.sh)")


# -- the assignment (pure) ------------------------------------------------------------------

def test_assignment_is_deterministic_spreads_and_moves_little() -> None:
    key = grants.media_key(SECRET)
    ids = [f"s{n:04d}" for n in range(400)]
    two = {s: grants.janus_for(key, s, ("a", "b")) for s in ids}
    assert two == {s: grants.janus_for(key, s, ["b", "a"]) for s in ids}  # order-free
    assert 120 < sum(1 for v in two.values() if v == "a") < 280
    # A third Janus takes sessions only for itself; the others stay where they were.
    three = {s: grants.janus_for(key, s, ("a", "b", "c")) for s in ids}
    moved = [s for s in ids if three[s] != two[s]]
    assert moved and all(three[s] == "c" for s in moved)
    # Removing one moves only the sessions it had.
    without_b = {s: grants.janus_for(key, s, ("a", "c")) for s in ids}
    assert all(without_b[s] == three[s] for s in ids if three[s] != "b")
    # Another hub (another key) spreads its sessions otherwise.
    other = grants.media_key("another hub's secret, long enough for it 123")
    assert any(grants.janus_for(other, s, ("a", "b")) != two[s] for s in ids)
    with pytest.raises(ValueError):
        grants.janus_for(key, "s1", ())


# -- the configuration -----------------------------------------------------------------------

ADMIN_SECRET = "x7Qm2LpZ9vRt4WcY8nBk3JhD6fGs1aEu"
OTHER_SECRET = "Zp3Rt8WqL2mN7vXc4BkJ9hD1fGs6aEuY"


def test_one_janus_is_configured_as_before() -> None:
    config = Config(media="http://j:8088/janus", media_admin_url="http://j:7088/admin",
                    media_admin_secret=ADMIN_SECRET, media_recordings="/srv/rec")
    (only,) = media_servers(config)
    assert (only.name, only.api_url, only.admin_url, only.recordings) == (
        "main", "http://j:8088/janus", "http://j:7088/admin", "/srv/rec")
    assert media_servers(Config(media="auto")) == [] == media_servers(Config())


def test_several_janus_name_their_settings() -> None:
    config = Config(media="a=http://j1:8088/janus, b=http://j2:8088/janus",
                    media_admin_url="b=http://j2:7088/admin,a=http://j1:7088/admin",
                    media_admin_secret=f"a={ADMIN_SECRET},b={OTHER_SECRET}",
                    media_recordings="/srv/rec")  # one value: the same for both
    a, b = media_servers(config)
    assert (a.name, a.api_url, a.admin_url, a.admin_secret, a.recordings) == (
        "a", "http://j1:8088/janus", "http://j1:7088/admin", ADMIN_SECRET, "/srv/rec")
    assert (b.name, b.admin_url, b.admin_secret) == ("b", "http://j2:7088/admin", OTHER_SECRET)
    assert config.weak_secrets() == []
    shared = Config(media="a=http://j1/janus,b=http://j2/janus",
                    media_admin_url="a=http://j1/admin,b=http://j2/admin",
                    media_admin_secret=ADMIN_SECRET)
    assert [s.admin_secret for s in media_servers(shared)] == [ADMIN_SECRET] * 2
    weak = Config(media="a=http://j1/janus,b=http://j2/janus",
                  media_admin_url="a=http://j1/admin,b=http://j2/admin",
                  media_admin_secret=f"a={ADMIN_SECRET},b=changeme")
    assert [p.split(":")[0].split(" is")[0] for p in weak.weak_secrets()] == [
        "HUB_MEDIA_ADMIN_SECRET (b)"]


@pytest.mark.parametrize(("fields", "says"), [
    ({"media": "a=http://j1/janus,b=http://j2/janus", "media_admin_url": "a=http://j1/admin",
      "media_admin_secret": ADMIN_SECRET}, "HUB_MEDIA_ADMIN_URL must name exactly"),
    ({"media": "a=http://j1/janus,b=http://j2/janus", "media_admin_url": "http://j1/admin",
      "media_admin_secret": ADMIN_SECRET}, "HUB_MEDIA_ADMIN_URL takes name=value"),
    ({"media": "a=http://j1/janus,a=http://j2/janus"}, "names 'a' twice"),
    ({"media": "A=http://j1/janus"}, "HUB_MEDIA_URL takes name=value"),
    ({"media": "info=http://j1/janus"}, "not 'info'"),
    ({"media": "a=ftp://j1/janus", "media_admin_url": "a=http://j1/admin",
      "media_admin_secret": ADMIN_SECRET}, "a's Janus HTTP API is an http(s)://"),
    ({"media": "a=http://j1/janus"}, "HUB_MEDIA_ADMIN_URL and HUB_MEDIA_ADMIN_SECRET need a="),
    ({"media": "janus.example.org"}, "HUB_MEDIA_URL takes off, auto"),
    ({"media": "http://j1/janus"}, "HUB_MEDIA_URL needs HUB_MEDIA_ADMIN_URL"),
])
def test_bad_media_settings_are_refused_clearly(fields: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        Config(**fields)  # type: ignore[arg-type]


# -- two real Janus ----------------------------------------------------------------------

class SharedJanus:
    """A Janus the test runs as an operator runs a shared one (not the hub's child)."""

    def __init__(self, folder: Path, rtp_ports: str) -> None:
        from hub.media.process import find_janus, janus_lib_dir, write_config

        binary = find_janus()
        assert binary is not None
        lib = janus_lib_dir(binary)
        assert lib is not None
        self.binary = binary
        self.data = folder  # JanusAdmin(data) reads data/janus
        self.config = write_config(folder / "janus", lib, rtp_ports=rtp_ports)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SharedJanus:
        from hub.children import die_with_parent  # no orphan if the test run dies

        folder = self.config.folder
        with open(folder / "janus.log", "ab") as logfile:
            self.proc = subprocess.Popen(
                [self.binary, "-F", str(folder), "-C", str(folder / "janus.jcfg"), "-o"],
                stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=die_with_parent)
        return self

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def two_janus(tmp_path: Path) -> Any:
    servers = {name: SharedJanus(tmp_path / f"janus-{name}", ports).start()
               for name, ports in (("a", "40000-40099"), ("b", "40100-40199"))}
    yield servers
    for server in servers.values():
        server.stop()


def settings(servers: dict[str, SharedJanus]) -> dict[str, str]:
    """The hub's settings for the Janus servers, as an operator writes them."""
    def each(value: Any) -> str:
        return ",".join(f"{name}={value(s)}" for name, s in sorted(servers.items()))

    return {"media": each(lambda s: s.config.api_url),
            "media_admin_url": each(lambda s: s.config.admin_url),
            "media_admin_secret": each(lambda s: s.config.admin_secret),
            "media_recordings": each(lambda s: s.config.recordings)}


async def voice_on(hub: RunningHub, *names: str) -> None:
    planes = hub.app[keys.MEDIA].planes

    async def on() -> bool:
        return all(planes[name].state == "on" for name in names)

    await until(on, timeout=20)


async def sessions_on_each(hub: RunningHub, count: int = 2) -> dict[str, list[dict[str, Any]]]:
    """Sessions made until each Janus has `count` of them (the hash decides which)."""
    pool = hub.app[keys.MEDIA]
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in pool.names}
    for _ in range(60):
        if all(len(v) >= count for v in out.values()):
            return out
        created = await hub.session(settings={"premoderation": False})
        out[pool.janus_of(created["id"])].append(created)
    raise AssertionError("60 sessions and still not spread over every Janus")


async def exists(admin: JanusAdmin, room: int) -> bool:
    probe = await admin.probe(AUDIOBRIDGE)
    return bool((await probe.send({"request": "exists", "room": room}))["exists"])


async def listener(hub: RunningHub, created: dict[str, Any]) -> Client:
    client = hub.client(created, "participant", name="Listener")
    await client.connect()
    return client


@needs_janus
async def test_sessions_spread_over_two_janus_each_room_on_its_own(
        hub_factory: Any, two_janus: dict[str, SharedJanus]) -> None:
    hub: RunningHub = await hub_factory(**settings(two_janus))
    await voice_on(hub, "a", "b")
    admins = {name: JanusAdmin(s.data) for name, s in two_janus.items()}
    spread = await sessions_on_each(hub)
    clients = []
    for name, made in spread.items():
        other = "b" if name == "a" else "a"
        for created in made:
            alice = await listener(hub, created)
            clients.append(alice)
            assert alice.welcome["session"]["voice"]["voice"] == "on"
            grant = await alice.ok({"type": "media", "want": "listen"})
            assert grant["janus"] == f"/janus/{name}"  # through the hub, to its Janus
            room = grant["mountpoint"]
            assert await exists(admins[name], room)
            assert not await exists(admins[other], room)
            # The grant works through the hub's proxy on its own Janus, and not on the other.
            page = await JanusPage(hub.base + grant["janus"], grant["token"]).open(STREAMING)
            assert page.handle
            with pytest.raises(JanusRefused):
                await JanusPage(f"{hub.base}/janus/{other}", grant["token"]).open(STREAMING)
    # A speaker joins their session's room through the proxy.
    created = spread["b"][0]
    mod = hub.client(created, "moderator", name="Moderator")
    bob = hub.client(created, "participant", name="Bob")
    await mod.connect()
    await bob.connect()
    clients += [mod, bob]
    asked = await bob.ok({"type": "ask", "kind": "floor", "text": "May I", "key": "f1"})
    await mod.ok({"type": "moderate", "item": asked["item"], "action": "live"})
    speak = await bob.ok({"type": "media", "want": "speak"})
    assert speak["janus"] == "/janus/b"
    page = await JanusPage(hub.base + speak["janus"], speak["token"]).open(AUDIOBRIDGE)
    assert (await page.join(speak))["id"] == speak["id"]
    # Paths: an unknown Janus and a name-less path are refused; Janus's admin API never.
    for path in ("/janus/c", "/janus", "/janus/info", "/janus/a/admin"):
        assert (await ahttp("GET", hub.base + path))[0] == 404, path
    assert (await ahttp("GET", hub.base + "/janus/a/info"))[0] == 200
    status, body, _ = await ahttp("GET", f"{hub.base}/readyz")
    assert status == 200 and str(body).splitlines() == ["ready", "voice a on", "voice b on"]
    _, metrics, _ = await ahttp("GET", f"{hub.base}/metrics")
    assert 'hub_voice_up{janus="a"} 1.0' in str(metrics)
    assert 'hub_voice_up{janus="b"} 1.0' in str(metrics)
    for client in clients:
        await client.close()


@needs_janus
async def test_one_janus_killed_takes_down_only_its_sessions(
        hub_factory: Any, two_janus: dict[str, SharedJanus]) -> None:
    hub: RunningHub = await hub_factory(**settings(two_janus))
    await voice_on(hub, "a", "b")
    spread = await sessions_on_each(hub, count=1)
    on_a = await listener(hub, spread["a"][0])
    on_b = await listener(hub, spread["b"][0])
    before_b = await on_b.ok({"type": "media", "want": "listen"})
    two_janus["b"].kill()
    down = await on_b.wait_for(lambda c: next(
        (f for f in c.frames if f["type"] == "media" and f["voice"] == "down"), None),
        timeout=15)
    assert down["run"] is None and "does not answer" in down["reason"]
    refused = await on_b.request({"type": "media", "want": "listen"})
    assert refused["code"] == "unavailable" and refused["reason"] == "voice_down"
    # The other Janus's session keeps its voice: grants, through the proxy.
    assert not any(f["type"] == "media" and f["voice"] != "on" for f in on_a.frames)
    grant = await on_a.ok({"type": "media", "want": "listen"})
    page = await JanusPage(hub.base + grant["janus"], grant["token"]).open(STREAMING)
    assert page.handle
    status, body, _ = await ahttp("GET", f"{hub.base}/readyz")
    lines = str(body).splitlines()
    assert status == 200 and lines[:2] == ["ready", "voice a on"]
    assert lines[2].startswith("voice b down: ")
    _, metrics, _ = await ahttp("GET", f"{hub.base}/metrics")
    assert 'hub_voice_up{janus="b"} 0.0' in str(metrics)
    # Janus b back (same configuration, same ports): its sessions' voice comes back, on a
    # new run (pages ask for new grants), their rooms made again on b and only there.
    two_janus["b"].start()
    back = await on_b.wait_for(lambda c: next(
        (f for f in c.frames[c.frames.index(down):] if f["type"] == "media"
         and f["voice"] == "on"), None), timeout=20)
    assert back["run"] not in (None, before_b["run"])
    again = await on_b.ok({"type": "media", "want": "listen"})
    assert again["janus"] == "/janus/b" and again["run"] == back["run"]
    assert await exists(JanusAdmin(two_janus["b"].data), again["mountpoint"])
    assert not await exists(JanusAdmin(two_janus["a"].data), again["mountpoint"])
    page = await JanusPage(hub.base + again["janus"], again["token"]).open(STREAMING)
    assert page.handle
    for client in (on_a, on_b):
        await client.close()


@needs_janus
async def test_two_instances_agree_on_each_sessions_janus(
        hub_factory: Any, two_janus: dict[str, SharedJanus], redis_url: str,
        redis_prefix: str) -> None:
    common = {"redis_url": redis_url, "redis_prefix": redis_prefix, "secret": SECRET,
              **settings(two_janus)}
    one: RunningHub = await hub_factory(**common)
    two: RunningHub = await hub_factory(**common)
    await voice_on(one, "a", "b")
    await voice_on(two, "a", "b")
    spread = await sessions_on_each(one, count=1)
    admins = {name: JanusAdmin(s.data) for name, s in two_janus.items()}
    for name, made in spread.items():
        created = made[0]
        assert two.app[keys.MEDIA].janus_of(created["id"]) == name
        here = await listener(one, created)
        there = await listener(two, created)
        first = await here.ok({"type": "media", "want": "listen"})
        second = await there.ok({"type": "media", "want": "listen"})
        assert first["janus"] == second["janus"] == f"/janus/{name}"
        assert first["run"] == second["run"] and first["mountpoint"] == second["mountpoint"]
        # A grant from one instance works through the other's proxy.
        page = await JanusPage(two.base + first["janus"], first["token"]).open(STREAMING)
        assert page.handle
        other = "b" if name == "a" else "a"
        assert await exists(admins[name], first["mountpoint"])
        assert not await exists(admins[other], first["mountpoint"])
        for client in (here, there):
            await client.close()


@needs_janus
def test_media_config_writes_one_of_several(tmp_path: Path) -> None:
    """`hub media-config --name b --ports ...`: a second Janus's configuration (its own
    ports and secret), and its `name=value` entries of the hub's settings."""
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hub.cli", "media-config", *args],
                              capture_output=True, text=True)

    a = run(str(tmp_path / "a"), "--name", "a")
    b = run(str(tmp_path / "b"), "--name", "b", "--ports", "8089,7089,8189")
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert "HUB_MEDIA_URL=a=http://127.0.0.1:8088/janus" in a.stdout
    assert "HUB_MEDIA_URL=b=http://127.0.0.1:8089/janus" in b.stdout
    assert "HUB_MEDIA_ADMIN_URL=b=http://127.0.0.1:7089/admin" in b.stdout
    assert f"HUB_MEDIA_RECORDINGS=b={tmp_path / 'b' / 'recordings'}" in b.stdout
    secrets = [(tmp_path / n / "admin-secret").read_text().strip() for n in "ab"]
    assert secrets[0] != secrets[1] and not any(s in a.stdout + b.stdout for s in secrets)
    assert "\tport = 8089" in (tmp_path / "b" / "janus.transport.http.jcfg").read_text()
    bad = run(str(tmp_path / "c"), "--name", "C")
    assert bad.returncode == 2 and "--name 'C'" in bad.stderr
    bad = run(str(tmp_path / "c"), "--ports", "8088,7088")
    assert bad.returncode == 2 and "--ports takes three ports" in bad.stderr
    assert not (tmp_path / "c").exists()
