"""Rooms of relays: a hub and the relays in front of it, as processes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.harness import ADMIN_KEY, Client, HubProcess, ahttp, create_session
from tests.support.proxy import Proxy


@dataclass
class Room:
    """A meeting server, a relay of it behind a proxy, and the session's links."""

    main: HubProcess
    relay: HubProcess
    proxy: Proxy
    created: dict[str, Any]
    hub_token: str
    links: dict[str, str]  # the relay's links for the room: attendee, hub, screen, captioner

    @property
    def sid(self) -> str:
        return str(self.created["id"])

    def upstream(self, role: str, **hello: Any) -> Client:
        return Client(self.main.ws_url, self.sid, self.created["tokens"][role], **hello)

    def local(self, who: str, **hello: Any) -> Client:
        token = self.links[who].split("#token=")[1]
        return Client(self.relay.ws_url, self.sid, token, **hello)

    async def status(self) -> dict[str, Any]:
        code, body, _ = await ahttp("GET", f"{self.relay.url}/api/relay", token=ADMIN_KEY)
        assert code == 200, body
        return dict(body)

    async def wait_status(self, predicate: Any, timeout: float = 20) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.status()
            if predicate(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                status.pop("links")
                raise AssertionError(f"relay status never matched: {status}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def open_room(tmp_path: Path, *, media: str | None = None,
                    settings: dict[str, Any] | None = None) -> AsyncIterator[Room]:
    """A meeting server, a "Nairobi hub" named token, a proxy and a relay behind it,
    linked; all stopped at the end. `media="auto"`: the meeting runs a private Janus;
    `settings`: the session's."""
    env = {"HUB_LOG_FORMAT": "json", **({"HUB_MEDIA_URL": media} if media else {})}
    main = HubProcess(tmp_path / "main", env=env).start()
    proxy: Proxy | None = None
    relay: HubProcess | None = None
    try:
        created = await create_session(main.url, "Main session", state="live",
                                       **({"settings": settings} if settings else {}))
        code, minted, _ = await ahttp(
            "POST", f"{main.url}/api/sessions/{created['id']}/tokens",
            {"role": "hub", "name": "Nairobi hub", "city": "Nairobi", "country": "KE"},
            token=ADMIN_KEY)
        assert code == 201, minted
        proxy = await Proxy(main.port).start()
        relay = HubProcess(tmp_path / "relay", command="relay",
                           env={"HUB_LOG_FORMAT": "json", "HUB_RELAY_TOKEN": minted["token"]},
                           args=["--upstream", f"http://127.0.0.1:{proxy.port}", "--insecure"])
        relay.start()
        code, status, _ = await ahttp("GET", f"{relay.url}/api/relay", token=ADMIN_KEY)
        assert code == 200, status
        room = Room(main, relay, proxy, created, minted["token"], status["links"])
        await room.wait_status(lambda s: s["connected"])
        yield room
    finally:
        if proxy is not None:
            await proxy.close()
        if relay is not None:
            relay.terminate()
        main.terminate()


def open_voice_room(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[Room]:
    """tests/system/test_relay.py's room, with the meeting running a private Janus."""
    return open_room(tmp_path, media="auto", settings={"premoderation": False})
