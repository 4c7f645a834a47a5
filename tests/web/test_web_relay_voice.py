"""Voice on a hub's relay, in a real browser: a meeting with its private Janus, a relay of
it behind a proxy that can take the room's link down, and the relay's own pages. An
attendee's page listens through the relay (its Janus requests go to the relay's own
`/janus`); the hub's page gets the microphone when the meeting gives the hub the floor;
while the link is down the pages say so, and voice comes back with the link. No audio
flows (Janus gathers no candidates on loopback): tests/support/voice_scenarios.py has audio."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.browser import OpenPages
from tests.support.relay_rooms import Room, open_voice_room

pytestmark = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(shutil.which("janus") is None,
                       reason="janus is not installed (scripts/test-deps.sh)"),
    pytest.mark.skipif(not Path("/usr/share/javascript/janus-gateway/janus.js").is_file(),
                       reason="libjs-janus-gateway is not installed (scripts/test-deps.sh)"),
]
expect = pytest.importorskip("playwright.async_api").expect

# The shared `browser` fixture (tests/support/browser.py) adds these: fake media devices.
CHROMIUM_EXTRA_ARGS = ["--use-fake-device-for-media-stream",
                       "--autoplay-policy=no-user-gesture-required"]
LINK_DOWN = ("The link to the meeting is down: the audio will come back when it is. "
             "The text meeting continues here.")


@pytest_asyncio.fixture(loop_scope="module")
async def voice_room(tmp_path: Path) -> AsyncIterator[Room]:
    async with open_voice_room(tmp_path) as opened:
        yield opened


def janus_post(room: Room) -> Any:
    return lambda r: r.method == "POST" and r.url == f"{room.relay.url}/janus"


@pytest.mark.timeout(120)
async def test_the_rooms_pages_use_the_meetings_voice_through_the_relay(
        voice_room: Room, open_page: OpenPages) -> None:
    room = voice_room
    # While the link is down the relay's /janus answers 503 (the page retries after it).
    open_page.allow("status of (40[34]|503)")
    moderator = room.upstream("moderator", name="Chair")
    await moderator.connect()
    page = await open_page(room.links["attendee"], name="relay-listener")
    await page.locator("#join-name").fill("Wanjiru")
    await page.locator("#join-name").press("Enter")
    await expect(page.locator(".conn")).to_have_attribute("data-state", "live")
    button = page.locator("#listen-toggle")
    await expect(button).to_be_visible()
    async with page.expect_request(janus_post(room)):  # the relay's own /janus
        await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true")

    # The hub's page on the relay: the microphone appears when the meeting gives the hub
    # the floor; an attendee's page never shows one.
    hub = await open_page(room.links["hub"], name="relay-hub")
    await expect(hub.locator(".conn")).to_have_attribute("data-state", "live")
    await expect(hub.locator("#listen")).to_be_visible()
    await expect(hub.locator("#speak")).to_be_hidden()
    local = room.local("hub")
    await local.connect()
    await local.ok({"type": "ask", "kind": "floor", "text": "Nairobi asks to speak", "key": "w1"})
    item = (await moderator.wait_for(lambda c: [
        e["data"] for e in c.kinds("item", "moderation")
        if e["data"]["text"] == "Nairobi asks to speak"]))[0]
    await moderator.ok({"type": "moderate", "item": item["id"], "action": "live"})
    await expect(hub.locator("#speak")).to_be_visible(timeout=20000)
    await expect(hub.locator("#speak-consent")).to_contain_text("is recorded")
    await expect(page.locator("#speak")).to_be_hidden()
    await moderator.ok({"type": "moderate", "item": item["id"], "action": "done"})
    await expect(hub.locator("#speak")).to_be_hidden()

    # The room's link goes down: the pages say why the audio stopped, and that it comes back.
    room.proxy.down()
    await expect(page.locator("#listen-note")).to_have_text(LINK_DOWN, timeout=30000)
    await expect(page.locator("#listen-status")).to_have_text(LINK_DOWN)
    await expect(hub.locator("#listen-note")).to_have_text(LINK_DOWN)
    # It comes back: the listening page joins again by itself, through the relay.
    async with page.expect_request(janus_post(room), timeout=30000):
        room.proxy.up()
    await expect(page.locator("#listen-note")).to_be_hidden()
    await expect(page.locator("#listen")).to_have_attribute(
        "data-state", re.compile("connecting|reconnecting|listening"))
    for client in (moderator, local):
        await client.close()
    await open_page.close()  # before the relay goes
