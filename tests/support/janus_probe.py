"""Talking to Janus's own API from the tests, as a page or an attacker would: no hub code.

A `JanusPage` is one browser's side of Janus signalling without the audio: a Janus
session created with a token, a handle, plugin requests, and the events of the long poll.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import aiohttp


class JanusRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code


async def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(
            url, json={**body, "transaction": secrets.token_hex(6)}) as response:
        data: dict[str, Any] = await response.json(content_type=None)
    if data.get("janus") == "error":
        raise JanusRefused(int(data["error"]["code"]), str(data["error"]["reason"]))
    return data


class JanusPage:
    """One client of Janus's HTTP API with one token."""

    def __init__(self, api: str, token: str) -> None:
        self.api = api.rstrip("/")
        self.token = token
        self.session: int | None = None
        self.handle: int | None = None

    async def open(self, plugin: str) -> JanusPage:
        created = await post(self.api, {"janus": "create", "token": self.token})
        self.session = int(created["data"]["id"])
        attached = await post(f"{self.api}/{self.session}",
                              {"janus": "attach", "plugin": plugin, "token": self.token})
        self.handle = int(attached["data"]["id"])
        return self

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """A plugin request; the plugin's data (synchronous) or the ack (asynchronous)."""
        data = await post(f"{self.api}/{self.session}/{self.handle}",
                          {"janus": "message", "body": body, "token": self.token})
        result: dict[str, Any] = (data.get("plugindata") or {}).get("data") or data
        if "error_code" in result:
            raise JanusRefused(int(result["error_code"]), str(result.get("error")))
        return result

    async def events(self, timeout: float = 5) -> list[dict[str, Any]]:
        """The next events of the long poll (plugin data of each)."""
        url = f"{self.api}/{self.session}?maxev=5&rid={secrets.token_hex(4)}&token={self.token}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            try:
                async with http.get(url) as response:
                    data = await response.json(content_type=None)
            except TimeoutError:
                return []
        items = data if isinstance(data, list) else [data]
        return [((i.get("plugindata") or {}).get("data") or i) for i in items]

    async def join(self, grant: dict[str, Any]) -> dict[str, Any]:
        """AudioBridge `join` with a grant as the hub gave it; the `joined` event."""
        await self.send({"request": "join", "room": grant["room"], "id": grant["id"],
                         "display": grant["display"], "token": grant["token"]})
        for _ in range(10):
            for event in await self.events():
                if event.get("audiobridge") == "joined" and event.get("id") == grant["id"]:
                    return event
                if "error_code" in event:
                    raise JanusRefused(int(event["error_code"]), str(event.get("error")))
        raise AssertionError("no joined event")


class JanusAdmin:
    """The operator's view (the test reads the admin secret the hub generated)."""

    def __init__(self, data: Path) -> None:
        self.folder = data / "janus"
        self.secret = (self.folder / "admin-secret").read_text().strip()
        config = (self.folder / "janus.transport.http.jcfg").read_text()
        self.port = int(config.split("\tport = ")[1].split()[0])
        self.admin_port = int(config.split("admin_port = ")[1].split()[0])

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    async def admin(self, request: str, **fields: Any) -> dict[str, Any]:
        return await post(f"http://127.0.0.1:{self.admin_port}/admin",
                          {"janus": request, "admin_secret": self.secret, **fields})

    async def tokens(self) -> list[str]:
        data = await self.admin("list_tokens")
        return [t["token"] for t in data["data"]["tokens"]]

    async def probe(self, plugin: str) -> JanusPage:
        """A page of the operator's own, with a token of its own, to look into rooms."""
        token = "test-probe-" + secrets.token_hex(8)
        await self.admin("add_token", token=token,
                         plugins=["janus.plugin.audiobridge", "janus.plugin.streaming"])
        return await JanusPage(self.api, token).open(plugin)


async def until(check: Any, timeout: float = 10, every: float = 0.1) -> Any:
    """Poll `check()` (async) until it returns something truthy."""
    async def loop() -> Any:
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(every)
    return await asyncio.wait_for(loop(), timeout)
