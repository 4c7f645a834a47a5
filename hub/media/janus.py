"""A small client of Janus's HTTP API and admin API (the hub's side of the media plane).

Only what the hub needs: admin-API tokens, one Janus session with one handle per plugin,
and synchronous plugin requests (AudioBridge and Streaming management requests answer in
the HTTP response). No audio goes through here.
"""

from __future__ import annotations

import secrets
from typing import Any

import aiohttp

AUDIOBRIDGE = "janus.plugin.audiobridge"
STREAMING = "janus.plugin.streaming"
# Janus error codes the hub branches on.
NO_SUCH_SESSION = 458
NO_SUCH_HANDLE = 459
UNAUTHORIZED = 403
# AudioBridge and Streaming plugin error codes.
ROOM_EXISTS = 486
NO_SUCH_ROOM = 485
NO_SUCH_USER = 487
MOUNTPOINT_EXISTS = 456
NO_SUCH_MOUNTPOINT = 455


class JanusError(Exception):
    """Janus answered with an error (`code` is Janus's or the plugin's error code)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusDown(Exception):
    """Janus could not be reached, or answered something that is not its API."""


class Janus:
    """The hub's connection to one Janus: its admin API and one API session."""

    def __init__(self, api_url: str, admin_url: str, admin_secret: str, *,
                 timeout: float = 2.0) -> None:
        self.api_url = api_url.rstrip("/")
        self.admin_url = admin_url.rstrip("/")
        self._admin_secret = admin_secret
        self._http: aiohttp.ClientSession | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.token = ""  # the hub's own Janus token (added through the admin API)
        self.session_id: int | None = None
        self.handles: dict[str, int] = {}

    async def open(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.open()
        assert self._http is not None
        body = {**body, "transaction": secrets.token_hex(8)}
        try:
            async with self._http.post(url, json=body) as response:
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JanusDown(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise JanusDown("janus answered something that is not a JSON object")
        if data.get("janus") == "error":
            error = data.get("error") or {}
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")))
        return data

    # -- admin API ---------------------------------------------------------------

    async def admin(self, request: str, **fields: Any) -> dict[str, Any]:
        return await self._post(self.admin_url,
                                {"janus": request, "admin_secret": self._admin_secret, **fields})

    async def admin_at(self, path: tuple[int, ...], request: str,
                       **fields: Any) -> dict[str, Any]:
        """An admin request about one Janus session (`path` = (session,)) or one handle
        ((session, handle)): `list_handles`, `handle_info` (hub/media/levels.py)."""
        url = "/".join([self.admin_url, *(str(part) for part in path)])
        return await self._post(url, {"janus": request, "admin_secret": self._admin_secret,
                                      **fields})

    async def add_token(self, token: str, plugins: list[str]) -> None:
        await self.admin("add_token", token=token, plugins=plugins)

    async def remove_token(self, token: str) -> None:
        try:
            await self.admin("remove_token", token=token)
        except JanusError as exc:
            if "not" not in exc.reason.lower() and exc.code != 490:
                raise

    async def tokens(self) -> list[str]:
        data = await self.admin("list_tokens")
        return [entry["token"] for entry in data.get("data", {}).get("tokens", [])]

    # -- API ---------------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        await self.open()
        assert self._http is not None
        try:
            async with self._http.get(self.api_url + "/info") as response:
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JanusDown(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise JanusDown("janus answered something that is not a JSON object")
        return data

    async def connect(self, token: str) -> None:
        """Open the hub's API session with its token, and a handle on each plugin."""
        self.token = token
        data = await self._post(self.api_url, {"janus": "create", "token": token})
        self.session_id = int(data["data"]["id"])
        self.handles = {}
        for plugin in (AUDIOBRIDGE, STREAMING):
            attached = await self._post(f"{self.api_url}/{self.session_id}",
                                        {"janus": "attach", "plugin": plugin, "token": token})
            self.handles[plugin] = int(attached["data"]["id"])

    async def keepalive(self) -> None:
        """Keep the hub's session; `JanusError` 458 when Janus no longer has it (restarted)."""
        if self.session_id is None:
            raise JanusError(NO_SUCH_SESSION, "no session yet")
        await self._post(f"{self.api_url}/{self.session_id}",
                         {"janus": "keepalive", "token": self.token})

    async def request(self, plugin: str, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request; its `data`, or `JanusError` with the plugin's code."""
        if self.session_id is None:
            raise JanusError(NO_SUCH_SESSION, "no session yet")
        data = await self._post(
            f"{self.api_url}/{self.session_id}/{self.handles[plugin]}",
            {"janus": "message", "body": body, "token": self.token})
        result: dict[str, Any] = (data.get("plugindata") or {}).get("data") or {}
        if "error_code" in result:
            raise JanusError(int(result["error_code"]), str(result.get("error", "")))
        return result
