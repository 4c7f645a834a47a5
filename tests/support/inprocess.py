"""The in-process way of running a hub: the real app on a loopback port of this test's
own event loop (`hub_factory`, `hub`), and a live `meeting` with six clients connected."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.app import create_app
from hub.config import Config
from tests.support.harness import ADMIN_KEY, Client, create_session


@dataclass
class RunningHub:
    """A hub app served on a loopback port in this process."""

    app: web.Application
    base: str
    ws_base: str
    data: Path

    async def session(self, **body: Any) -> dict[str, Any]:
        body.setdefault("state", "live")
        return await create_session(self.base, **body)

    def client(self, created: dict[str, Any], role: str, **hello: Any) -> Client:
        return Client(self.ws_base, created["id"], created["tokens"][role], **hello)


HubFactory = Callable[..., Coroutine[Any, Any, RunningHub]]


@pytest.fixture
async def hub_factory(tmp_path: Path) -> AsyncIterator[HubFactory]:
    """Start in-process hubs (each a real aiohttp server on port 0); all stop at the end."""
    servers: list[TestServer] = []

    async def start(**config: Any) -> RunningHub:
        config.setdefault("data", str(tmp_path / f"data{len(servers)}"))
        config.setdefault("admin_key", ADMIN_KEY)
        app = create_app(Config(**config))
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        base = str(server.make_url("")).rstrip("/")
        return RunningHub(app, base, base.replace("http://", "ws://"), Path(config["data"]))

    yield start
    for server in reversed(servers):
        await server.close()


@pytest.fixture
async def hub(hub_factory: HubFactory) -> RunningHub:
    """One in-process hub on the embedded backend."""
    return await hub_factory()


@pytest.fixture
async def meeting(hub: RunningHub) -> AsyncIterator[dict[str, Any]]:
    """A live session with a moderator, two participants, a captioner, a hub and a screen
    connected; every client is closed at the end."""
    created = await hub.session(title="IGF workshop")
    clients = {
        "moderator": hub.client(created, "moderator", name="Moderator"),
        "alice": hub.client(created, "participant", name="Alice"),
        "bob": hub.client(created, "participant", name="Bob"),
        "captioner": hub.client(created, "captioner", name="Captioner"),
        "nairobi": hub.client(created, "hub", name="Nairobi"),
        "screen": hub.client(created, "screen", name="Screen"),
    }
    for client in clients.values():
        await client.connect()
    yield {"session": created, "server": hub, **clients}
    for client in clients.values():
        await client.close()
